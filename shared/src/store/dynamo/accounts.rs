//! Account linking: link an identity, merge two users, unlink an identity into a user of its own.
//! The decisions are `store::accounts`'s plans; this file only commits them, each as one
//! transaction conditioned on the versions read.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};

use super::items::{
    attributes_av, identity_item, identity_key, link_proof_item, marker_item, marker_key, n,
    profile_item, profile_key, s,
};
use super::{
    DynamoStore, NEW_ITEM, Retry, SAME_VERSION, STILL_EXISTS, STILL_OWNED_BY_FROM, TxOutcome,
    retrying,
};
use crate::error::{Error, Result};
use crate::identity::{IdentityKey, ProjectId, UserId};
use crate::store::UserStore;
use crate::store::accounts::{
    AccountStore, LinkIdentity, Merge, Unlink, Unlinked, already_held, apply_merge, apply_unlink,
    check_identity_room, check_session, is_reserved, plan_merge, plan_unlink, standalone_user,
};
use crate::user::UserWithIdentities;

impl DynamoStore {
    /// Re-points a marker from one user to another, only if it still points at the first.
    fn repoint(
        &self,
        project: ProjectId,
        ident: &IdentityKey,
        from: UserId,
        to: UserId,
    ) -> Result<TransactWriteItem> {
        self.update(
            marker_key(project, ident),
            "SET user_id = :to".into(),
            STILL_OWNED_BY_FROM,
            HashMap::new(),
            HashMap::from([
                (":to".to_owned(), s(to.to_string())),
                (":from".to_owned(), s(from.to_string())),
            ]),
        )
    }

    /// Moves an identity item from one user's partition to another's.
    fn move_identity(
        &self,
        ident: &IdentityKey,
        from: UserId,
        to: UserId,
        now: i64,
    ) -> Result<[TransactWriteItem; 2]> {
        Ok([
            self.delete(identity_key(from, ident), STILL_EXISTS)?,
            self.put(identity_item(to, ident, now), Some(NEW_ITEM))?,
        ])
    }

    /// Updates a profile only if it is still the version read (`SAME_VERSION`), binding `:now`,
    /// `:one` and `:ver` for `expression`, plus whatever else it names in `values`.
    pub(super) fn update_profile_as_read(
        &self,
        user: UserId,
        version: u64,
        now: i64,
        expression: String,
        values: impl IntoIterator<Item = (String, AttributeValue)>,
    ) -> Result<TransactWriteItem> {
        let mut values: HashMap<_, _> = values.into_iter().collect();
        values.insert(":now".to_owned(), n(now));
        values.insert(":one".to_owned(), n(1));
        values.insert(":ver".to_owned(), n(version));
        self.update(
            profile_key(user),
            expression,
            SAME_VERSION,
            HashMap::new(),
            values,
        )
    }

    async fn both(
        &self,
        project: ProjectId,
        a: UserId,
        b: UserId,
    ) -> Result<(Option<UserWithIdentities>, Option<UserWithIdentities>)> {
        let (a, b) = tokio::join!(self.get_user(project, a), self.get_user(project, b));
        Ok((a?, b?))
    }
}

impl AccountStore for DynamoStore {
    async fn link_identity(&self, cmd: &LinkIdentity) -> Result<UserWithIdentities> {
        retrying("link", || async {
            match self.owner_of(cmd.project, &cmd.identity).await? {
                Some(owner) if owner == cmd.primary => {
                    let primary = self
                        .get_user(cmd.project, cmd.primary)
                        .await?
                        .ok_or(Error::NotFound)?;
                    return Err(already_held(&primary.user, &cmd.identity));
                }
                Some(owner) => {
                    return self.merge(&cmd.merge_with(owner)).await.map(Retry::Done);
                }
                None if is_reserved(&cmd.identity) => return Err(Error::ReservedProvider),
                None => {}
            }
            let primary = self
                .get_user(cmd.project, cmd.primary)
                .await?
                .ok_or(Error::NotFound)?;
            check_session(&primary.user, cmd.primary_session)?;
            // Counted on the user as read; the profile update below is conditioned on that read.
            check_identity_room(&primary.identities, 1)?;
            let items = vec![
                self.put(
                    marker_item(cmd.project, &cmd.identity, cmd.primary, cmd.now),
                    Some(NEW_ITEM),
                )?,
                self.put(
                    identity_item(cmd.primary, &cmd.identity, cmd.now),
                    Some(NEW_ITEM),
                )?,
                self.update_profile_as_read(
                    cmd.primary,
                    primary.user.version,
                    cmd.now,
                    "SET updated = :now ADD ver :one".into(),
                    [],
                )?,
                self.audit(&cmd.record())?,
            ];
            let mut out = primary;
            out.identities.push(cmd.identity.clone());
            out.identities.sort();
            out.user.version += 1;
            out.user.updated_at = cmd.now;
            match self.transact_once(items, &cmd.by, &out).await? {
                TxOutcome::Done => Ok(Retry::Done(out)),
                // Someone took the identity or changed the user meanwhile: decide again.
                TxOutcome::ConditionFailed(_) | TxOutcome::Conflict => Ok(Retry::Again),
            }
        })
        .await
    }

