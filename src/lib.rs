//! cityfix: a geospatial city-issue reporting and dispatch engine.
//!
//! A citizen's report flows through one pipeline, whichever door it came in by
//! (the HTTP API or the replay of historical records):
//! intake → classification → routing → dedup → dispatch → SLA.
//! Positions are WGS84; inside the code the order is always longitude, latitude.

pub mod analytics;
pub mod auth;
pub mod boundaries;
pub mod classify;
pub mod cli;
pub mod clock;
pub mod clusters;
pub mod config;
pub mod dispatch;
pub mod error;
pub mod events;
pub mod heatmap;
pub mod hotspots;
pub mod http;
pub mod incidents;
pub mod photos;
pub mod pipeline;
pub mod replay;
pub mod reports;
pub mod routing;
pub mod setup;
pub mod sla;
pub mod store;
pub mod work_orders;
