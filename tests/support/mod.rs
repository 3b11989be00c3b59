//! Helpers shared by the integration tests.

pub mod city;
pub mod pg;
pub mod real_data;
