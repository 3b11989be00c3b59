//! Which contract takes a new work order.
//!
//! Among the contracts that cover the incident's jurisdiction and category
//! and are valid at that instant, the one with the fewest open work orders
//! wins; a contract already at its capacity is skipped. Ties are broken so
//! that the same inputs always give the same answer, whatever their order:
//! more spare capacity first, then the contractor slug in byte order, then
//! the lower contract id. When no contract can take it, the order goes to the
//! supervisors' unassigned queue.

use std::cmp::Ordering;
use std::collections::HashMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A contractor's duty for (jurisdiction, categories) over a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    pub id: i64,
    pub contractor: String,
    pub jurisdiction_id: i64,
    pub categories: Vec<String>,
    pub valid_from: Timestamp,
    /// Exclusive end; `None` for open-ended contracts.
    pub valid_until: Option<Timestamp>,
    /// Most open work orders the contractor takes under this contract.
    pub capacity: u32,
}

impl Contract {
    /// Whether this contract covers (jurisdiction, category) at `at`.
    pub fn covers(&self, jurisdiction_id: i64, category: &str, at: Timestamp) -> bool {
        self.jurisdiction_id == jurisdiction_id
            && self.is_valid_at(at)
            && self.categories.iter().any(|covered| covered == category)
    }

    /// Whether the contract runs at `at`.
    pub fn is_valid_at(&self, at: Timestamp) -> bool {
        self.valid_from <= at && self.valid_until.is_none_or(|until| at < until)
    }
}

/// A matching contract and how loaded it is, as the rule sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate<'a> {
    pub contract_id: i64,
    pub contractor: &'a str,
    pub open_work_orders: u32,
    pub capacity: u32,
}

impl Candidate<'_> {
    fn spare(&self) -> u32 {
        self.capacity.saturating_sub(self.open_work_orders)
    }

    /// The rule's order: fewest open, most spare, contractor slug, contract id.
    fn rank(&self, other: &Self) -> Ordering {
        self.open_work_orders
            .cmp(&other.open_work_orders)
            .then_with(|| other.spare().cmp(&self.spare()))
            .then_with(|| self.contractor.cmp(other.contractor))
            .then_with(|| self.contract_id.cmp(&other.contract_id))
    }
}

/// The candidate that takes the work order, or `None` for the supervisors'
/// unassigned queue (no candidate, or all at capacity).
pub fn choose_contract<'a>(
    candidates: impl IntoIterator<Item = Candidate<'a>>,
) -> Option<Candidate<'a>> {
    candidates
        .into_iter()
        .filter(|candidate| candidate.open_work_orders < candidate.capacity)
        .min_by(Candidate::rank)
}

/// Where a new work order went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Assignment {
    /// Into this contractor's queue under this contract.
    Contract {
        contract_id: i64,
        contractor: String,
    },
    /// Into the supervisors' unassigned queue.
    Supervisors { reason: UnassignedReason },
}

/// Why no contract took a work order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnassignedReason {
    /// No contract covers the jurisdiction and category at that instant.
    NoContract,
    /// Every matching contract is at its capacity.
    AtCapacity,
}

/// The city's contracts with their open work order counts, indexed by
/// (jurisdiction, category) so that an assignment looks at the matching
/// contracts only. Replay and the benches use it directly; the server keeps
/// the counts in its store and calls [`choose_contract`].
#[derive(Clone, Debug, Default)]
pub struct ContractBook {
    contracts: Vec<Contract>,
    open: Vec<u32>,
    /// Jurisdiction → category → positions of the contracts covering them.
    by_scope: HashMap<i64, HashMap<String, Vec<usize>>>,
    position_of: HashMap<i64, usize>,
}

impl ContractBook {
    /// Indexes contracts; every open count starts at zero.
    pub fn new(contracts: Vec<Contract>) -> Self {
        let mut by_scope: HashMap<i64, HashMap<String, Vec<usize>>> = HashMap::new();
        let mut position_of = HashMap::with_capacity(contracts.len());
        for (position, contract) in contracts.iter().enumerate() {
            position_of.insert(contract.id, position);
            for category in &contract.categories {
                by_scope
                    .entry(contract.jurisdiction_id)
                    .or_default()
                    .entry(category.clone())
                    .or_default()
                    .push(position);
            }
        }
        let open = vec![0; contracts.len()];
        Self {
            contracts,
            open,
            by_scope,
            position_of,
        }
    }

    /// Assigns a new work order and counts it as open on the chosen contract.
    /// `excluded` contractors are passed over (the one that just rejected it).
    pub fn assign(
        &mut self,
        jurisdiction_id: i64,
        category: &str,
        at: Timestamp,
        excluded: &[&str],
    ) -> Assignment {
        let scope = self.by_scope.get(&jurisdiction_id);
        let Some(positions) = scope.and_then(|categories| categories.get(category)) else {
            return Assignment::Supervisors {
                reason: UnassignedReason::NoContract,
            };
        };

        let matching = positions.iter().copied().filter(|&position| {
            let contract = &self.contracts[position];
            contract.is_valid_at(at) && !excluded.contains(&contract.contractor.as_str())
        });
        let mut any_match = false;
        let candidates = matching.map(|position| {
            any_match = true;
            self.candidate(position)
        });
        let chosen = choose_contract(candidates).map(|c| c.contract_id);

        match chosen.and_then(|id| self.position_of.get(&id).copied()) {
            Some(position) => {
                self.open[position] += 1;
                Assignment::Contract {
                    contract_id: self.contracts[position].id,
                    contractor: self.contracts[position].contractor.clone(),
                }
            }
            None if any_match => Assignment::Supervisors {
                reason: UnassignedReason::AtCapacity,
            },
            None => Assignment::Supervisors {
                reason: UnassignedReason::NoContract,
            },
        }
    }

    /// A work order under `contract_id` stopped being open (resolved, or moved away).
    pub fn release(&mut self, contract_id: i64) {
        if let Some(&position) = self.position_of.get(&contract_id) {
            self.open[position] = self.open[position].saturating_sub(1);
        }
    }

    /// Sets a contract's open count, as read back from the store.
    pub fn set_open(&mut self, contract_id: i64, open_work_orders: u32) {
        if let Some(&position) = self.position_of.get(&contract_id) {
            self.open[position] = open_work_orders;
        }
    }

    /// The open count of a contract.
    pub fn open_work_orders(&self, contract_id: i64) -> Option<u32> {
        self.position_of
            .get(&contract_id)
            .map(|&position| self.open[position])
    }

    fn candidate(&self, position: usize) -> Candidate<'_> {
        let contract = &self.contracts[position];
        Candidate {
            contract_id: contract.id,
            contractor: &contract.contractor,
            open_work_orders: self.open[position],
            capacity: contract.capacity,
        }
    }
}

#[cfg(test)]
#[path = "assign_tests.rs"]
mod tests;
