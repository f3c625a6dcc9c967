use super::*;
use idlink::error::Error;
use idlink::function::answer;
use idlink::identity::{ProjectId, UserId};
use idlink::testing::{api_request, status_and_json};
use serde_json::json;

idlink::handler_env!(Scope::UpdateUsers);

const DAY: i64 = 86_400;

/// A date in Xsolla's form, `days` from now.
fn xsolla_date(days: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(now() + days * DAY).unwrap();
    let format = time::format_description::parse_borrowed::<2>(XSOLLA_DATE).unwrap();
    t.format(&format).unwrap()
}

impl Env {
    async fn ban_as(
        &self,
        token: &str,
        project: ProjectId,
        user: UserId,
        body: Value,
    ) -> (u16, Value) {
        let path = format!("/projects/{project}/users/{user}/ban");
        let (project, user) = (project.to_string(), user.to_string());
        let req = api_request(
            "POST",
            &path,
            &[("project_id", &project), ("user_id", &user)],
            token,
            Some(&body),
        );
        status_and_json(answer::<crate::Family>(handle(&self.app, &req)).await)
    }

    async fn ban(&self, user: UserId, body: Value) -> (u16, Value) {
        self.ban_as(&self.token, self.seed.project.id, user, body)
            .await
    }
}

#[tokio::test]
async fn a_ban_refuses_the_login_and_every_token_and_is_stored_as_sent() {
    let env = env().await;
    let user = env.login("cheater", None).await;
    let token = env.token_of(&user);

    let (status, body) = env
        .ban(
            user.id,
            json!({"reason": "Aimbot", "date_to": xsolla_date(7)}),
        )
        .await;

    assert_eq!((status, body), (204, Value::Null));
    let stored = env.stored(user.id).await.user;
    let ban = stored.ban.clone().unwrap();
    assert_eq!(ban.reason.as_deref(), Some("Aimbot"));
    assert!(ban.from <= now() && ban.to.unwrap() > now() + 6 * DAY);
    assert_eq!(stored.session_version, user.session_version + 1);
    assert!(matches!(env.try_login("cheater").await, Err(Error::Banned)));
    assert!(matches!(
        env.session_check(&token).await,
        Err(Error::Banned)
    ));
}

#[tokio::test]
async fn a_scheduled_ban_does_not_hold_yet_and_a_past_one_no_longer_holds() {
    let env = env().await;
    let ahead = env.login("ahead", None).await;
    let past = env.login("past", None).await;

    let scheduled =
        json!({"reason": "Later", "date_from": xsolla_date(1), "date_to": xsolla_date(2)});
    let over = json!({"reason": "Done", "date_from": xsolla_date(-2), "date_to": xsolla_date(-1)});
    assert_eq!(env.ban(ahead.id, scheduled).await.0, 204);
    assert_eq!(env.ban(past.id, over).await.0, 204);

    for user in [&ahead, &past] {
        env.try_login(user.custom_id.as_ref().unwrap().as_str())
            .await
            .unwrap();
        let token = env.token_of(user);
        env.session_check(&token).await.unwrap();
        assert_eq!(
            env.stored(user.id).await.user.session_version,
            user.session_version
        );
    }
}

#[tokio::test]
async fn rfc_3339_dates_are_taken_too() {
    let env = env().await;
    let user = env.login("rfc", None).await;

    let (status, _) = env
        .ban(
            user.id,
            json!({"reason": "x", "date_to": "2999-01-02T03:04:05Z"}),
        )
        .await;

    assert_eq!(status, 204);
    assert_eq!(
        env.stored(user.id).await.user.ban.unwrap().to,
        Some(32_472_241_445)
    );
}

#[tokio::test]
async fn bad_input_is_refused_in_xsollas_envelope_and_nothing_is_written() {
    let env = env().await;
    let user = env.login("player", None).await;
    let before = env.app.store.fingerprint();
    for (body, code) in [
        (json!({}), "002-028"),
        (json!({"reason": ""}), "002-027"),
        (json!({"reason": "r".repeat(256)}), "002-027"),
        (json!({"reason": 7}), "002-027"),
        (json!({"reason": "x", "date_to": "tomorrow"}), "002-027"),
        (
            json!({"reason": "x", "date_from": "2026-13-01T00:00:00+0000"}),
            "002-027",
        ),
        (json!({"reason": "x", "date_to": 1_800_000_000}), "002-027"),
        (
            json!({"reason": "x", "date_from": xsolla_date(2), "date_to": xsolla_date(1)}),
            "002-027",
        ),
    ] {
        let (status, answer) = env.ban(user.id, body.clone()).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some(code)),
            "{body}"
        );
    }
    // 255 characters (not bytes) is the limit.
    assert_eq!(
        env.ban(user.id, json!({"reason": "é".repeat(255)})).await.0,
        204
    );
    assert_ne!(env.app.store.fingerprint(), before);
}

#[tokio::test]
async fn unknown_users_foreign_projects_and_missing_scopes_are_refused() {
    let env = env().await;
    let user = env.login("player", None).await;
    let body = json!({"reason": "x"});

    let unknown = env.ban(UserId::new_random(), body.clone()).await;
    let foreign = env
        .ban_as(&env.token, ProjectId::new_random(), user.id, body.clone())
        .await;
    let no_scope = env.seed.server_token(&env.app.tokens, &[Scope::ReadUsers]);
    let scope = env
        .ban_as(&no_scope, env.seed.project.id, user.id, body.clone())
        .await;
    let player = env.token_of(&user);
    let own = env
        .ban_as(&player, env.seed.project.id, user.id, body)
        .await;

    let code = |r: &(u16, Value)| (r.0, r.1["error"]["code"].as_str().map(str::to_owned));
    assert_eq!(code(&unknown), (404, Some("003-061".into())));
    assert_eq!(code(&foreign), (404, Some("003-019".into())));
    assert_eq!(code(&scope), (401, Some("002-016".into())));
    assert_eq!(code(&own).0, 401);
    assert_eq!(env.stored(user.id).await.user.ban, None);
}

idlink::fixture_test!("ban-user", 5);
