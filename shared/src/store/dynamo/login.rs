//! Login by custom ID: the first login creates the user in one transaction, a returning login
//! updates the profile.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::items::{
    attribute_to_av, identity_item, marker_item, marker_key, marker_pk, n, owner_of, profile_item,
    profile_key, s, user_from_item,
};
use super::{DynamoStore, LIVE_USER, NEW_ITEM, Retry, TxOutcome, retrying, store_error};
use crate::attribute::Attribute;
use crate::error::{Error, Result};
use crate::identity::{IdentityKey, UserId};
use crate::store::accounts::check_identity_room;
use crate::store::{LoginStore, UserStore};
use crate::user::{LoginCommand, LoginOutcome};

/// The profile still has room for the login's attributes.
const ROOM_FOR_ATTRIBUTES: &str = "size(attrs) <= :cap";
/// The profile is the one read before the write.
const VERSION_AS_READ: &str = "ver = :ver";
/// No ban holds at `:now` (none, one not begun, or one over): a login by a banned user changes
/// nothing.
const NOT_BANNED: &str = "(attribute_not_exists(ban_from) OR ban_from > :now OR ban_to <= :now)";

struct ProfileUpdate {
    expression: String,
    condition: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

/// `SET last_login, nickname, attrs.<k>…; ADD ver, sv` on a live profile, with room for the
/// attributes (a conservative cap: overwriting a key at the cap is refused too).
fn login_update(cmd: &LoginCommand) -> ProfileUpdate {
    let mut sets = vec!["last_login = :now".to_owned(), "updated = :now".to_owned()];
    let mut names = HashMap::new();
    let mut values = HashMap::from([(":now".to_owned(), n(cmd.now)), (":one".to_owned(), n(1))]);
    if let Some(nick) = &cmd.nickname {
        sets.push("nickname = :nick".into());
        values.insert(":nick".into(), s(nick.as_str()));
    }
    for (i, a) in cmd.attributes.iter().enumerate() {
        sets.push(format!("attrs.#a{i} = :a{i}"));
        names.insert(format!("#a{i}"), a.key().to_owned());
        values.insert(format!(":a{i}"), attribute_to_av(a));
    }
    let mut condition = format!("{LIVE_USER} AND {NOT_BANNED}");
    if !cmd.attributes.is_empty() {
        condition = format!("{condition} AND {ROOM_FOR_ATTRIBUTES}");
        values.insert(
            ":cap".into(),
            n(Attribute::MAX_PER_USER.saturating_sub(cmd.attributes.len())),
        );
    }
    let add = if cmd.end_other_sessions {
        "ADD ver :one, sv :one"
    } else {
        "ADD ver :one"
    };
    ProfileUpdate {
        expression: format!("SET {} {add}", sets.join(", ")),
        condition,
        names,
        values,
    }
}

impl DynamoStore {
    /// Who owns the custom ID and (if given) the social identity: one round trip either way.
    async fn read_owners(
        &self,
        cmd: &LoginCommand,
        custom: &IdentityKey,
    ) -> Result<(Option<UserId>, Option<UserId>)> {
        let Some(social) = &cmd.social else {
            let owner = self
                .get(marker_key(cmd.project, custom))
                .await?
                .map(|i| owner_of(&i))
                .transpose()?;
            return Ok((owner, None));
        };
        let found = self
            .batch_get(vec![
                marker_key(cmd.project, custom),
                marker_key(cmd.project, social),
            ])
            .await?;
        let owner = found
            .get(&marker_pk(cmd.project, custom))
            .map(owner_of)
            .transpose()?;
        let social_owner = found
            .get(&marker_pk(cmd.project, social))
            .map(owner_of)
            .transpose()?;
        Ok((owner, social_owner))
    }

    async fn first_login(
        &self,
        cmd: &LoginCommand,
        custom: &IdentityKey,
    ) -> Result<Retry<LoginOutcome>> {
        let user = cmd.new_user();
        let mut items = vec![
            self.put(
                marker_item(cmd.project, custom, user.id, cmd.now),
                Some(NEW_ITEM),
            )?,
            self.put(profile_item(&user), Some(NEW_ITEM))?,
            self.put(identity_item(user.id, custom, cmd.now), None)?,
            self.audit(&cmd.created_record(user.id))?,
        ];
        if let Some(social) = &cmd.social {
            items.push(self.put(
                marker_item(cmd.project, social, user.id, cmd.now),
                Some(NEW_ITEM),
            )?);
            items.push(self.put(identity_item(user.id, social, cmd.now), None)?);
        }
        let outcome = LoginOutcome {
            user,
            created: true,
        };
        match self.transact_once(items, &cmd.by, &outcome).await? {
            TxOutcome::Done => Ok(Retry::Done(outcome)),
            // Someone created this custom ID first (the re-read finds that user), or the social
            // identity was taken meanwhile (the re-read reports whose it is).
            TxOutcome::ConditionFailed(_) | TxOutcome::Conflict => Ok(Retry::Again),
        }
    }

