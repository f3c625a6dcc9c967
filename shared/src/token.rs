//! Issuing and verifying JWTs, of three kinds that never stand in for each other:
//! - server tokens (`typ: at+jwt`, `token_use: server`, audience `<issuer>/api/v2/`) carry a
//!   project and scopes;
//! - login tokens (`typ: JWT`, `token_use: user`, audience = the user's project id) carry the
//!   Xsolla claims plus `jti` and the session version `sv`; they identify a player and may read it,
//!   never link, merge or unlink;
//! - link tokens (`typ: link+jwt`, `token_use: link`, audience = the user's own identities
//!   endpoint) are minted only by token exchange (RFC 8693) at a studio server's request, live at
//!   most five minutes and let their user link or unlink its identities.
//!
//! Verification pins the algorithm and key by `kid` from our own key set, requires `exp`, checks
//! `iss`, `aud` and the token kind, so `alg: none`, HS/RS confusion and cross-kind use fail.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode, decode_header};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::client::{ClientId, Project, Scope};
use crate::clock::Clock;
use crate::error::{Error, Result, TokenProblem};
use crate::identity::{Payload, ProjectId, UserId};
use crate::keys::KeySet;
use crate::store::UserStore;
use crate::user::{Session, User};

mod cache;
mod caller;
use cache::{Verified, VerifiedTokens};
pub use caller::Caller;

pub const SERVER_TOKEN_TYP: &str = "at+jwt";
pub const USER_TOKEN_TYP: &str = "JWT";
pub const LINK_TOKEN_TYP: &str = "link+jwt";
const SERVER_USE: &str = "server";
const USER_USE: &str = "user";
const LINK_USE: &str = "link";
/// The one thing a link token allows, as Auth0 names it.
pub const LINK_SCOPE: &str = "update:current_user_identities";
/// A link token's lifetime: long enough for a client to call the link endpoint, short enough that
/// a leaked one is of little use.
pub const LINK_TOKEN_TTL: i64 = 300;
/// Clock skew tolerated on `exp`.
const LEEWAY_SECONDS: u64 = 30;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServerClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub azp: String,
    pub gty: String,
    pub scope: String,
    pub project_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher_project_id: Option<u64>,
    pub token_use: String,
}

/// What a verified server token lets its bearer do.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerContext {
    pub client_id: String,
    pub project: ProjectId,
    pub publisher_id: Option<u64>,
    pub publisher_project_id: Option<u64>,
    pub scopes: Vec<Scope>,
}

impl ServerContext {
    pub fn require(&self, scope: Scope) -> Result<()> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(Error::InsufficientScope(scope.as_str()))
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// How the user authenticated (Xsolla's `type`): `server_custom_id`.
    #[serde(rename = "type")]
    pub login_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_custom_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_account_id: Option<String>,
    pub xsolla_login_project_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default)]
    pub groups: Vec<serde_json::Value>,
    pub sv: u64,
    /// What the user may do with its own account (Auth0's current-user scopes).
    #[serde(default)]
    pub scope: String,
    pub token_use: String,
}

/// The scope every login token carries: a player may read itself. Linking takes a link token.
pub const USER_SCOPES: &str = "read:current_user";

/// What a player's own token may do, as Auth0 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserScope {
    /// `read:current_user`: read itself (login tokens).
    ReadCurrentUser,
    /// `update:current_user_identities`: link and unlink its identities (link tokens).
    UpdateCurrentUserIdentities,
}

impl UserScope {
    pub fn as_str(self) -> &'static str {
        match self {
            UserScope::ReadCurrentUser => "read:current_user",
            UserScope::UpdateCurrentUserIdentities => LINK_SCOPE,
        }
    }

    /// A space-separated scope claim; names idlink does not know are dropped (they grant nothing).
    fn parse_list(scope: &str) -> Vec<Self> {
        let known = [Self::ReadCurrentUser, Self::UpdateCurrentUserIdentities];
        scope
            .split(' ')
            .filter_map(|name| known.into_iter().find(|k| k.as_str() == name))
            .collect()
    }
}

/// A verified player token (login or link), parsed once: callers get typed values, never claim
/// strings to parse again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedUser {
    pub user: UserId,
    pub project: ProjectId,
    /// The user's session version when the token was issued (`sv`).
    pub session: u64,
    pub jti: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub scopes: Vec<UserScope>,
}

