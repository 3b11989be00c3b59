//! Helpers shared by the integration tests.

pub mod city;
pub mod real_data;
