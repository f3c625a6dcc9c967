//! GET /openapi.json: the API's OpenAPI 3.1 document (docs/openapi.yaml, as JSON).

use idlink::error::Result;
use idlink::function::App;
use idlink::http::request::public_json;
use idlink::http::{Body, Request, Response};

/// docs/openapi.yaml as JSON, converted at build time (build.rs).
pub const DOCUMENT: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

pub async fn handle<S>(_app: &App<S>, _req: &Request) -> Result<Response<Body>> {
    Ok(public_json(DOCUMENT))
}

#[cfg(test)]
mod tests;
