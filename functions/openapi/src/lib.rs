//! The openapi function: its handler, also used by tests/ and the benchmark.

use idlink::config::Material;

pub mod handler;

/// The secret material this function reads: none (the document is compiled in).
pub const SECRETS: &[Material] = &[];

/// How this function answers a refusal (it has none: the document is always there).
pub type Family = idlink::function::OAuth;
/// openapi keeps no data: it starts without AWS settings or a table.
pub type Store = idlink::function::NoStore;
