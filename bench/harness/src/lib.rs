//! The benchmark harness behind `make bench` (see docs/performance.md). The library holds what
//! the criterion benches share with the harness binary: the handler CPU cases.
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod cpu;
