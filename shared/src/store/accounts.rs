//! Linking, merging and unlinking accounts (invariants 1, 4, 5 and 6 of DESIGN.md). The rules are
//! pure functions over the users as read, shared by both stores; each store then writes the
//! decision in one atomic step conditioned on nothing having changed since the read.

use std::future::Future;

use crate::attribute::Attribute;
use crate::audit::Audit;
use crate::error::{Error, Result, TokenProblem};
use crate::identity::{CustomId, IdentityKey, ProjectId, Provider, UserId};
use crate::user::{User, UserWithIdentities};

/// Identities a user may hold. A merge moves three items per identity of the secondary (marker,
/// old and new identity item) plus both profiles, both users' audit records and the link proof
/// in one transaction, which DynamoDB caps at 100 items. At most 31 identities move: the primary
/// keeps at least one of its own, and the result holds at most 32; and one Query reads a whole user without paging (store/dynamo/items.rs
/// proves the profile and 32 identity items stay under 1 MB).
pub const MAX_IDENTITIES_PER_USER: usize = 32;
/// Items of the largest merge: moved identities, both profiles, both audit records, the proof.
const LARGEST_MERGE: usize = 3 * (MAX_IDENTITIES_PER_USER - 1) + 5;
const _: () = assert!(LARGEST_MERGE <= 100);

/// The limits a change names when it refuses (`Error::UserLimit`).
pub const IDENTITY_LIMIT: &str = "32 identities";
pub const ATTRIBUTE_LIMIT: &str = "200 attributes";

/// Whether a user holding `identities` may take `adding` more of its own or social providers.
/// The one external ID and the one partner identifier a user may hold always keep their slots,
/// so a link of those (`LinkStore::link_single`) never has to count.
pub fn check_identity_room(identities: &[IdentityKey], adding: usize) -> Result<()> {
    let reserved = [Provider::EXTERNAL_ID, Provider::PARTNER];
    let others = identities
        .iter()
        .filter(|i| !reserved.contains(&i.provider.as_str()))
        .count();
    if others + adding > MAX_IDENTITIES_PER_USER - reserved.len() {
        return Err(Error::UserLimit(IDENTITY_LIMIT));
    }
    Ok(())
}

/// A single-use proof of control of the secondary account (a `link_with` token's id).
#[derive(Debug, Clone)]
pub struct LinkProof {
    pub jti: String,
    /// Unix seconds: the record may go when the token could no longer be used anyway.
    pub expires_at: i64,
}

/// Link `identity` to `primary`: attach it if nobody holds it, merge its holder otherwise.
#[derive(Debug, Clone)]
pub struct LinkIdentity {
    pub project: ProjectId,
    pub primary: UserId,
    pub identity: IdentityKey,
    /// The caller's session version when it acts with its own user token.
    pub primary_session: Option<u64>,
    pub now: i64,
    /// Who asked, for the audit records written with the change.
    pub by: Audit,
}

impl LinkIdentity {
    /// The merge this link becomes when `owner` already holds the identity: the whole owner
    /// moves into the primary (the server named the identity, so no proof is needed).
    pub fn merge_with(&self, owner: UserId) -> Merge {
        Merge {
            project: self.project,
            primary: self.primary,
            secondary: owner,
            primary_session: self.primary_session,
            secondary_session: None,
            proof: None,
            now: self.now,
            by: self.by.clone(),
        }
    }
}

/// Merge `secondary` (and all it holds) into `primary`.
#[derive(Debug, Clone)]
pub struct Merge {
    pub project: ProjectId,
    pub primary: UserId,
    pub secondary: UserId,
    pub primary_session: Option<u64>,
    pub secondary_session: Option<u64>,
    pub proof: Option<LinkProof>,
    pub now: i64,
    pub by: Audit,
}

/// Detach `identity` from `primary`; it becomes a standalone user.
#[derive(Debug, Clone)]
pub struct Unlink {
    /// Who asked, for the records in both users' logs.
    pub by: Audit,
    pub project: ProjectId,
    pub primary: UserId,
    pub identity: IdentityKey,
    pub primary_session: Option<u64>,
    pub now: i64,
}

#[derive(Debug, Clone)]
pub struct Unlinked {
    pub primary: UserWithIdentities,
    /// The new standalone user now holding the identity.
    pub standalone: UserId,
}

pub trait AccountStore: Send + Sync {
    fn link_identity(
        &self,
        cmd: &LinkIdentity,
    ) -> impl Future<Output = Result<UserWithIdentities>> + Send;
    fn merge(&self, cmd: &Merge) -> impl Future<Output = Result<UserWithIdentities>> + Send;
    fn unlink(&self, cmd: &Unlink) -> impl Future<Output = Result<Unlinked>> + Send;
}

/// A player's token (`session` is its version; `None` for a server's) must still be the user's
/// session, and no ban may hold on the user.
pub fn check_session(user: &User, session: Option<u64>) -> Result<()> {
    match session {
        Some(_) if user.banned_at(crate::clock::now()) => Err(Error::Banned),
        Some(sv) if sv != user.session_version => Err(Error::InvalidToken(TokenProblem::Revoked)),
        _ => Ok(()),
    }
}

/// What a merge changes on the primary, decided before anything is written.
#[derive(Debug, Clone)]
pub struct MergePlan {
    pub moved: Vec<IdentityKey>,
    /// Attributes only the secondary has (the primary wins on shared keys).
    pub copied_attributes: Vec<Attribute>,
    pub external_id: Option<String>,
    pub partner_id: Option<String>,
}

fn single_conflict(a: &Option<String>, b: &Option<String>) -> bool {
    matches!((a, b), (Some(x), Some(y)) if x != y)
}

