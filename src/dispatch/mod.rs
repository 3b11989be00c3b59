//! Dispatch: which contractor gets a new work order, and how a work order
//! moves from assigned to closed.
//!
//! The rule ([`assign`]) and the lifecycle ([`lifecycle`]) are pure; the
//! store calls them and writes the events they produce.

pub mod assign;
pub mod lifecycle;
mod work_order;

pub use assign::{
    Assignment, Candidate, Contract, ContractBook, UnassignedReason, choose_contract,
};
pub use lifecycle::{Action, TransitionError, WorkOrderStatus, transition};
pub use work_order::{Command, WorkOrderState};

#[cfg(test)]
mod work_order_tests;
