//! Changing a user's custom ID: the decision is `store::custom_id`'s plan; this file commits it
//! as one transaction conditioned on the user as read.

use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};

use super::items::{identity_item, identity_key, marker_item, marker_key, s};
use super::{DynamoStore, NEW_ITEM, Retry, STILL_EXISTS, STILL_OWNED_BY_FROM, TxOutcome, retrying};
use crate::error::{Error, Result};
use crate::identity::{IdentityKey, ProjectId, UserId};
use crate::store::custom_id::{CustomIdDecision, CustomIdPlan, plan_custom_id_change};
use crate::store::{CustomIdChange, CustomIdOutcome, CustomIdStore, UserStore};

impl DynamoStore {
    /// Deletes a marker only if it still points at `from`: a marker is never freed from under
    /// a user it was moved to meanwhile.
    fn free_marker(
        &self,
        project: ProjectId,
        ident: &IdentityKey,
        from: UserId,
    ) -> Result<TransactWriteItem> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(marker_key(project, ident)))
            .condition_expression(STILL_OWNED_BY_FROM)
            .expression_attribute_values(":from", s(from.to_string()))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// The plan's writes: the new marker taken (`NEW_ITEM`), the old one freed (still the
    /// user's), the identity item moved, and the profile's custom ID set on the version read
    /// with the session bumped (see `apply_custom_id_change`).
    fn custom_id_writes(
        &self,
        cmd: &CustomIdChange,
        plan: &CustomIdPlan,
        version: u64,
    ) -> Result<Vec<TransactWriteItem>> {
        let mut items = Vec::with_capacity(5);
        if !plan.new_already_held {
            items.push(self.put(
                marker_item(cmd.project, &plan.new, cmd.user, cmd.now),
                Some(NEW_ITEM),
            )?);
            items.push(self.put(identity_item(cmd.user, &plan.new, cmd.now), Some(NEW_ITEM))?);
        }
        if let Some(old) = &plan.old {
            items.push(self.free_marker(cmd.project, old, cmd.user)?);
            items.push(self.delete(identity_key(cmd.user, old), STILL_EXISTS)?);
        }
        items.push(self.update_profile_as_read(
            cmd.user,
            version,
            cmd.now,
            "SET custom_id = :cid, updated = :now ADD sv :one, ver :one".into(),
            [(":cid".to_owned(), s(cmd.new.as_str()))],
        )?);
        items.push(self.audit(&cmd.record(plan.old.as_ref()))?);
        Ok(items)
    }
}

impl CustomIdStore for DynamoStore {
    async fn change_custom_id(&self, cmd: &CustomIdChange) -> Result<CustomIdOutcome> {
        let new = IdentityKey::custom_id(&cmd.new);
        let new = &new;
        retrying("custom ID change", || async move {
            let (user, owner) = tokio::join!(
                self.get_user(cmd.project, cmd.user),
                self.owner_of(cmd.project, new)
            );
            let user = user?.ok_or(Error::NotFound)?;
            // The two reads are not one snapshot: a concurrent change of this user can fall
            // between them, and the plan then asks to read again.
            let plan = match plan_custom_id_change(&user, owner?, cmd)? {
                CustomIdDecision::Unchanged => {
                    // Nothing to write, but a keyed request keeps its answer all the same.
                    self.remember(&cmd.by, &CustomIdOutcome::Unchanged).await?;
                    return Ok(Retry::Done(CustomIdOutcome::Unchanged));
                }
                CustomIdDecision::ReadAgain => return Ok(Retry::Again),
                CustomIdDecision::Change(plan) => plan,
            };
            let writes = self.custom_id_writes(cmd, &plan, user.user.version)?;
            match self
                .transact_once(writes, &cmd.by, &CustomIdOutcome::Changed)
                .await?
            {
                TxOutcome::Done => Ok(Retry::Done(CustomIdOutcome::Changed)),
                // Someone took the new custom ID, or changed or merged the user, since the read:
                // decide again (a taken custom ID is then refused without a write).
                TxOutcome::ConditionFailed(_) | TxOutcome::Conflict => Ok(Retry::Again),
            }
        })
        .await
    }
}