impl VerifiedUser {
    pub fn has(&self, scope: UserScope) -> bool {
        self.scopes.contains(&scope)
    }

    /// A token is live only while the user still exists (`current` is `None` for a missing or
    /// merged user), no ban holds (`Banned`), and its session version is the user's current one
    /// (`with_logout=1`, unlink, merge and a ban bump it).
    pub fn check_session(&self, current: Option<Session>) -> Result<()> {
        match current {
            Some(s) if s.banned_at(crate::clock::now()) => Err(Error::Banned),
            Some(s) if s.version == self.session => Ok(()),
            _ => Err(Error::InvalidToken(TokenProblem::Revoked)),
        }
    }
}

/// RFC 8693 §4.1: who acted for the user when the token was minted (the studio's server client).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Actor {
    pub sub: String,
}

/// A purpose-bound link token: one user, one purpose, five minutes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LinkClaims {
    pub iss: String,
    pub sub: String,
    /// `<issuer>/api/v2/users/<sub>/identities`: the token is good for that user's identities only.
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The server client that asked for it.
    pub azp: String,
    pub act: Actor,
    pub project_id: String,
    /// The user's session version when the login token was exchanged: a logout, unlink or merge
    /// since then ends the link token too.
    pub sv: u64,
    pub scope: String,
    pub token_use: String,
}

impl LinkClaims {
    pub fn user_id(&self) -> Result<UserId> {
        UserId::parse(&self.sub).map_err(|_| Error::InvalidToken(TokenProblem::Invalid))
    }
    pub fn project(&self) -> Result<ProjectId> {
        ProjectId::parse(&self.project_id).map_err(|_| Error::InvalidToken(TokenProblem::Invalid))
    }
}

impl UserClaims {
    pub fn user_id(&self) -> Result<UserId> {
        UserId::parse(&self.sub).map_err(|_| Error::InvalidToken(TokenProblem::Invalid))
    }
    pub fn project(&self) -> Result<ProjectId> {
        ProjectId::parse(&self.xsolla_login_project_id)
            .map_err(|_| Error::InvalidToken(TokenProblem::Invalid))
    }
}

pub struct TokenService {
    keys: KeySet,
    verified: VerifiedTokens,
    issuer: String,
    server_audience: String,
    server_ttl: i64,
    user_ttl: i64,
    server_header: String,
    user_header: String,
    link_header: String,
    clock: Clock,
}

fn encoded_header(typ: &str, keys: &KeySet) -> String {
    let signing = keys.signing();
    let alg = match signing.alg {
        crate::keys::KeyAlg::ES256 => "ES256",
        crate::keys::KeyAlg::EdDSA => "EdDSA",
    };
    let header = serde_json::json!({"alg": alg, "kid": signing.kid, "typ": typ});
    URL_SAFE_NO_PAD.encode(header.to_string())
}

impl TokenService {
    pub const DEFAULT_SERVER_TTL: i64 = 3600;
    /// Xsolla's default user token lifetime.
    pub const DEFAULT_USER_TTL: i64 = 86_400;

    pub fn new(keys: KeySet, issuer: &str) -> Self {
        let issuer = issuer.trim_end_matches('/').to_owned();
        Self {
            server_header: encoded_header(SERVER_TOKEN_TYP, &keys),
            user_header: encoded_header(USER_TOKEN_TYP, &keys),
            link_header: encoded_header(LINK_TOKEN_TYP, &keys),
            clock: Clock::System,
            server_audience: format!("{issuer}/api/v2/"),
            issuer,
            keys,
            verified: VerifiedTokens::default(),
            server_ttl: Self::DEFAULT_SERVER_TTL,
            user_ttl: Self::DEFAULT_USER_TTL,
        }
    }

    pub fn with_ttls(mut self, server_ttl: i64, user_ttl: i64) -> Self {
        self.server_ttl = server_ttl;
        self.user_ttl = user_ttl;
        self
    }

    /// The clock expiry is checked against (the system's unless a test fixes it).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The one API idlink serves, as Auth0 names its Management API: `<issuer>/api/v2/`.
    pub fn server_audience(&self) -> &str {
        &self.server_audience
    }