    async fn merge(&self, cmd: &Merge) -> Result<UserWithIdentities> {
        retrying("merge", || async {
            let (primary, secondary) = self.both(cmd.project, cmd.primary, cmd.secondary).await?;
            let primary = primary.ok_or(Error::NotFound)?;
            let secondary = secondary.ok_or(Error::SecondaryNotFound)?;
            let plan = plan_merge(&primary, &secondary, cmd)?;
            let (p, sec) = (cmd.primary, cmd.secondary);

            let mut items = Vec::with_capacity(plan.moved.len() * 3 + 3);
            for ident in &plan.moved {
                items.push(self.repoint(cmd.project, ident, sec, p)?);
                items.extend(self.move_identity(ident, sec, p, cmd.now)?);
            }
            items.push(self.update_profile_as_read(
                sec,
                secondary.user.version,
                cmd.now,
                "SET merged_into = :into, updated = :now ADD sv :one, ver :one".into(),
                [(":into".to_owned(), s(p.to_string()))],
            )?);
            let mut sets = vec!["updated = :now".to_owned()];
            let mut values = Vec::new();
            let after = apply_merge(&primary, &plan, cmd.now);
            if !plan.copied_attributes.is_empty() {
                // The whole map as planned (the write is conditioned on the version read): one
                // value, however many attributes, where one `SET attrs.#k` per attribute could
                // pass DynamoDB's 4 KB limit on an expression.
                sets.push("attrs = :attrs".into());
                values.push((":attrs".into(), attributes_av(&after.user.attributes)));
            }
            if let Some(x) = &plan.external_id {
                sets.push("external_id = :ext".into());
                values.push((":ext".into(), s(x.as_str())));
            }
            if let Some(x) = &plan.partner_id {
                sets.push("partner_id = :partner".into());
                values.push((":partner".into(), s(x.as_str())));
            }
            items.push(self.update_profile_as_read(
                p,
                primary.user.version,
                cmd.now,
                format!("SET {} ADD sv :one, ver :one", sets.join(", ")),
                values,
            )?);
            for record in cmd.records(&plan.moved) {
                items.push(self.audit(&record)?);
            }
            let proof_index = items.len();
            if let Some(proof) = &cmd.proof {
                items.push(self.put(
                    link_proof_item(&proof.jti, proof.expires_at),
                    Some(NEW_ITEM),
                )?);
            }
            match self.transact_once(items, &cmd.by, &after).await? {
                TxOutcome::Done => Ok(Retry::Done(after)),
                TxOutcome::ConditionFailed(failed) if failed.contains(&proof_index) => {
                    Err(Error::InvalidLinkWith("the token was already used"))
                }
                TxOutcome::ConditionFailed(_) | TxOutcome::Conflict => Ok(Retry::Again),
            }
        })
        .await
    }

    async fn unlink(&self, cmd: &Unlink) -> Result<Unlinked> {
        retrying("unlink", || async {
            let primary = self
                .get_user(cmd.project, cmd.primary)
                .await?
                .ok_or(Error::NotFound)?;
            plan_unlink(&primary, cmd)?;
            let standalone = standalone_user(cmd)?;
            // The single-value profile attribute the identity filled, if it is one.
            let remove = match cmd.identity.provider.as_str() {
                crate::identity::Provider::EXTERNAL_ID => " REMOVE external_id",
                crate::identity::Provider::PARTNER => " REMOVE partner_id",
                _ => "",
            };
            let mut items = vec![self.put(profile_item(&standalone), Some(NEW_ITEM))?];
            items.push(self.repoint(cmd.project, &cmd.identity, cmd.primary, standalone.id)?);
            items.extend(self.move_identity(&cmd.identity, cmd.primary, standalone.id, cmd.now)?);
            items.push(self.update_profile_as_read(
                cmd.primary,
                primary.user.version,
                cmd.now,
                format!("SET updated = :now ADD sv :one, ver :one{remove}"),
                [],
            )?);
            for record in cmd.records(standalone.id) {
                items.push(self.audit(&record)?);
            }
            let unlinked = Unlinked {
                primary: apply_unlink(&primary, cmd),
                standalone: standalone.id,
            };
            match self.transact_once(items, &cmd.by, &unlinked).await? {
                TxOutcome::Done => Ok(Retry::Done(unlinked)),
                TxOutcome::ConditionFailed(_) | TxOutcome::Conflict => Ok(Retry::Again),
            }
        })
        .await
    }
}
