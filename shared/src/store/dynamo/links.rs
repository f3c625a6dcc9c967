//! Single links: an identity a user may hold only one of (external ID, partner identifier).

use std::collections::HashMap;

use super::items::{
    identity_item, marker_item, marker_key, marker_pk, n, owner_of, profile_key, s, user_from_item,
    user_pk,
};
use super::{DynamoStore, LIVE_USER, NEW_ITEM, Retry, TxOutcome, retrying};
use crate::error::{Error, Result};
use crate::store::{LinkOutcome, LinkStore, SingleLink, link_verdict};

/// The profile belongs to the link's project (`#project`: `project` is a reserved word).
const IN_PROJECT: &str = "#project = :p";
/// The token's session is still the user's.
const SAME_SESSION: &str = "sv = :sv";

impl DynamoStore {
    /// Why a link transaction was cancelled, from the marker and the profile as they are now.
    /// `None`: the state moved under us (a concurrent writer); try again.
    async fn explain_link_refusal(&self, link: &SingleLink) -> Result<Option<LinkOutcome>> {
        let ident = link.identity();
        let found = self
            .batch_get(vec![
                marker_key(link.project, &ident),
                profile_key(link.user),
            ])
            .await?;
        let profile = found
            .get(&user_pk(link.user))
            .map(user_from_item)
            .transpose()?
            .flatten()
            .filter(|u| u.project == link.project)
            .ok_or(Error::NotFound)?;
        let owner = found
            .get(&marker_pk(link.project, &ident))
            .map(owner_of)
            .transpose()?;
        Ok(link_verdict(link, &profile, owner)?.then_some(LinkOutcome::AlreadyLinked))
    }
}

impl LinkStore for DynamoStore {
    async fn link_single(&self, link: &SingleLink) -> Result<LinkOutcome> {
        let ident = link.identity();
        let attr = link.kind.profile_attribute();
        // The user holds no value of this kind yet.
        let mut condition =
            format!("{LIVE_USER} AND {IN_PROJECT} AND attribute_not_exists({attr})");
        let mut values = HashMap::from([
            (":x".to_owned(), s(link.subject.as_str())),
            (":now".to_owned(), n(link.now)),
            (":one".to_owned(), n(1)),
            (":p".to_owned(), s(link.project.to_string())),
        ]);
        if let Some(sv) = link.session {
            condition = format!("{condition} AND {SAME_SESSION}");
            values.insert(":sv".to_owned(), n(sv));
        }
        let (ident, condition, values) = (&ident, &condition, &values);
        retrying("link", || async move {
            // Marker, profile and identity item together or not at all. Every condition is
            // strict, so a repeated link cancels instead of rewriting: the explanation then tells
            // "already linked" (nothing changes) from "taken" and "user has another".
            let items = vec![
                self.put(
                    marker_item(link.project, ident, link.user, link.now),
                    Some(NEW_ITEM),
                )?,
                self.update(
                    profile_key(link.user),
                    format!("SET {attr} = :x, updated = :now ADD ver :one"),
                    condition,
                    HashMap::from([("#project".to_owned(), "project".to_owned())]),
                    values.clone(),
                )?,
                self.put(identity_item(link.user, ident, link.now), Some(NEW_ITEM))?,
                self.audit(&link.record())?,
            ];
            match self
                .transact_once(items, &link.by, &LinkOutcome::Linked)
                .await?
            {
                TxOutcome::Done => Ok(Retry::Done(LinkOutcome::Linked)),
                TxOutcome::Conflict => Ok(Retry::Again),
                TxOutcome::ConditionFailed(_) => {
                    Ok(match self.explain_link_refusal(link).await? {
                        Some(outcome) => {
                            // Already linked: nothing changed, but a keyed request keeps its
                            // answer all the same.
                            self.remember(&link.by, &outcome).await?;
                            Retry::Done(outcome)
                        }
                        None => Retry::Again,
                    })
                }
            }
        })
        .await
    }
}
