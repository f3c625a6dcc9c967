//! Reading users: one Query reads a profile with all its identities.

use super::items::{
    BAN_ATTRIBUTES, Item, PROFILE, ban_from_item, get_s, identity_from_item, is_tombstone,
    marker_key, owner_of, profile_key, req_n, user_from_item, user_pk,
};
use super::{DynamoStore, store_error};
use crate::error::{Error, Result};
use crate::identity::{IdentityKey, ProjectId, UserId};
use crate::store::UserStore;
use crate::user::{Session, UserWithIdentities};

impl DynamoStore {
    /// Every item under the user's partition, in one consistent Query (items.rs proves a whole
    /// user fits one page).
    pub(super) async fn partition(&self, id: UserId) -> Result<Vec<Item>> {
        let out = self.query_partition(user_pk(id), None, |q| q).await?;
        if out
            .last_evaluated_key
            .as_ref()
            .is_some_and(|k| !k.is_empty())
        {
            return Err(Error::internal(
                "a user's partition spans more than one page",
            ));
        }
        Ok(out.items.unwrap_or_default())
    }
}

impl UserStore for DynamoStore {
    async fn get_user(&self, project: ProjectId, id: UserId) -> Result<Option<UserWithIdentities>> {
        let items = self.partition(id).await?;
        let mut user = None;
        let mut identities = Vec::new();
        for item in &items {
            match get_s(item, "SK") {
                Some(PROFILE) => user = user_from_item(item)?,
                Some(sk) if sk.starts_with("IDENT#") => identities.push(identity_from_item(item)?),
                _ => {}
            }
        }
        Ok(user
            .filter(|u| u.project == project)
            .map(|user| UserWithIdentities { user, identities }))
    }

    async fn session(&self, id: UserId) -> Result<Option<Session>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(profile_key(id)))
            .projection_expression(format!("sv, merged_into, {}", BAN_ATTRIBUTES.join(", ")))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        match out.item {
            Some(item) if !is_tombstone(&item) => Ok(Some(Session {
                version: req_n(&item, "sv")?,
                ban: ban_from_item(&item)?,
            })),
            _ => Ok(None),
        }
    }

    async fn owner_of(&self, project: ProjectId, identity: &IdentityKey) -> Result<Option<UserId>> {
        self.get(marker_key(project, identity))
            .await?
            .map(|i| owner_of(&i))
            .transpose()
    }
}
