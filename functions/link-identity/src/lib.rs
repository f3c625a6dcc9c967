//! The link-identity function: its handler, also used by tests/ and the benchmark.

pub mod handler;
