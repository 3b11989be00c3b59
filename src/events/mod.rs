//! (module under construction)

pub mod live;