pub fn plan_merge(
    primary: &UserWithIdentities,
    secondary: &UserWithIdentities,
    cmd: &Merge,
) -> Result<MergePlan> {
    let (p, s) = (&primary.user, &secondary.user);
    if p.id == s.id {
        return Err(Error::SameUser);
    }
    check_session(p, cmd.primary_session)?;
    if cmd
        .secondary_session
        .is_some_and(|sv| sv != s.session_version)
    {
        return Err(Error::InvalidLinkWith(
            "the secondary account's session has ended",
        ));
    }
    if single_conflict(&p.external_id, &s.external_id) {
        return Err(Error::ConflictingSingleIdentities("external ID"));
    }
    if single_conflict(&p.partner_id, &s.partner_id) {
        return Err(Error::ConflictingSingleIdentities("partner identifier"));
    }
    // Every per-user limit holds through a merge. DynamoDB's 400 KB item follows from the
    // attribute cap (store/dynamo/items.rs proves a profile at the caps fits).
    let moved_others = secondary
        .identities
        .iter()
        .filter(|i| {
            !matches!(
                i.provider.as_str(),
                Provider::EXTERNAL_ID | Provider::PARTNER
            )
        })
        .count();
    check_identity_room(&primary.identities, moved_others)?;
    let copied_attributes: Vec<_> = s
        .attributes
        .iter()
        .filter(|a| p.attributes.iter().all(|b| b.key() != a.key()))
        .cloned()
        .collect();
    if p.attributes.len() + copied_attributes.len() > Attribute::MAX_PER_USER {
        return Err(Error::UserLimit(ATTRIBUTE_LIMIT));
    }
    Ok(MergePlan {
        moved: secondary.identities.clone(),
        copied_attributes,
        external_id: s.external_id.clone().filter(|_| p.external_id.is_none()),
        partner_id: s.partner_id.clone().filter(|_| p.partner_id.is_none()),
    })
}

/// The primary as a merge leaves it.
pub fn apply_merge(primary: &UserWithIdentities, plan: &MergePlan, now: i64) -> UserWithIdentities {
    let mut out = primary.clone();
    out.identities.extend(plan.moved.iter().cloned());
    out.identities.sort();
    out.user
        .attributes
        .extend(plan.copied_attributes.iter().cloned());
    out.user.attributes.sort_by(|a, b| a.key().cmp(b.key()));
    if plan.external_id.is_some() {
        out.user.external_id = plan.external_id.clone();
    }
    if plan.partner_id.is_some() {
        out.user.partner_id = plan.partner_id.clone();
    }
    out.user.session_version += 1;
    out.user.version += 1;
    out.user.updated_at = now;
    out
}

/// An identity may leave its user unless it is the user's last, or the custom ID its login
/// rests on.
pub fn plan_unlink(primary: &UserWithIdentities, cmd: &Unlink) -> Result<()> {
    check_session(&primary.user, cmd.primary_session)?;
    if !primary.identities.contains(&cmd.identity) {
        return Err(Error::IdentityNotFound);
    }
    if primary.identities.len() == 1 {
        return Err(Error::LastIdentity);
    }
    let main = primary.user.custom_id.as_ref().map(IdentityKey::custom_id);
    if main.as_ref() == Some(&cmd.identity) {
        return Err(Error::MainIdentity);
    }
    Ok(())
}

/// The standalone user an unlinked identity becomes; a custom ID, external ID or partner
/// identifier keeps working as such for it.
pub fn standalone_user(cmd: &Unlink) -> Result<User> {
    let subject = cmd.identity.subject.as_str();
    let of = |p: &str| (cmd.identity.provider.as_str() == p).then(|| subject.to_owned());
    Ok(User {
        id: UserId::new_random(),
        project: cmd.project,
        custom_id: of(Provider::CUSTOM_ID).map(CustomId::from_trusted),
        nickname: None,
        external_id: of(Provider::EXTERNAL_ID),
        partner_id: of(Provider::PARTNER),
        attributes: Vec::new(),
        session_version: 0,
        version: 1,
        created_at: cmd.now,
        updated_at: cmd.now,
        last_login: cmd.now,
        ban: None,
    })
}

/// The primary as an unlink leaves it.
pub fn apply_unlink(primary: &UserWithIdentities, cmd: &Unlink) -> UserWithIdentities {
    let mut out = primary.clone();
    out.identities.retain(|i| i != &cmd.identity);
    match cmd.identity.provider.as_str() {
        Provider::EXTERNAL_ID => out.user.external_id = None,
        Provider::PARTNER => out.user.partner_id = None,
        _ => {}
    }
    out.user.session_version += 1;
    out.user.version += 1;
    out.user.updated_at = cmd.now;
    out
}

/// The refusal for linking an identity `primary` already holds: its main identity (the custom ID
/// its login rests on) is "the same as the new one" (Auth0's 400); any other one "already exists"
/// (Auth0's 409).
pub fn already_held(primary: &User, identity: &IdentityKey) -> Error {
    let main = primary.custom_id.as_ref().map(IdentityKey::custom_id);
    if main.as_ref() == Some(identity) {
        Error::SameUser
    } else {
        Error::IdentityAlreadyOnUser
    }
}

/// Identities only idlink's own endpoints create; a link may merge their holder, never mint one.
pub fn is_reserved(identity: &IdentityKey) -> bool {
    Provider::RESERVED.contains(&identity.provider.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_texts_name_the_constants() {
        assert_eq!(
            IDENTITY_LIMIT,
            format!("{MAX_IDENTITIES_PER_USER} identities")
        );
        assert_eq!(
            ATTRIBUTE_LIMIT,
            format!("{} attributes", Attribute::MAX_PER_USER)
        );
    }
}
