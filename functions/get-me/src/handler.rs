//! GET /users/me: the user of the token, as Xsolla's "get user details" answers it. Every field
//! of that answer is present (an explicit `null` where idlink has no value; `devices` and `groups`
//! as arrays) because strictly typed client models fail on a missing key.

use idlink::clock::now;
use idlink::error::{Error, Result, TokenProblem};
use idlink::function::App;
use idlink::http::request::{json_response, user_token};
use idlink::http::{Body, Request, Response};
use idlink::store::UserStore;
use idlink::user::{Ban, UserWithIdentities, rfc3339};
use lambda_http::http::StatusCode;
use serde_json::{Value, json};

pub async fn handle<S: UserStore>(app: &App<S>, req: &Request) -> Result<Response<Body>> {
    let claims = app.tokens.verify_user_token(user_token(req)?)?;
    // One read gives the user and its session version: the token dies with the session.
    let found = app.store.get_user(claims.project, claims.user).await?;
    claims.check_session(found.as_ref().map(|u| u.user.session()))?;
    let user = found.ok_or(Error::InvalidToken(TokenProblem::Revoked))?;
    Ok(json_response(StatusCode::OK, &details(&user)))
}

fn details(u: &UserWithIdentities) -> Value {
    let user = &u.user;
    json!({
        "id": user.id.to_string(),
        "external_id": user.external_id,
        "nickname": user.nickname.as_ref().map(|n| n.as_str()),
        "registered": rfc3339(user.created_at),
        "last_login": rfc3339(user.last_login),
        "identities": u.identities.iter().map(|i| json!({
            "provider": i.provider.as_str(),
            "subject": i.subject.as_str(),
        })).collect::<Vec<_>>(),
        "attributes": user.attributes.iter()
            .filter(|a| a.visible_to_its_user())
            .map(|a| a.to_json())
            .collect::<Vec<_>>(),
        // A ban not over yet (one that holds refuses the token before this).
        "ban": user.ban.as_ref().filter(|b| !b.is_over_at(now())).map(Ban::to_json),
        // Xsolla fields idlink does not hold.
        "birthday": null,
        "connection_information": null,
        "country": null,
        "devices": [],
        "email": null,
        "first_name": null,
        "last_name": null,
        "gender": null,
        "groups": [],
        "name": null,
        "phone": null,
        "picture": null,
        "username": null,
        "tag": null,
        "is_anonymous": false,
        "phone_auth": null,
    })
}

#[cfg(test)]
mod tests;