    async fn returning_login(
        &self,
        cmd: &LoginCommand,
        owner: UserId,
        link_social: Option<&IdentityKey>,
    ) -> Result<Retry<LoginOutcome>> {
        let update = login_update(cmd);
        // A keyed login answers a token made from the user as it will be: read it, and
        // condition the write on that read (the transactional path below).
        let fast = link_social.is_none() && cmd.by.once.is_none();
        if fast {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(profile_key(owner)))
                .update_expression(&update.expression)
                .condition_expression(&update.condition)
                .set_expression_attribute_names((!update.names.is_empty()).then_some(update.names))
                .set_expression_attribute_values(Some(update.values))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            return match result {
                Ok(out) => {
                    let item = out.attributes.unwrap_or_default();
                    match user_from_item(&item)? {
                        Some(user) => Ok(Retry::Done(LoginOutcome {
                            user,
                            created: false,
                        })),
                        None => Ok(Retry::Again),
                    }
                }
                Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                    self.explain_profile_refusal(owner, cmd.now).await
                }
                // A transaction (a merge, a concurrent first login) holds the item: go again.
                Err(e) if e.code() == Some("TransactionConflictException") => Ok(Retry::Again),
                Err(e) => Err(store_error(e)),
            };
        }
        // First time this social identity comes with the login (attach it in the same
        // transaction as the profile update), or a keyed login: conditioned on the user as
        // read, whose identities (and attributes) are counted against its limits here.
        let Some(held) = self.get_user(cmd.project, owner).await? else {
            return Ok(Retry::Again);
        };
        if held.user.banned_at(cmd.now) {
            return Err(Error::Banned);
        }
        if link_social.is_some() {
            check_identity_room(&held.identities, 1)?;
        }
        if !cmd.attributes.is_empty()
            && held.user.attributes.len() > Attribute::MAX_PER_USER - cmd.attributes.len()
        {
            return Err(Error::TooManyAttributes);
        }
        let mut values = update.values;
        values.insert(":ver".into(), n(held.user.version));
        let mut items = Vec::with_capacity(4);
        if let Some(social) = link_social {
            items.push(self.put(
                marker_item(cmd.project, social, owner, cmd.now),
                Some(NEW_ITEM),
            )?);
            items.push(self.put(identity_item(owner, social, cmd.now), None)?);
        }
        items.push(self.update(
            profile_key(owner),
            update.expression,
            &format!("{} AND {VERSION_AS_READ}", update.condition),
            update.names,
            values,
        )?);
        if let Some(social) = link_social {
            items.push(self.audit(&cmd.attached_record(owner, social))?);
        }
        // The profile was the one read, so the login's changes to it are known.
        let mut user = held.user;
        cmd.apply_to(&mut user);
        let outcome = LoginOutcome {
            user,
            created: false,
        };
        match self.transact_once(items, &cmd.by, &outcome).await? {
            TxOutcome::Done => Ok(Retry::Done(outcome)),
            // The user changed since the read, or the social identity was taken meanwhile:
            // decide again from a fresh read.
            TxOutcome::ConditionFailed(_) | TxOutcome::Conflict => Ok(Retry::Again),
        }
    }

    /// The profile update's condition failed: the user was merged away meanwhile (look the
    /// custom ID up again), a ban holds on it, or it has no room for more attributes.
    async fn explain_profile_refusal(
        &self,
        owner: UserId,
        now: i64,
    ) -> Result<Retry<LoginOutcome>> {
        match self
            .get(profile_key(owner))
            .await?
            .as_ref()
            .map(user_from_item)
        {
            Some(Ok(Some(user))) if user.banned_at(now) => Err(Error::Banned),
            Some(Ok(Some(_))) => Err(Error::TooManyAttributes),
            Some(Err(e)) => Err(e),
            _ => Ok(Retry::Again),
        }
    }
}

impl LoginStore for DynamoStore {
    async fn login(&self, cmd: &LoginCommand) -> Result<LoginOutcome> {
        let custom = IdentityKey::custom_id(&cmd.custom_id);
        retrying("login", || async {
            let (owner, social_owner) = self.read_owners(cmd, &custom).await?;
            // A social identity held by anyone but this custom ID's user is refused before any write.
            if social_owner.is_some() && social_owner != owner {
                return Err(Error::IdentityTaken);
            }
            match owner {
                None => self.first_login(cmd, &custom).await,
                Some(uid) => {
                    let link_social = cmd.social.as_ref().filter(|_| social_owner.is_none());
                    self.returning_login(cmd, uid, link_social).await
                }
            }
        })
        .await
    }
}
