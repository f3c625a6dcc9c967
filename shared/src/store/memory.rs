//! In-memory store for unit tests and CPU benchmarks. One lock around everything makes each
//! operation atomic, which is the behaviour the DynamoDB adapter gets from conditions and
//! transactions; the contract suite in tests/ holds both to the same answers.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use crate::attribute::Attribute;
use crate::audit::{Audit, AuditKind, AuditRecord, LogPage, LogQuery};
use crate::client::{ClientId, Project, ServerClient};
use crate::error::{Error, Result};
use crate::idempotency::{Claim, Record};
use crate::identity::{IdentityKey, ProjectId, UserId};
use crate::partner::ApiKeyHash;
use crate::store::accounts::{
    AccountStore, LinkIdentity, Merge, Unlink, Unlinked, already_held, apply_merge, apply_unlink,
    check_identity_room, check_session, is_reserved, plan_merge, plan_unlink, standalone_user,
};
use crate::store::{
    ApiKeyStore, ClientStore, LinkOutcome, LinkStore, LoginStore, SingleKind, SingleLink, UserStore,
};
use crate::user::{LoginCommand, LoginOutcome, Session, User, UserWithIdentities};

#[derive(Debug, Clone)]
struct StoredUser {
    user: User,
    identities: BTreeSet<IdentityKey>,
    merged_into: Option<UserId>,
}

