//! Profile changes from the studio's server (ban, unban, Auth0's PATCH): one consistent Query
//! reads the user, `store::profile` decides, and one write replaces the changed fields,
//! conditioned on the version read (`SAME_VERSION`), so a concurrent login, link, merge or
//! delete makes it decide again from a fresh read. Its audit records are part of that write.

use aws_sdk_dynamodb::types::AttributeValue;

use super::items::{BAN_ATTRIBUTES, attributes_av, ban_values, n, s};
use super::{DynamoStore, Retry, TxOutcome, retrying};
use crate::error::{Error, Result};
use crate::store::UserStore;
use crate::store::profile::{ProfileStore, ProfileUpdate};
use crate::user::{User, UserWithIdentities};

/// `SET` the fields a profile update may change to their values in `user`, `REMOVE` those it
/// left unset, `ADD ver`. The bound values other than `:now`, `:one` and `:ver`.
fn replace_changed_fields(user: &User) -> (String, Vec<(String, AttributeValue)>) {
    let mut sets: Vec<String> = vec![
        "attrs = :attrs".into(),
        "updated = :now".into(),
        "sv = :sv".into(),
    ];
    let mut removes = Vec::new();
    let mut values = vec![
        (":attrs".to_owned(), attributes_av(&user.attributes)),
        (":sv".to_owned(), n(user.session_version)),
    ];
    match &user.nickname {
        Some(nick) => {
            sets.push("nickname = :nickname".into());
            values.push((":nickname".to_owned(), s(nick.as_str())));
        }
        None => removes.push("nickname"),
    }
    let ban = user.ban.as_ref().map(ban_values).unwrap_or_default();
    for (name, value) in BAN_ATTRIBUTES.into_iter().zip(ban) {
        match value {
            Some((_, v)) => {
                sets.push(format!("{name} = :{name}"));
                values.push((format!(":{name}"), v));
            }
            None => removes.push(name),
        }
    }
    let remove = if removes.is_empty() {
        String::new()
    } else {
        format!(" REMOVE {}", removes.join(", "))
    };
    (
        format!("SET {}{remove} ADD ver :one", sets.join(", ")),
        values,
    )
}

impl ProfileStore for DynamoStore {
    async fn update_profile(&self, cmd: &ProfileUpdate) -> Result<UserWithIdentities> {
        retrying("update user", || async {
            let mut found = self
                .get_user(cmd.project, cmd.user)
                .await?
                .ok_or(Error::NotFound)?;
            let read = found.user.version;
            cmd.apply(&mut found.user)?;
            let (expression, values) = replace_changed_fields(&found.user);
            let mut items =
                vec![self.update_profile_as_read(cmd.user, read, cmd.now, expression, values)?];
            for record in cmd.records() {
                items.push(self.audit(&record)?);
            }
            match self.transact_once(items, &cmd.by, &found).await? {
                TxOutcome::Done => Ok(Retry::Done(found)),
                TxOutcome::ConditionFailed(_) | TxOutcome::Conflict => Ok(Retry::Again),
            }
        })
        .await
    }
}
