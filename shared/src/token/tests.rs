use super::cache::{Verified, VerifiedTokens};
use super::*;
use crate::client::{ClientId, Project};
use crate::clock::now;
use crate::testing::test_tokens;

fn server_token(tokens: &TokenService, issued_at: i64) -> (String, ProjectId) {
    let project = Project {
        id: ProjectId::new_random(),
        name: "p".into(),
        publisher_id: None,
        publisher_project_id: None,
    };
    let token = tokens
        .issue_server_token(&ClientId::new_random(), &project, &Scope::ALL, issued_at)
        .unwrap();
    (token, project.id)
}

#[test]
fn a_verified_token_is_answered_again_from_the_cache_until_it_expires() {
    let tokens = test_tokens();
    let (token, project) = server_token(&tokens, now());
    let first = tokens.verify_server_token(&token).unwrap();
    assert_eq!(first.project, project);
    assert_eq!(tokens.verified.len(), 1);
    assert_eq!(tokens.verify_server_token(&token).unwrap(), first);
    assert_eq!(tokens.verified.len(), 1);

    let exp = now() + TokenService::DEFAULT_SERVER_TTL;
    assert!(tokens.verified.get(&token, exp).unwrap().is_some());
    let past = exp + LEEWAY_SECONDS as i64 + 1;
    assert!(matches!(
        tokens.verified.get(&token, past),
        Err(Error::InvalidToken(TokenProblem::Expired))
    ));
}

#[test]
fn refused_tokens_are_never_kept() {
    let tokens = test_tokens();
    let (token, _) = server_token(&tokens, now());
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert!(tokens.verify_server_token(&forged).is_err());
    let (expired, _) = server_token(&tokens, now() - 2 * TokenService::DEFAULT_SERVER_TTL);
    assert!(matches!(
        tokens.verify_server_token(&expired),
        Err(Error::InvalidToken(TokenProblem::Expired))
    ));
    assert_eq!(tokens.verified.len(), 0);
}

#[test]
fn a_cached_server_token_is_still_no_user_token() {
    let tokens = test_tokens();
    let (token, _) = server_token(&tokens, now());
    tokens.verify_server_token(&token).unwrap();
    assert!(matches!(
        tokens.verify_user_token(&token),
        Err(Error::InvalidToken(TokenProblem::WrongType))
    ));
    assert!(matches!(
        tokens.verify_caller(&token),
        Ok(Caller::Server(_))
    ));
}

/// The largest token idlink can issue still fits the header size it accepts, or a player
/// with long (but valid) IDs would get a token every endpoint then refuses.
#[test]
fn the_largest_user_token_fits_the_accepted_header_size() {
    use crate::identity::{CustomId, ExternalAccountId, Nickname, Payload};
    let tokens = test_tokens();
    let widest = |bytes: usize| "語".repeat(bytes / 3);
    let user = User {
        id: UserId::new_random(),
        project: ProjectId::new_random(),
        custom_id: Some(CustomId::parse(&widest(CustomId::MAX_BYTES)).unwrap()),
        nickname: Some(Nickname::parse(&"𝄞".repeat(Nickname::MAX_CHARS)).unwrap()),
        external_id: Some(
            ExternalAccountId::parse(&widest(ExternalAccountId::MAX_BYTES))
                .unwrap()
                .as_str()
                .to_owned(),
        ),
        partner_id: None,
        attributes: Vec::new(),
        session_version: u64::MAX,
        version: 1,
        created_at: 0,
        updated_at: 0,
        last_login: 0,
        ban: None,
    };
    // Quotes double when JSON-escaped: the worst payload for its byte limit.
    let payload = Payload::parse(&"\"".repeat(Payload::MAX_BYTES)).unwrap();
    let token = tokens
        .issue_user_token(&user, Some(u64::MAX), Some(&payload), now())
        .unwrap();
    assert!(
        token.len() <= crate::http::request::MAX_TOKEN_BYTES,
        "{} bytes",
        token.len()
    );
    assert!(tokens.verify_user_token(&token).is_ok());
    assert!(Payload::parse(&"é".repeat(Payload::MAX_BYTES / 2 + 1)).is_err());
}

#[test]
fn the_cache_is_bounded() {
    let tokens = test_tokens();
    let (token, _) = server_token(&tokens, now());
    let ctx = tokens.verify_server_token(&token).unwrap();
    for i in 0..VerifiedTokens::MAX_ENTRIES + 10 {
        tokens.verified.put(
            &format!("{token}{i}"),
            now() + 60,
            now(),
            Verified::Server(ctx.clone()),
        );
        assert!(tokens.verified.len() <= VerifiedTokens::MAX_ENTRIES);
    }
    let long = "x".repeat(VerifiedTokens::MAX_TOKEN_BYTES + 1);
    tokens
        .verified
        .put(&long, now() + 60, now(), Verified::Server(ctx));
    assert!(tokens.verified.get(&long, now()).unwrap().is_none());
}
