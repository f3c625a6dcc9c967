//! Attribute writes from the studio's server: the user found by its custom ID's uniqueness
//! marker (one read), then one transaction of the conditional update of its profile that sets
//! and removes the attributes together, and the write's audit record. The per-user cap is part of that write's condition, never a prior read.

use std::collections::HashMap;

use super::items::{
    attribute_to_av, is_tombstone, marker_key, n, owner_of, profile_key, s, user_from_item,
};
use super::{DynamoStore, LIVE_USER, MAX_ATTEMPTS, TxOutcome, backoff};
use crate::attribute::Attribute;
use crate::error::{Error, Result};
use crate::identity::{IdentityKey, UserId};
use crate::store::{AttributeStore, AttributeWrite};

/// The profile belongs to the write's project (`#project`: `project` is a reserved word).
const IN_PROJECT: &str = "#project = :p";
/// Room for every written key counted as new: true for any user not near the cap, so the usual
/// write needs no read of the profile.
const ROOM_FOR_ALL_AS_NEW: &str = "size(attrs) <= :cap";
/// The profile is the one read to count its attributes exactly (every write bumps `ver`).
const VERSION_AS_COUNTED: &str = "ver = :ver";

/// What one write did.
enum Written {
    Done,
    /// The condition failed: read the profile to tell why.
    Refused,
    /// A transaction held the item: go again.
    Busy,
}

impl DynamoStore {
    /// `SET attrs.<k>…, updated REMOVE attrs.<k>… ADD ver` on the live profile in the project;
    /// `counted`: the version whose attributes were counted exactly, else the conservative cap.
    async fn update_attributes(
        &self,
        owner: UserId,
        write: &AttributeWrite,
        counted: Option<u64>,
    ) -> Result<Written> {
        let mut sets = vec!["updated = :now".to_owned()];
        let mut names = HashMap::from([("#project".to_owned(), "project".to_owned())]);
        let mut values = HashMap::from([
            (":now".to_owned(), n(write.now)),
            (":one".to_owned(), n(1)),
            (":p".to_owned(), s(write.project.to_string())),
        ]);
        for (i, a) in write.set().iter().enumerate() {
            sets.push(format!("attrs.#a{i} = :a{i}"));
            names.insert(format!("#a{i}"), a.key().to_owned());
            values.insert(format!(":a{i}"), attribute_to_av(a));
        }
        let mut removes = Vec::new();
        for (i, k) in write.remove().iter().enumerate() {
            removes.push(format!("attrs.#r{i}"));
            names.insert(format!("#r{i}"), k.clone());
        }
        let remove = if removes.is_empty() {
            String::new()
        } else {
            format!(" REMOVE {}", removes.join(", "))
        };
        let mut condition = format!("{LIVE_USER} AND {IN_PROJECT}");
        match counted {
            Some(version) => {
                condition = format!("{condition} AND {VERSION_AS_COUNTED}");
                values.insert(":ver".into(), n(version));
            }
            None if !write.set().is_empty() => {
                condition = format!("{condition} AND {ROOM_FOR_ALL_AS_NEW}");
                values.insert(
                    ":cap".into(),
                    n(Attribute::MAX_PER_USER.saturating_sub(write.set().len())),
                );
            }
            None => {}
        }
        // The update and its audit record in one transaction: still one round trip.
        let items = vec![
            self.update(
                profile_key(owner),
                format!("SET {}{remove} ADD ver :one", sets.join(", ")),
                &condition,
                names,
                values,
            )?,
            self.audit(&write.record(owner))?,
        ];
        Ok(match self.transact_once(items, &write.by, &()).await? {
            TxOutcome::Done => Written::Done,
            TxOutcome::ConditionFailed(_) => Written::Refused,
            TxOutcome::Conflict => Written::Busy,
        })
    }

    /// Who holds the custom ID in the project.
    async fn custom_id_owner(&self, write: &AttributeWrite) -> Result<UserId> {
        let ident = IdentityKey::custom_id(&write.custom_id);
        match self.get(marker_key(write.project, &ident)).await? {
            Some(item) => owner_of(&item),
            None => Err(Error::NotFound),
        }
    }
}

impl AttributeStore for DynamoStore {
    async fn write_attributes(&self, write: &AttributeWrite) -> Result<()> {
        let mut owner = self.custom_id_owner(write).await?;
        let mut counted = None;
        for attempt in 0..MAX_ATTEMPTS {
            match self.update_attributes(owner, write, counted).await? {
                Written::Done => return Ok(()),
                Written::Busy => backoff(attempt).await,
                // Only a refused write reads the profile: gone, merged away meanwhile (its custom
                // ID moved to the primary: look it up again), or near the cap (count exactly).
                Written::Refused => match self.get(profile_key(owner)).await? {
                    None => return Err(Error::NotFound),
                    Some(item) if is_tombstone(&item) => {
                        owner = self.custom_id_owner(write).await?;
                        counted = None;
                    }
                    Some(item) => {
                        let user = user_from_item(&item)?
                            .filter(|u| u.project == write.project)
                            .ok_or(Error::NotFound)?;
                        write.apply(&user.attributes)?;
                        counted = Some(user.version);
                    }
                },
            }
        }
        Err(Error::Unavailable(
            "write attributes kept meeting concurrent writers".into(),
        ))
    }
}