    pub fn server_ttl(&self) -> i64 {
        self.server_ttl
    }

    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    fn sign<T: Serialize>(&self, header: &str, claims: &T) -> Result<String> {
        let body = serde_json::to_vec(claims).map_err(Error::internal)?;
        let mut token = String::with_capacity(header.len() + body.len() * 4 / 3 + 100);
        token.push_str(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&body, &mut token);
        let signature = self.keys.signing().sign(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }

    pub fn issue_server_token(
        &self,
        client: &ClientId,
        project: &Project,
        scopes: &[Scope],
        now: i64,
    ) -> Result<String> {
        let claims = ServerClaims {
            iss: self.issuer.clone(),
            sub: format!("{}@clients", client.as_str()),
            aud: self.server_audience.clone(),
            iat: now,
            exp: now + self.server_ttl,
            jti: uuid::Uuid::new_v4().to_string(),
            azp: client.as_str().to_owned(),
            gty: "client-credentials".into(),
            scope: Scope::join(scopes),
            project_id: project.id.to_string(),
            publisher_id: project.publisher_id,
            publisher_project_id: project.publisher_project_id,
            token_use: SERVER_USE.into(),
        };
        self.sign(&self.server_header, &claims)
    }

    pub fn issue_user_token(
        &self,
        user: &User,
        publisher_id: Option<u64>,
        payload: Option<&Payload>,
        now: i64,
    ) -> Result<String> {
        let claims = UserClaims {
            iss: self.issuer.clone(),
            sub: user.id.to_string(),
            aud: user.project.to_string(),
            iat: now,
            exp: now + self.user_ttl,
            jti: uuid::Uuid::new_v4().to_string(),
            login_type: "server_custom_id".into(),
            server_custom_id: user.custom_id.as_ref().map(|c| c.as_str().to_owned()),
            external_account_id: user.external_id.clone(),
            xsolla_login_project_id: user.project.to_string(),
            publisher_id,
            payload: payload.map(|p| p.as_str().to_owned()),
            nickname: user.nickname.as_ref().map(|n| n.as_str().to_owned()),
            groups: Vec::new(),
            sv: user.session_version,
            scope: USER_SCOPES.into(),
            token_use: USER_USE.into(),
        };
        self.sign(&self.user_header, &claims)
    }

    /// Where a link token for `user` may be used: its own identities endpoint.
    pub fn link_audience(&self, user: UserId) -> String {
        format!("{}/api/v2/users/{user}/identities", self.issuer)
    }

    /// Exchanges a verified, live login token for a link token of the same user (RFC 8693), at
    /// the request of server client `client`.
    pub fn issue_link_token(&self, login: &VerifiedUser, client: &str, now: i64) -> Result<String> {
        let user = login.user;
        let claims = LinkClaims {
            iss: self.issuer.clone(),
            sub: user.to_string(),
            aud: self.link_audience(user),
            iat: now,
            exp: now + LINK_TOKEN_TTL,
            jti: uuid::Uuid::new_v4().to_string(),
            azp: client.to_owned(),
            act: Actor {
                sub: format!("{client}@clients"),
            },
            project_id: login.project.to_string(),
            sv: login.session,
            scope: LINK_SCOPE.into(),
            token_use: LINK_USE.into(),
        };
        self.sign(&self.link_header, &claims)
    }

    /// Checks signature, `kid`, algorithm, `typ`, `exp`, `iss` and (when given) `aud`.
    fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
        audience: Option<&str>,
    ) -> Result<T> {
        let invalid = Error::InvalidToken(TokenProblem::Invalid);
        let header =
            decode_header(token).map_err(|_| Error::InvalidToken(TokenProblem::Invalid))?;
        let kid = header.kid.as_deref().ok_or(invalid)?;
        let key = self
            .keys
            .verifying(kid)
            .ok_or(Error::InvalidToken(TokenProblem::Invalid))?;
        if header.alg != key.alg {
            return Err(Error::InvalidToken(TokenProblem::Invalid));
        }
        let mut validation = Validation::new(key.alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&self.issuer]);
        match audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        let data = decode::<serde_json::Value>(token, &key.key, &validation).map_err(|e| {
            Error::InvalidToken(match e.kind() {
                ErrorKind::ExpiredSignature => TokenProblem::Expired,
                _ => TokenProblem::Invalid,
            })
        })?;
        // Kind last: a well-signed token of the other kind is told apart from a forged one.
        let token_use = match typ {
            SERVER_TOKEN_TYP => SERVER_USE,
            LINK_TOKEN_TYP => LINK_USE,
            _ => USER_USE,
        };
        let kind_ok = header.typ.as_deref() == Some(typ)
            && data.claims.get("token_use").and_then(|v| v.as_str()) == Some(token_use);
        if !kind_ok {
            return Err(Error::InvalidToken(TokenProblem::WrongType));
        }
        serde_json::from_value(data.claims).map_err(|_| Error::InvalidToken(TokenProblem::Invalid))
    }

    pub fn verify_server_token(&self, token: &str) -> Result<ServerContext> {
        if let Some(Verified::Server(ctx)) = self.verified.get(token, self.clock.now())? {
            return Ok(ctx);
        }
        let claims: ServerClaims =
            self.verify(token, SERVER_TOKEN_TYP, Some(&self.server_audience))?;
        let invalid = || Error::InvalidToken(TokenProblem::Invalid);
        let ctx = ServerContext {
            client_id: claims.azp,
            project: ProjectId::parse(&claims.project_id).map_err(|_| invalid())?,
            publisher_id: claims.publisher_id,
            publisher_project_id: claims.publisher_project_id,
            scopes: Scope::parse_list(&claims.scope).map_err(|_| invalid())?,
        };
        self.verified.put(
            token,
            claims.exp,
            self.clock.now(),
            Verified::Server(ctx.clone()),
        );
        Ok(ctx)
    }

    /// Signature and claims of a login token, parsed once; [`TokenService::verify_user_session`]
    /// also checks revocation.
    pub fn verify_user_token(&self, token: &str) -> Result<VerifiedUser> {
        let now = self.clock.now();
        if let Some(Verified::User(user)) = self.verified.get(token, now)? {
            return Ok(*user);
        }
        let claims = self.user_claims(token)?;
        let user = VerifiedUser {
            user: claims.user_id()?,
            project: claims.project()?,
            session: claims.sv,
            jti: claims.jti,
            issued_at: claims.iat,
            expires_at: claims.exp,
            scopes: UserScope::parse_list(&claims.scope),
        };
        self.verified.put(
            token,
            claims.exp,
            now,
            Verified::User(Box::new(user.clone())),
        );
        Ok(user)
    }

    /// The whole claim set of a login token, verified as [`TokenService::verify_user_token`]
    /// verifies it: for showing or testing what a token carries, not for authorizing.
    pub fn user_claims(&self, token: &str) -> Result<UserClaims> {
        let claims: UserClaims = self.verify(token, USER_TOKEN_TYP, None)?;
        // The audience is the project the token was issued for; it must be that project.
        if claims.aud != claims.xsolla_login_project_id {
            return Err(Error::InvalidToken(TokenProblem::Invalid));
        }
        claims.project()?;
        claims.user_id()?;
        Ok(claims)
    }

    /// A link token: signature, kind, issuer, expiry, a lifetime of at most [`LINK_TOKEN_TTL`],
    /// and an audience naming its own user's identities. Never cached: each is used once or twice.
    pub fn verify_link_token(&self, token: &str) -> Result<VerifiedUser> {
        let claims: LinkClaims = self.verify(token, LINK_TOKEN_TYP, None)?;
        let user = claims.user_id()?;
        if claims.aud != self.link_audience(user)
            || claims.exp - claims.iat > LINK_TOKEN_TTL
            || claims.scope != LINK_SCOPE
        {
            return Err(Error::InvalidToken(TokenProblem::Invalid));
        }
        Ok(VerifiedUser {
            user,
            project: claims.project()?,
            session: claims.sv,
            jti: claims.jti,
            issued_at: claims.iat,
            expires_at: claims.exp,
            scopes: vec![UserScope::UpdateCurrentUserIdentities],
        })
    }

    /// Signature, claims and session, for endpoints that need nothing else of the user.
    pub async fn verify_user_session(
        &self,
        token: &str,
        store: &impl UserStore,
    ) -> Result<VerifiedUser> {
        let user = self.verify_user_token(token)?;
        user.check_session(store.session(user.user).await?)?;
        Ok(user)
    }
}

#[cfg(test)]
mod tests;