#[derive(Debug, Default)]
struct State {
    markers: HashMap<(ProjectId, IdentityKey), UserId>,
    users: HashMap<UserId, StoredUser>,
    projects: HashMap<ProjectId, Project>,
    clients: HashMap<String, ServerClient>,
    api_keys: HashMap<ApiKeyHash, ProjectId>,
    /// `link_with` token ids already used.
    proofs: std::collections::HashSet<String>,
    /// Every audit record, in the order written.
    logs: Vec<AuditRecord>,
    /// Idempotency records by slot.
    once: HashMap<String, Record>,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| Error::internal("memory store lock poisoned"))
    }

    /// Turns a user into a tombstone pointing at `into`, as a merge leaves the secondary
    /// (test support until merges exist here).
    pub fn tombstone(&self, user: UserId, into: UserId) {
        if let Ok(mut s) = self.lock()
            && let Some(u) = s.users.get_mut(&user)
        {
            u.merged_into = Some(into);
        }
    }

    /// Every live user with its identities, for invariant checks in tests.
    pub fn live_users(&self) -> Vec<UserWithIdentities> {
        self.lock()
            .map(|s| {
                s.users
                    .values()
                    .filter(|u| u.merged_into.is_none())
                    .map(|u| UserWithIdentities {
                        user: u.user.clone(),
                        identities: u.identities.iter().cloned().collect(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Everything the store holds, in a stable order: equal before and after a request means the
    /// request wrote nothing.
    pub fn fingerprint(&self) -> Vec<String> {
        let Ok(s) = self.lock() else {
            return vec!["poisoned".into()];
        };
        let mut out: Vec<String> = s
            .markers
            .iter()
            .map(|k| format!("marker {k:?}"))
            .chain(s.users.iter().map(|u| format!("user {u:?}")))
            .chain(s.projects.iter().map(|p| format!("project {p:?}")))
            .chain(s.clients.iter().map(|c| format!("client {c:?}")))
            .chain(s.api_keys.iter().map(|k| format!("api key {k:?}")))
            .chain(s.proofs.iter().map(|p| format!("proof {p}")))
            .chain(s.logs.iter().map(|r| format!("log {r:?}")))
            .collect();
        out.sort();
        out
    }

    /// Every audit record of `user`, oldest first.
    pub fn log_of(&self, user: UserId) -> Vec<AuditRecord> {
        self.lock()
            .map(|s| s.logs.iter().filter(|r| r.user == user).cloned().collect())
            .unwrap_or_default()
    }

    /// Every uniqueness marker as `(project, identity, owner)`, for invariant checks in tests.
    pub fn markers(&self) -> Vec<(ProjectId, IdentityKey, UserId)> {
        self.lock()
            .map(|s| {
                s.markers
                    .iter()
                    .map(|((p, k), u)| (*p, k.clone(), *u))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl LoginStore for MemoryStore {
    async fn login(&self, cmd: &LoginCommand) -> Result<LoginOutcome> {
        let mut s = self.lock()?;
        s.once_free(&cmd.by)?;
        let custom = IdentityKey::custom_id(&cmd.custom_id);
        let owner = s.markers.get(&(cmd.project, custom.clone())).copied();
        let social_owner = cmd
            .social
            .as_ref()
            .and_then(|k| s.markers.get(&(cmd.project, k.clone())).copied());
        if social_owner.is_some() && social_owner != owner {
            return Err(Error::IdentityTaken);
        }
        let Some(uid) = owner else {
            let user = cmd.new_user();
            let mut identities = BTreeSet::from([custom.clone()]);
            s.markers.insert((cmd.project, custom), user.id);
            if let Some(social) = &cmd.social {
                s.markers.insert((cmd.project, social.clone()), user.id);
                identities.insert(social.clone());
            }
            s.users.insert(
                user.id,
                StoredUser {
                    user: user.clone(),
                    identities,
                    merged_into: None,
                },
            );
            s.logs.push(cmd.created_record(user.id));
            let outcome = LoginOutcome {
                user,
                created: true,
            };
            s.keep_once(&cmd.by, &outcome)?;
            return Ok(outcome);
        };
        let stored = s
            .users
            .get(&uid)
            .filter(|u| u.merged_into.is_none())
            .ok_or_else(|| Error::internal("marker points at a missing or merged user"))?;
        if stored.user.banned_at(cmd.now) {
            return Err(Error::Banned);
        }
        if !cmd.attributes.is_empty()
            && stored.user.attributes.len() > Attribute::MAX_PER_USER - cmd.attributes.len()
        {
            return Err(Error::TooManyAttributes);
        }
        if cmd.social.is_some() && social_owner.is_none() {
            let held: Vec<IdentityKey> = stored.identities.iter().cloned().collect();
            check_identity_room(&held, 1)?;
        }
        if let Some(social) = cmd.social.as_ref().filter(|_| social_owner.is_none()) {
            s.markers.insert((cmd.project, social.clone()), uid);
            s.logs.push(cmd.attached_record(uid, social));
        }
        let stored = s
            .users
            .get_mut(&uid)
            .ok_or_else(|| Error::internal("user vanished under the lock"))?;
        if let Some(social) = &cmd.social {
            stored.identities.insert(social.clone());
        }
        cmd.apply_to(&mut stored.user);
        let outcome = LoginOutcome {
            user: stored.user.clone(),
            created: false,
        };
        s.keep_once(&cmd.by, &outcome)?;
        Ok(outcome)
    }
}

impl LinkStore for MemoryStore {
    async fn link_single(&self, link: &SingleLink) -> Result<LinkOutcome> {
        let mut s = self.lock()?;
        s.once_free(&link.by)?;
        let ident = link.identity();
        let profile = s
            .users
            .get(&link.user)
            .filter(|u| u.merged_into.is_none() && u.user.project == link.project)
            .ok_or(Error::NotFound)?
            .user
            .clone();
        let owner = s.markers.get(&(link.project, ident.clone())).copied();
        if crate::store::link_verdict(link, &profile, owner)? {
            s.keep_once(&link.by, &LinkOutcome::AlreadyLinked)?;
            return Ok(LinkOutcome::AlreadyLinked);
        }
        s.markers.insert((link.project, ident.clone()), link.user);
        let stored = s
            .users
            .get_mut(&link.user)
            .ok_or_else(|| Error::internal("user vanished under the lock"))?;
        stored.identities.insert(ident);
        let value = Some(link.subject.as_str().to_owned());
        match link.kind {
            SingleKind::ExternalId => stored.user.external_id = value,
            SingleKind::Partner => stored.user.partner_id = value,
        }
        stored.user.updated_at = link.now;
        stored.user.version += 1;
        s.logs.push(link.record());
        s.keep_once(&link.by, &LinkOutcome::Linked)?;
        Ok(LinkOutcome::Linked)
    }
}

impl UserStore for MemoryStore {
    async fn get_user(&self, project: ProjectId, id: UserId) -> Result<Option<UserWithIdentities>> {
        let s = self.lock()?;
        Ok(s.users
            .get(&id)
            .filter(|u| u.merged_into.is_none() && u.user.project == project)
            .map(|u| UserWithIdentities {
                user: u.user.clone(),
                identities: u.identities.iter().cloned().collect(),
            }))
    }

    async fn session(&self, id: UserId) -> Result<Option<Session>> {
        let s = self.lock()?;
        Ok(s.users
            .get(&id)
            .filter(|u| u.merged_into.is_none())
            .map(|u| u.user.session()))
    }

    async fn owner_of(&self, project: ProjectId, identity: &IdentityKey) -> Result<Option<UserId>> {
        Ok(self
            .lock()?
            .markers
            .get(&(project, identity.clone()))
            .copied())
    }
}

impl ApiKeyStore for MemoryStore {
    async fn put_api_key(&self, key: &ApiKeyHash, project: ProjectId) -> Result<()> {
        self.lock()?.api_keys.insert(key.clone(), project);
        Ok(())
    }

    async fn api_key_project(&self, key: &ApiKeyHash) -> Result<Option<ProjectId>> {
        Ok(self.lock()?.api_keys.get(key).copied())
    }
}

impl ClientStore for MemoryStore {
    async fn put_project(&self, project: &Project) -> Result<()> {
        self.lock()?.projects.insert(project.id, project.clone());
        Ok(())
    }

    async fn get_project(&self, id: ProjectId) -> Result<Option<Project>> {
        Ok(self.lock()?.projects.get(&id).cloned())
    }

    async fn put_client(&self, client: &ServerClient) -> Result<()> {
        let mut s = self.lock()?;
        if s.clients.contains_key(client.id.as_str()) {
            return Err(Error::internal("client id already exists"));
        }
        s.clients
            .insert(client.id.as_str().to_owned(), client.clone());
        Ok(())
    }

    async fn get_client(&self, id: &ClientId) -> Result<Option<ServerClient>> {
        Ok(self.lock()?.clients.get(id.as_str()).cloned())
    }
}

impl crate::store::OnceStore for MemoryStore {
    async fn recall(&self, claim: &Claim) -> Result<Option<Record>> {
        Ok(self
            .lock()?
            .once
            .get(&claim.slot)
            .filter(|r| r.expires_at >= claim.now)
            .cloned())
    }

    async fn keep(&self, by: &Audit, outcome: &(dyn std::any::Any + Sync)) -> Result<()> {
        let mut s = self.lock()?;
        s.once_free(by)?;
        s.keep_once(by, outcome)
    }
}

impl State {
    /// Refuses a keyed change whose slot holds a live record (checked before anything changes,
    /// under the one lock: the transaction's condition in dynamo/once.rs).
    fn once_free(&self, by: &Audit) -> Result<()> {
        match &by.once {
            Some(once)
                if self
                    .once
                    .get(&once.claim.slot)
                    .is_some_and(|r| r.expires_at >= once.claim.now) =>
            {
                Err(Error::IdempotencyKeyReused)
            }
            _ => Ok(()),
        }
    }

    /// Keeps a keyed change's answer, made from its `outcome`.
    fn keep_once(&mut self, by: &Audit, outcome: &dyn std::any::Any) -> Result<()> {
        if let Some(record) = by.once_record(outcome)? {
            self.once.insert(record.slot.clone(), record);
        }
        Ok(())
    }

    fn live(&self, project: ProjectId, id: UserId) -> Option<UserWithIdentities> {
        self.users
            .get(&id)
            .filter(|u| u.merged_into.is_none() && u.user.project == project)
            .map(|u| UserWithIdentities {
                user: u.user.clone(),
                identities: u.identities.iter().cloned().collect(),
            })
    }

    fn store(&mut self, after: &UserWithIdentities) {
        if let Some(stored) = self.users.get_mut(&after.user.id) {
            stored.user = after.user.clone();
            stored.identities = after.identities.iter().cloned().collect();
        }
    }

    fn merge(&mut self, cmd: &Merge) -> Result<UserWithIdentities> {
        let primary = self.live(cmd.project, cmd.primary).ok_or(Error::NotFound)?;
        let secondary = self
            .live(cmd.project, cmd.secondary)
            .ok_or(Error::SecondaryNotFound)?;
        let plan = plan_merge(&primary, &secondary, cmd)?;
        if let Some(proof) = &cmd.proof
            && !self.proofs.insert(proof.jti.clone())
        {
            return Err(Error::InvalidLinkWith("the token was already used"));
        }
        for ident in &plan.moved {
            self.markers
                .insert((cmd.project, ident.clone()), cmd.primary);
        }
        let after = apply_merge(&primary, &plan, cmd.now);
        self.store(&after);
        if let Some(s) = self.users.get_mut(&cmd.secondary) {
            s.merged_into = Some(cmd.primary);
            s.identities.clear();
            s.user.session_version += 1;
            s.user.version += 1;
        }
        self.logs.extend(cmd.records(&plan.moved));
        Ok(after)
    }
}

impl AccountStore for MemoryStore {
    async fn link_identity(&self, cmd: &LinkIdentity) -> Result<UserWithIdentities> {
        let mut s = self.lock()?;
        s.once_free(&cmd.by)?;
        let linked = match s.markers.get(&(cmd.project, cmd.identity.clone())).copied() {
            Some(owner) if owner == cmd.primary => {
                let primary = s.live(cmd.project, cmd.primary).ok_or(Error::NotFound)?;
                Err(already_held(&primary.user, &cmd.identity))
            }
            Some(owner) => s.merge(&cmd.merge_with(owner)),
            None if is_reserved(&cmd.identity) => Err(Error::ReservedProvider),
            None => {
                let mut primary = s.live(cmd.project, cmd.primary).ok_or(Error::NotFound)?;
                check_session(&primary.user, cmd.primary_session)?;
                check_identity_room(&primary.identities, 1)?;
                s.markers
                    .insert((cmd.project, cmd.identity.clone()), cmd.primary);
                primary.identities.push(cmd.identity.clone());
                primary.identities.sort();
                primary.user.version += 1;
                primary.user.updated_at = cmd.now;
                s.store(&primary);
                s.logs.push(cmd.record());
                Ok(primary)
            }
        }?;
        s.keep_once(&cmd.by, &linked)?;
        Ok(linked)
    }

    async fn merge(&self, cmd: &Merge) -> Result<UserWithIdentities> {
        let mut s = self.lock()?;
        s.once_free(&cmd.by)?;
        let merged = s.merge(cmd)?;
        s.keep_once(&cmd.by, &merged)?;
        Ok(merged)
    }

    async fn unlink(&self, cmd: &Unlink) -> Result<Unlinked> {
        let mut s = self.lock()?;
        s.once_free(&cmd.by)?;
        let primary = s.live(cmd.project, cmd.primary).ok_or(Error::NotFound)?;
        plan_unlink(&primary, cmd)?;
        let standalone = standalone_user(cmd)?;
        s.markers
            .insert((cmd.project, cmd.identity.clone()), standalone.id);
        s.users.insert(
            standalone.id,
            StoredUser {
                user: standalone.clone(),
                identities: BTreeSet::from([cmd.identity.clone()]),
                merged_into: None,
            },
        );
        let after = apply_unlink(&primary, cmd);
        s.store(&after);
        s.logs.extend(cmd.records(standalone.id));
        let unlinked = Unlinked {
            primary: after,
            standalone: standalone.id,
        };
        s.keep_once(&cmd.by, &unlinked)?;
        Ok(unlinked)
    }
}

impl crate::store::AttributeStore for MemoryStore {
    async fn write_attributes(&self, write: &crate::store::AttributeWrite) -> Result<()> {
        let mut s = self.lock()?;
        s.once_free(&write.by)?;
        let ident = IdentityKey::custom_id(&write.custom_id);
        let owner = s
            .markers
            .get(&(write.project, ident))
            .copied()
            .ok_or(Error::NotFound)?;
        let stored = s
            .users
            .get_mut(&owner)
            .filter(|u| u.merged_into.is_none() && u.user.project == write.project)
            .ok_or(Error::NotFound)?;
        stored.user.attributes = write.apply(&stored.user.attributes)?;
        stored.user.updated_at = write.now;
        stored.user.version += 1;
        s.logs.push(write.record(owner));
        s.keep_once(&write.by, &())
    }
}

impl crate::store::CustomIdStore for MemoryStore {
    async fn change_custom_id(
        &self,
        cmd: &crate::store::CustomIdChange,
    ) -> Result<crate::store::CustomIdOutcome> {
        use crate::store::custom_id::{
            CustomIdDecision, apply_custom_id_change, plan_custom_id_change,
        };
        let mut s = self.lock()?;
        s.once_free(&cmd.by)?;
        let user = s.live(cmd.project, cmd.user).ok_or(Error::NotFound)?;
        let new = IdentityKey::custom_id(&cmd.new);
        let owner = s.markers.get(&(cmd.project, new.clone())).copied();
        let plan = match plan_custom_id_change(&user, owner, cmd)? {
            CustomIdDecision::Unchanged => {
                let outcome = crate::store::CustomIdOutcome::Unchanged;
                s.keep_once(&cmd.by, &outcome)?;
                return Ok(outcome);
            }
            CustomIdDecision::Change(plan) => plan,
            // One lock makes the reads one snapshot: a profile naming a custom ID whose marker
            // is not the user's is a broken invariant, not a race.
            CustomIdDecision::ReadAgain => {
                return Err(Error::internal("custom ID without its marker"));
            }
        };
        if let Some(old) = &plan.old {
            s.markers.remove(&(cmd.project, old.clone()));
        }
        s.markers.insert((cmd.project, new), cmd.user);
        let after = apply_custom_id_change(&user, &plan, cmd);
        s.store(&after);
        s.logs.push(cmd.record(plan.old.as_ref()));
        s.keep_once(&cmd.by, &crate::store::CustomIdOutcome::Changed)?;
        Ok(crate::store::CustomIdOutcome::Changed)
    }
}

impl crate::store::DeleteStore for MemoryStore {
    async fn delete_user(&self, project: ProjectId, id: UserId, by: &Audit) -> Result<()> {
        let mut s = self.lock()?;
        s.once_free(by)?;
        s.live(project, id).ok_or(Error::NotFound)?;
        s.markers
            .retain(|(p, _), owner| !(*p == project && *owner == id));
        s.users.remove(&id);
        // The user's log and the logs of the users merged into it, transitively (as dynamo/delete.rs).
        let mut pending = vec![id];
        let mut purged = std::collections::HashSet::new();
        while let Some(user) = pending.pop() {
            if purged.insert(user) {
                pending.extend(
                    s.logs
                        .iter()
                        .filter(|r| r.user == user && r.what.kind == AuditKind::Merged)
                        .filter_map(|r| r.what.other),
                );
            }
        }
        s.logs
            .retain(|r| !purged.contains(&r.user) || r.what.kind == AuditKind::Deleted);
        s.logs
            .push(AuditRecord::deletion(id, project, by, crate::clock::now()));
        s.keep_once(by, &())
    }
}

impl crate::store::profile::ProfileStore for MemoryStore {
    async fn update_profile(
        &self,
        cmd: &crate::store::profile::ProfileUpdate,
    ) -> Result<UserWithIdentities> {
        let mut s = self.lock()?;
        s.once_free(&cmd.by)?;
        let mut found = s.live(cmd.project, cmd.user).ok_or(Error::NotFound)?;
        cmd.apply(&mut found.user)?;
        s.store(&found);
        s.logs.extend(cmd.records());
        s.keep_once(&cmd.by, &found)?;
        Ok(found)
    }
}

impl crate::store::lookups::LookupStore for MemoryStore {
    async fn owners(
        &self,
        project: ProjectId,
        identities: &[IdentityKey],
    ) -> Result<Vec<Option<UserId>>> {
        let s = self.lock()?;
        Ok(identities
            .iter()
            .map(|i| s.markers.get(&(project, i.clone())).copied())
            .collect())
    }

    async fn profiles(&self, project: ProjectId, ids: &[UserId]) -> Result<HashMap<UserId, User>> {
        let s = self.lock()?;
        Ok(ids
            .iter()
            .filter_map(|id| s.live(project, *id))
            .map(|u| (u.user.id, u.user))
            .collect())
    }
}

impl crate::store::AuditLogStore for MemoryStore {
    async fn user_log(&self, project: ProjectId, user: UserId, q: LogQuery) -> Result<LogPage> {
        let s = self.lock()?;
        let mut all: Vec<AuditRecord> = s
            .logs
            .iter()
            .filter(|r| r.user == user && r.project == project)
            .cloned()
            .collect();
        // Newest first, as the table's sort key orders them.
        all.sort_by(|a, b| b.when.cmp(&a.when));
        let total = q.with_total.then_some(all.len());
        let records = all.into_iter().skip(q.start).take(q.limit).collect();
        Ok(LogPage { records, total })
    }
}
