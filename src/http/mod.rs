//! The HTTP API: one [`app`] router, used by `cityfix serve` and by the tests.
//!
//! Handlers are thin: they extract and check the request, call one domain
//! function, and return a view. Every failure goes through
//! [`error::ApiError`], so all errors share one JSON shape.

mod dashboard;
pub mod error;
pub mod extract;
mod figures;
pub mod idempotency;
mod incidents;
mod live;
pub mod logging;
mod maps;
pub mod reports;
mod routes;
mod session;
mod state;
mod supervise;
mod triage;
pub mod work_orders;

pub use routes::app;
pub use state::{AppState, Limits};
