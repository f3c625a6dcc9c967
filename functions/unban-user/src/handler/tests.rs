use super::*;
use idlink::function::answer;
use idlink::identity::{ProjectId, UserId};
use idlink::testing::{api_request, status_and_json};
use serde_json::Value;

idlink::handler_env!(Scope::UpdateUsers);

impl Env {
    async fn unban_as(&self, token: &str, project: ProjectId, user: UserId) -> (u16, Value) {
        let path = format!("/projects/{project}/users/{user}/ban");
        let (project, user) = (project.to_string(), user.to_string());
        let req = api_request(
            "DELETE",
            &path,
            &[("project_id", &project), ("user_id", &user)],
            token,
            None,
        );
        status_and_json(answer::<crate::Family>(handle(&self.app, &req)).await)
    }

    async fn banned(&self, custom: &str) -> idlink::user::User {
        let user = self.login(custom, None).await;
        self.ban(user.id, now() - 10, None).await;
        self.stored(user.id).await.user
    }
}

#[tokio::test]
async fn an_unban_lets_the_user_log_in_again_but_the_ended_sessions_stay_ended() {
    let env = env().await;
    let before = env.login("cheater", None).await;
    let old_token = env.token_of(&before);
    let banned = env.banned("cheater").await;

    let (status, body) = env
        .unban_as(&env.token, env.seed.project.id, banned.id)
        .await;

    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(env.stored(banned.id).await.user.ban, None);
    let again = env.try_login("cheater").await.unwrap();
    let token = env.token_of(&again);
    assert!(env.session_check(&token).await.is_ok());
    assert!(env.session_check(&old_token).await.is_err());
}

#[tokio::test]
async fn unbanning_a_user_without_a_ban_answers_204() {
    let env = env().await;
    let user = env.login("clean", None).await;

    let (status, _) = env.unban_as(&env.token, env.seed.project.id, user.id).await;

    assert_eq!(status, 204);
    assert_eq!(env.stored(user.id).await.user.ban, None);
}

#[tokio::test]
async fn unknown_users_foreign_projects_and_missing_scopes_are_refused() {
    let env = env().await;
    let user = env.banned("cheater").await;
    let no_scope = env.seed.server_token(&env.app.tokens, &[Scope::ReadUsers]);

    let unknown = env
        .unban_as(&env.token, env.seed.project.id, UserId::new_random())
        .await;
    let foreign = env
        .unban_as(&env.token, ProjectId::new_random(), user.id)
        .await;
    let scope = env.unban_as(&no_scope, env.seed.project.id, user.id).await;

    let code = |r: &(u16, Value)| (r.0, r.1["error"]["code"].as_str().map(str::to_owned));
    assert_eq!(code(&unknown), (404, Some("003-061".into())));
    assert_eq!(code(&foreign), (404, Some("003-019".into())));
    assert_eq!(code(&scope), (401, Some("002-016".into())));
    assert!(env.stored(user.id).await.user.ban.is_some());
}

idlink::fixture_test!("unban-user", 4);
