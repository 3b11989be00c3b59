//! The city as the pipeline sees it: the router over current boundaries, the
//! set-up and the contracts with their store ids. Rebuilt whole when any of
//! them changes, and swapped in at once.

use std::collections::HashMap;

use jiff::Timestamp;

use super::IntakeError;
use crate::dispatch::Contract;
use crate::routing::{JurisdictionShape, Router, Routing};
use crate::setup::{CitySetup, JurisdictionRef};
use crate::store::{JurisdictionName, Store};

/// A consistent snapshot of the city.
pub struct CityState {
    router: Router,
    setup: Option<CitySetup>,
    /// Why the stored set-up was not taken up, when there is one that no
    /// longer applies to the boundaries.
    setup_error: Option<String>,
    contracts: Vec<Contract>,
    names: HashMap<i64, JurisdictionName>,
}

impl CityState {
    /// Reads the current boundaries and set-up from the store.
    pub async fn load(store: &dyn Store) -> Result<Self, IntakeError> {
        let jurisdictions = store.jurisdictions().await?;
        let refs: Vec<JurisdictionRef> = jurisdictions.iter().map(JurisdictionRef::from).collect();
        let names = jurisdictions
            .iter()
            .map(|j| {
                let name = JurisdictionName {
                    id: j.id,
                    name: j.name.clone(),
                    level: j.level.clone(),
                };
                (j.id, name)
            })
            .collect();
        let router = Router::new(
            jurisdictions
                .into_iter()
                .map(|j| JurisdictionShape {
                    id: j.id,
                    level_rank: j.level_rank,
                    geometry: j.geometry,
                })
                .collect(),
        );

        let (setup, setup_error) = match store.current_setup_text().await? {
            Some(text) => match CitySetup::parse(&text, &refs) {
                Ok(setup) => (Some(setup), None),
                Err(err) => {
                    // The boundaries changed under the set-up (a contract's
                    // jurisdiction was retired): serve routing, refuse intake.
                    tracing::error!(error = %err, "the stored set-up no longer applies; apply it again");
                    (None, Some(err.to_string()))
                }
            },
            None => (None, None),
        };
        let contracts = match &setup {
            Some(setup) => setup.contracts_with_ids(&store.contract_ids(setup).await?),
            None => Vec::new(),
        };
        Ok(Self {
            router,
            setup,
            setup_error,
            contracts,
            names,
        })
    }

    /// The router over every current boundary.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The applied set-up, if any.
    pub fn setup(&self) -> Option<&CitySetup> {
        self.setup.as_ref()
    }

    /// The set-up, or why intake cannot take reports without one.
    pub fn require_setup(&self) -> Result<&CitySetup, IntakeError> {
        match (&self.setup, &self.setup_error) {
            (Some(setup), _) => Ok(setup),
            (None, Some(reason)) => Err(IntakeError::SetupNoLongerApplies(reason.clone())),
            (None, None) => Err(IntakeError::NotSetUp),
        }
    }

    /// A jurisdiction's name and level.
    pub fn jurisdiction(&self, id: i64) -> Option<&JurisdictionName> {
        self.names.get(&id)
    }

    /// Contracts covering the category at `at` in the routed jurisdiction or
    /// any jurisdiction containing it (a municipality's contract covers its
    /// districts).
    pub fn candidates(&self, routing: &Routing, category: &str, at: Timestamp) -> Vec<Contract> {
        let mut scope = vec![routing.jurisdiction_id];
        scope.extend(&routing.containing);
        self.candidates_in(&scope, category, at)
    }

    /// Contracts covering the category at `at` in any jurisdiction of `scope`.
    pub fn candidates_in(&self, scope: &[i64], category: &str, at: Timestamp) -> Vec<Contract> {
        self.contracts
            .iter()
            .filter(|contract| scope.iter().any(|&id| contract.covers(id, category, at)))
            .cloned()
            .collect()
    }
}
