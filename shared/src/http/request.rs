//! Reading requests and writing JSON responses, with a size limit on every input.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Largest request body an endpoint reads, unless it reads lists of identifiers
/// ([`json_object_up_to`]).
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
    json_object_up_to(req, MAX_BODY_BYTES)
}

/// [`json_object`] for a body of at most `max_bytes`: the lookups read lists of identifiers
/// whose limits, all at once, outgrow [`MAX_BODY_BYTES`].
pub fn json_object_up_to(req: &Request, max_bytes: usize) -> Result<Map<String, Value>> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > max_bytes {
        return Err(Error::BodyTooLarge);
    }
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

/// The user a path names (`{id}`, `{user_id}`): an id that is not one of ours names nobody.
pub fn user_param(req: &Request, name: &str) -> Result<crate::identity::UserId> {
    path_param(req, name)
        .and_then(|id| crate::identity::UserId::parse(&id).ok())
        .ok_or(Error::NotFound)
}

/// Xsolla's `/projects/{project_id}/users/{user_id}/…`, called by a server of `caller`: a
/// project other than the caller's is answered as if it did not exist (as auth-custom-id
/// answers a foreign `projectId`), and the user as [`user_param`] reads it.
pub fn project_user_params(
    req: &Request,
    caller: crate::identity::ProjectId,
) -> Result<(crate::identity::ProjectId, crate::identity::UserId)> {
    let project = path_param(req, "project_id")
        .and_then(|p| crate::identity::ProjectId::parse(&p).ok())
        .filter(|p| *p == caller)
        .ok_or(Error::ProjectNotFound)?;
    Ok((project, user_param(req, "user_id")?))
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

/// The request's id: API Gateway's (`requestContext.requestId`, the `apigw-requestid` a client
/// sees), else Lambda's invocation id, else empty (a request built in a test).
pub fn request_id(req: &Request) -> &str {
    if let Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref()
        && let Some(id) = ctx.request_id.as_deref()
    {
        return id;
    }
    req.lambda_context_ref()
        .map(|c| c.request_id.as_str())
        .unwrap_or_default()
}

/// Who made the request and which request it was, for the audit records of its change.
pub fn audit(req: &Request, actor: crate::audit::Actor) -> crate::audit::Audit {
    crate::audit::Audit::new(actor, request_id(req))
}
