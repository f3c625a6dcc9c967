//! Who calls an endpoint that takes more than one token kind, and what it may do there.

use super::{
    LINK_TOKEN_TYP, SERVER_TOKEN_TYP, ServerContext, TokenService, UserScope, VerifiedUser,
};
use crate::client::Scope;
use crate::error::{Error, Result, TokenProblem};
use crate::identity::{ProjectId, UserId};
use jsonwebtoken::decode_header;

/// Who calls an endpoint that takes more than one token kind (the Auth0 Management endpoints).
#[derive(Debug, Clone)]
pub enum Caller {
    Server(ServerContext),
    /// A player's login token.
    User(VerifiedUser),
    /// A player's link token.
    Link(VerifiedUser),
}

impl TokenService {
    /// Verifies a token of any kind; the kind comes from its `typ`, and each kind is then
    /// verified with all of its own rules.
    pub fn verify_caller(&self, token: &str) -> Result<Caller> {
        let header =
            decode_header(token).map_err(|_| Error::InvalidToken(TokenProblem::Invalid))?;
        match header.typ.as_deref() {
            Some(SERVER_TOKEN_TYP) => self.verify_server_token(token).map(Caller::Server),
            Some(LINK_TOKEN_TYP) => self.verify_link_token(token).map(Caller::Link),
            _ => self.verify_user_token(token).map(Caller::User),
        }
    }
}

impl Caller {
    pub fn project(&self) -> ProjectId {
        match self {
            Caller::Server(ctx) => ctx.project,
            Caller::User(user) | Caller::Link(user) => user.project,
        }
    }

    pub fn is_server(&self) -> bool {
        matches!(self, Caller::Server(_))
    }

    /// May this caller act on `target`? A server token needs `server_scope`; a player's token
    /// must be of the kind that carries `grant` and may act only on its own user. `expected` names the
    /// accepted scopes for the 403 message. Answers a player token's session version, which the
    /// write must still find current.
    pub fn authorize(
        &self,
        target: UserId,
        server_scope: Scope,
        grant: UserScope,
        expected: &'static str,
    ) -> Result<Option<u64>> {
        let player = match (self, grant) {
            (Caller::Server(ctx), _) => {
                return ctx
                    .require(server_scope)
                    .map_err(|_| Error::InsufficientScope(expected))
                    .map(|()| None);
            }
            // A login token reads its user; only a link token links or unlinks.
            (Caller::User(user), UserScope::ReadCurrentUser) if user.has(grant) => user,
            (Caller::Link(user), UserScope::UpdateCurrentUserIdentities) if user.has(grant) => user,
            _ => return Err(Error::InsufficientScope(expected)),
        };
        let (user, sv) = (player.user, player.session);
        if user != target {
            return Err(Error::SubjectMismatch);
        }
        Ok(Some(sv))
    }

    /// A call only a studio's server may make, with `scope`: a player's token is refused for its
    /// scope, as Auth0 does; `expected` names the accepted scopes for the 403 message.
    pub fn server_with(self, scope: Scope, expected: &'static str) -> Result<ServerContext> {
        match self {
            Caller::Server(ctx) if ctx.scopes.contains(&scope) => Ok(ctx),
            _ => Err(Error::InsufficientScope(expected)),
        }
    }

    /// May this caller link or unlink `target`'s identities? A server token with
    /// `update:users`, or `target`'s own link token (Auth0's two ways in).
    pub fn authorize_identity_change(&self, target: UserId) -> Result<Option<u64>> {
        self.authorize(
            target,
            Scope::UpdateUsers,
            UserScope::UpdateCurrentUserIdentities,
            crate::http::auth0::LINK_SCOPES,
        )
    }
}
