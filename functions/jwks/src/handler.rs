//! GET /.well-known/jwks.json: every public key that may still verify a live token (RFC 7517).

use idlink::error::Result;
use idlink::function::App;
use idlink::http::{Body, Request, Response};
use lambda_http::http::{HeaderValue, StatusCode, header};

pub async fn handle<S>(app: &App<S>, _req: &Request) -> Result<Response<Body>> {
    let mut resp = Response::new(Body::Text(app.tokens.keys().jwks_json().to_owned()));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // Short enough that a rotated-in key is seen well before it signs anything that matters.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests;
