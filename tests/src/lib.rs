//! Shared helpers for sockbox's integration tests and benchmarks.

pub mod sim;
