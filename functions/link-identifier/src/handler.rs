//! POST /api/v2/user/link-identifier: links a partner identifier to the user of the user token in
//! `Authorization` — never to a user named in the body. The identifier is stored only as its keyed
//! hash; one identifier belongs to at most one user, a user holds at most one, and linking the
//! same one again changes nothing. Errors in the partner envelope.

use idlink::audit::Actor;
use idlink::clock::now;
use idlink::error::Error;
use idlink::function::App;
use idlink::http::once::idempotent;
use idlink::http::partner::{Code, Refusal};
use idlink::http::request::audit;
use idlink::http::request::{header, json_object, json_response, user_token};
use idlink::http::{Body, Request, Response};
use idlink::partner::{IdentifierProblem, PartnerIdentifier};
use idlink::store::{LinkStore, OnceStore, SingleKind, SingleLink};
use lambda_http::http::StatusCode;
use serde_json::{Value, json};

fn identifier(req: &Request) -> Result<PartnerIdentifier, Refusal> {
    let body = json_object(req).map_err(|_| Refusal::code(Code::ER053))?;
    match body.get("identifier") {
        None | Some(Value::Null) => Err(IdentifierProblem::Missing.into()),
        Some(Value::String(s)) => Ok(PartnerIdentifier::parse(s)?),
        Some(_) => Err(IdentifierProblem::Characters.into()),
    }
}

pub async fn handle<S: LinkStore + OnceStore>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>, Refusal> {
    // Exactly one way in: the user's own token.
    if header(req, "x-api-key").is_some() && header(req, "authorization").is_some() {
        return Err(Refusal::code(Code::ER803));
    }
    let claims = user_token(req)
        .and_then(|t| app.tokens.verify_user_token(t))
        .map_err(Refusal::user_token)?;
    let by = audit(req, Actor::User(claims.user));
    let claims = &claims;
    idempotent(&app.store, req, claims.project, by, |keyed| async move {
        let identifier = identifier(req)?;
        let pepper = app
            .tokens
            .keys()
            .pepper()
            .ok_or_else(|| Refusal::from(Error::internal("no partner pepper")))?;
        let answer = json_response(
            StatusCode::OK,
            &json!({ "message": "User identifier linked successfully." }),
        );
        let link = SingleLink {
            project: claims.project,
            user: claims.user,
            kind: SingleKind::Partner,
            subject: identifier.subject(pepper),
            session: Some(claims.session),
            now: now(),
            by: keyed.answering(&answer),
        };
        app.store.link_single(&link).await?;
        Ok(answer)
    })
    .await
}

#[cfg(test)]
mod tests;
