//! GET /.well-known/jwks.json: every public key that may still verify a live token (RFC 7517).

use idlink::error::Result;
use idlink::function::App;
use idlink::http::request::public_json;
use idlink::http::{Body, Request, Response};

pub async fn handle<S>(app: &App<S>, _req: &Request) -> Result<Response<Body>> {
    // Cached five minutes: a rotated-in key is seen well before it signs anything that matters.
    Ok(public_json(app.tokens.keys().jwks_json()))
}

#[cfg(test)]
mod tests;
