//! Reading requests and writing JSON responses, with a size limit on every input.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Largest request body any endpoint reads.
pub const MAX_BODY_BYTES: usize = 32 * 1024;
/// Largest token accepted in a header.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

pub fn body_bytes(req: &Request) -> Result<&[u8]> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Error::BodyTooLarge);
    }
    Ok(bytes)
}

/// The body as a JSON object; anything else is a malformed body.
pub fn json_object(req: &Request) -> Result<Map<String, Value>> {
    let bytes = body_bytes(req)?;
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Error::MalformedBody),
    }
}

/// Typed access to a JSON object's fields with errors that name the field.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    prefix: &'a str,
}

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Self { map, prefix: "" }
    }

    pub fn nested(map: &'a Map<String, Value>, prefix: &'a str) -> Self {
        Self { map, prefix }
    }

    fn name(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    pub fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    /// `null` counts as absent.
    pub fn opt_str(&self, field: &str) -> Result<Option<&'a str>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Error::invalid(self.name(field), "must be a string")),
        }
    }

    pub fn str(&self, field: &str) -> Result<&'a str> {
        self.opt_str(field)?
            .ok_or_else(|| Error::missing(self.name(field)))
    }

    pub fn opt_object(&self, field: &str) -> Result<Option<Fields<'a>>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(Fields {
                map: m,
                prefix: match field {
                    "social_profile" => "social_profile.",
                    "user_profile" => "user_profile.",
                    _ => "",
                },
            })),
            Some(_) => Err(Error::invalid(self.name(field), "must be an object")),
        }
    }
}

pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive).
pub fn bearer(req: &Request) -> Option<&str> {
    bearer_value(header(req, "authorization")?)
}

/// The token of a `Bearer <token>` header value, if it is one.
pub fn bearer_value(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A user token from `Authorization: Bearer`.
pub fn user_token(req: &Request) -> Result<&str> {
    let token = bearer(req).ok_or(Error::MissingToken)?;
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Error::InvalidToken(crate::error::TokenProblem::Invalid));
    }
    Ok(token)
}

/// A server token from `Authorization: Bearer` or Xsolla's `X-SERVER-AUTHORIZATION` (the raw
/// token). Both present and different is refused rather than guessed.
pub fn server_token(req: &Request) -> Result<&str> {
    let raw = header(req, "x-server-authorization")
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let token = match (bearer(req), raw) {
        (Some(a), Some(b)) if a != b => return Err(Error::ConflictingCredentials),
        (Some(a), _) => a,
        (None, Some(b)) => b,
        (None, None) => return Err(Error::MissingToken),
    };
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Error::InvalidToken(crate::error::TokenProblem::Invalid));
    }
    Ok(token)
}

/// A path parameter of the route (`{id}` in `/api/v2/users/{id}`), as API Gateway decoded it.
pub fn path_param(req: &Request, name: &str) -> Option<String> {
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .map(str::to_owned)
}

pub fn query(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_owned)
}

pub fn json_response(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    let body = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    let mut resp = Response::new(Body::Text(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// `200` with a public JSON document any cache may keep for five minutes (the key set, the
/// OpenAPI document): short enough that a change is seen well before it matters.
pub fn public_json(body: &str) -> Response<Body> {
    let mut resp = Response::new(Body::Text(body.to_owned()));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}

/// `204 No Content`: done, nothing to say.
pub fn no_content() -> Response<Body> {
    let mut resp = Response::new(Body::Empty);
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

/// Adds `Retry-After` to answers that ask the client to come back.
pub fn with_retry_after(mut resp: Response<Body>, e: &Error) -> Response<Body> {
    if matches!(e, Error::Unavailable(_)) {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}
