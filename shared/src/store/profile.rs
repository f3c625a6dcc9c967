//! Changing a user's profile from the studio's server: Xsolla's ban and unban, and Auth0's
//! `PATCH /api/v2/users/{id}` (`blocked`, `app_metadata`, `user_metadata`, `nickname`). The
//! change is decided here on the user as read; the store writes it conditioned on that read.

use std::future::Future;

use serde_json::{Map, Value};

use crate::attribute::{AttrType, Attribute, Permission};
use crate::audit::{Audit, AuditKind, AuditRecord};
use crate::error::{Error, Result};
use crate::identity::{Nickname, ProjectId, UserId};
use crate::user::{Ban, User, UserWithIdentities};

/// What happens to the user's ban.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BanChange {
    /// Xsolla's ban: replaces any ban the user has.
    Ban(Ban),
    /// Xsolla's unban: no ban at all afterwards.
    Lift,
    /// Auth0's `blocked: false`: as `Lift`, recorded as an unblock.
    Unblock,
    /// Auth0's `blocked: true`: a ban for good from now, unless one already holds (kept as is).
    Block,
}

/// An Auth0 metadata object of a PATCH: `{}` clears every key of its kind; otherwise each
/// first-level key is set (its value replacing the old one whole) or, when `null`, removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataPatch {
    Clear,
    Merge(Vec<(String, Option<Attribute>)>),
}

impl MetadataPatch {
    /// Keys one metadata object may name: the attributes a user may hold.
    pub const MAX_KEYS: usize = Attribute::MAX_PER_USER;

    /// Parses `app_metadata` (server attributes) or `user_metadata` (client attributes); `field`
    /// names it in errors.
    pub fn parse(field: &'static str, kind: AttrType, value: &Value) -> Result<Self> {
        let Value::Object(map) = value else {
            return Err(Error::invalid(field, "must be an object"));
        };
        if map.is_empty() {
            return Ok(Self::Clear);
        }
        if map.len() > Self::MAX_KEYS {
            return Err(Error::invalid(field, "has too many keys"));
        }
        Ok(Self::Merge(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), Self::value(field, kind, k, v)?)))
                .collect::<Result<_>>()?,
        ))
    }

    fn value(
        field: &'static str,
        kind: AttrType,
        key: &str,
        v: &Value,
    ) -> Result<Option<Attribute>> {
        if !Attribute::is_key(key) {
            return Err(Error::invalid(
                field,
                "keys must be 1-256 characters of letters, digits, '_' and '-'",
            ));
        }
        if v.is_null() {
            return Ok(None);
        }
        let value_json = v.to_string();
        if value_json.len() > Attribute::MAX_VALUE_BYTES {
            return Err(Error::invalid(field, "has a value larger than 1024 bytes"));
        }
        // A key new to the user is private if the studio's (app_metadata) and the player's own
        // (user_metadata) otherwise; a key it has keeps its permission (ProfileUpdate::apply).
        let permission = match kind {
            AttrType::Server => Permission::Private,
            AttrType::Client => Permission::Public,
        };
        Ok(Some(Attribute::from_trusted(
            key.to_owned(),
            kind,
            permission,
            false,
            value_json,
        )))
    }

    fn apply(&self, kind: AttrType, attributes: &mut Vec<Attribute>) {
        match self {
            Self::Clear => attributes.retain(|a| a.attr_type != kind),
            Self::Merge(entries) => {
                for (key, value) in entries {
                    let held = attributes.iter().position(|a| a.key() == key);
                    match (held, value) {
                        (Some(i), None) if attributes[i].attr_type == kind => {
                            attributes.remove(i);
                        }
                        // A null for a key of the other kind leaves that attribute alone.
                        (_, None) => {}
                        (Some(i), Some(new)) => {
                            let old = &attributes[i];
                            let kept = if old.attr_type == kind {
                                Attribute::from_trusted(
                                    key.clone(),
                                    kind,
                                    old.permission,
                                    old.read_only,
                                    new.value_json().to_owned(),
                                )
                            } else {
                                new.clone()
                            };
                            attributes[i] = kept;
                        }
                        (None, Some(new)) => attributes.push(new.clone()),
                    }
                }
            }
        }
    }
}

/// One change of a user's profile by the studio's server.
#[derive(Debug, Clone)]
pub struct ProfileUpdate {
    pub project: ProjectId,
    pub user: UserId,
    pub ban: Option<BanChange>,
    pub app_metadata: Option<MetadataPatch>,
    pub user_metadata: Option<MetadataPatch>,
    /// `Some(None)` removes the nickname.
    pub nickname: Option<Option<Nickname>>,
    /// Unix seconds.
    pub now: i64,
    /// Who asked, for the audit records written with the change.
    pub by: Audit,
}

impl ProfileUpdate {
    pub fn new(project: ProjectId, user: UserId, now: i64) -> Self {
        Self {
            project,
            user,
            ban: None,
            app_metadata: None,
            user_metadata: None,
            nickname: None,
            now,
            by: Audit::internal(),
        }
    }

    /// The same update, recorded as asked by `by`.
    pub fn by(self, by: Audit) -> Self {
        Self { by, ..self }
    }

    /// The audit records written with the update: one for its ban change, one for its metadata
    /// and nickname (naming the keys it set or removed, never their values).
    pub fn records(&self) -> Vec<AuditRecord> {
        let record = |kind| AuditRecord::new(self.user, self.project, kind, &self.by, self.now);
        let mut records = Vec::new();
        if let Some(change) = &self.ban {
            records.push(record(match change {
                BanChange::Ban(_) => AuditKind::Banned,
                BanChange::Lift => AuditKind::Unbanned,
                BanChange::Block => AuditKind::Blocked,
                BanChange::Unblock => AuditKind::Unblocked,
            }));
        }
        if self.app_metadata.is_some() || self.user_metadata.is_some() || self.nickname.is_some() {
            let keys = [&self.app_metadata, &self.user_metadata]
                .into_iter()
                .flatten()
                .flat_map(|patch| match patch {
                    MetadataPatch::Clear => Vec::new(),
                    MetadataPatch::Merge(entries) => {
                        entries.iter().map(|(k, _)| k.clone()).collect()
                    }
                });
            records.push(record(AuditKind::MetadataUpdated).keys(keys));
        }
        records
    }

    /// Whether the update changes anything at all (an empty PATCH writes nothing).
    pub fn is_empty(&self) -> bool {
        self.ban.is_none()
            && self.app_metadata.is_none()
            && self.user_metadata.is_none()
            && self.nickname.is_none()
    }

    /// The user after this update: `ver` bumped, and `sv` too when a ban begins to hold now (the
    /// sessions it interrupts end for good, even if the ban is lifted later). `UserLimit` past
    /// [`Attribute::MAX_PER_USER`].
    pub fn apply(&self, user: &mut User) -> Result<()> {
        let was_banned = user.banned_at(self.now);
        match &self.ban {
            None => {}
            Some(BanChange::Ban(ban)) => user.ban = Some(ban.clone()),
            Some(BanChange::Lift | BanChange::Unblock) => user.ban = None,
            Some(BanChange::Block) if was_banned => {}
            Some(BanChange::Block) => {
                user.ban = Some(Ban {
                    from: self.now,
                    to: None,
                    reason: None,
                })
            }
        }
        if !was_banned && user.banned_at(self.now) {
            user.session_version += 1;
        }
        if let Some(patch) = &self.app_metadata {
            patch.apply(AttrType::Server, &mut user.attributes);
        }
        if let Some(patch) = &self.user_metadata {
            patch.apply(AttrType::Client, &mut user.attributes);
        }
        if user.attributes.len() > Attribute::MAX_PER_USER {
            return Err(Error::UserLimit("200 attributes"));
        }
        user.attributes.sort_by(|a, b| a.key().cmp(b.key()));
        if let Some(nickname) = &self.nickname {
            user.nickname = nickname.clone();
        }
        user.version += 1;
        user.updated_at = self.now;
        Ok(())
    }
}

/// Parses Auth0's `nickname` (a string, or `null` to remove it).
pub fn parse_nickname(body: &Map<String, Value>) -> Result<Option<Option<Nickname>>> {
    match body.get("nickname") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(Nickname::parse(s)?))),
        Some(_) => Err(Error::invalid("nickname", "must be a string")),
    }
}

/// Changing a user's profile from the studio's server.
pub trait ProfileStore: Send + Sync {
    /// Reads the live user of the project, applies the update and writes the profile
    /// conditioned on the version read (a concurrent login, link or merge makes it decide
    /// again). Answers the user as written. `NotFound` for an unknown, merged-away, deleted or
    /// foreign-project user; on a refusal nothing is written.
    fn update_profile(
        &self,
        cmd: &ProfileUpdate,
    ) -> impl Future<Output = Result<UserWithIdentities>> + Send;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::user::LoginCommand;

    fn user_with(attrs: Value) -> User {
        let mut cmd = LoginCommand::new(
            ProjectId::new_random(),
            crate::identity::CustomId::parse("p1").unwrap(),
            100,
        );
        cmd.attributes = Attribute::parse_list(Some(&attrs)).unwrap();
        cmd.new_user()
    }

    fn patched(user: &User, app: Value, usr: Value) -> User {
        let mut cmd = ProfileUpdate::new(user.project, user.id, 200);
        cmd.app_metadata =
            Some(MetadataPatch::parse("app_metadata", AttrType::Server, &app).unwrap());
        cmd.user_metadata =
            Some(MetadataPatch::parse("user_metadata", AttrType::Client, &usr).unwrap());
        let mut after = user.clone();
        cmd.apply(&mut after).unwrap();
        after
    }

    fn rendered(u: &User, kind: AttrType) -> Value {
        Value::Object(
            u.attributes
                .iter()
                .filter(|a| a.attr_type == kind)
                .map(|a| (a.key().to_owned(), a.value()))
                .collect(),
        )
    }

    #[test]
    fn first_level_keys_merge_null_deletes_and_deeper_objects_are_replaced() {
        let user = user_with(json!([
            {"key":"tier","value":"gold","attr_type":"server","permission":"public"},
            {"key":"deep","value":{"a":1,"b":2},"attr_type":"server","permission":"private"},
            {"key":"gone","value":1,"attr_type":"server","permission":"private"},
            {"key":"theme","value":"dark","attr_type":"client","permission":"public"},
        ]));

        let after = patched(
            &user,
            json!({"deep": {"a": 3}, "gone": null, "new": [1, 2]}),
            json!({"lang": "de"}),
        );

        assert_eq!(
            rendered(&after, AttrType::Server),
            json!({"tier": "gold", "deep": {"a": 3}, "new": [1, 2]})
        );
        assert_eq!(
            rendered(&after, AttrType::Client),
            json!({"theme": "dark", "lang": "de"})
        );
        // A key the user had keeps its permission; a new one is private (app_metadata).
        let perm = |k: &str| {
            after
                .attributes
                .iter()
                .find(|a| a.key() == k)
                .unwrap()
                .permission
        };
        assert_eq!(perm("tier"), Permission::Public);
        assert_eq!(perm("new"), Permission::Private);
        assert_eq!((after.version, after.updated_at), (user.version + 1, 200));
    }

    #[test]
    fn an_empty_object_clears_only_its_kind() {
        let user = user_with(json!([
            {"key":"tier","value":"gold","attr_type":"server","permission":"public"},
            {"key":"theme","value":"dark","attr_type":"client","permission":"public"},
        ]));

        let after = patched(&user, json!({}), json!({"x": 1}));

        assert_eq!(rendered(&after, AttrType::Server), json!({}));
        assert_eq!(
            rendered(&after, AttrType::Client),
            json!({"theme": "dark", "x": 1})
        );
    }

    #[test]
    fn bad_metadata_is_refused_before_anything_is_applied() {
        for bad in [
            json!([1]),
            json!({"bad key": 1}),
            json!({"k": "x".repeat(1100)}),
            json!({"": 1}),
        ] {
            assert!(matches!(
                MetadataPatch::parse("app_metadata", AttrType::Server, &bad),
                Err(Error::InvalidParameter { .. })
            ));
        }
    }

    #[test]
    fn a_ban_that_holds_now_ends_sessions_and_a_scheduled_one_does_not() {
        let user = user_with(json!([]));
        let ban = |from: i64, to: Option<i64>| {
            let mut cmd = ProfileUpdate::new(user.project, user.id, 200);
            cmd.ban = Some(BanChange::Ban(Ban {
                from,
                to,
                reason: None,
            }));
            let mut after = user.clone();
            cmd.apply(&mut after).unwrap();
            after
        };

        let now = ban(150, None);
        let scheduled = ban(300, Some(400));
        let over = ban(50, Some(150));

        assert_eq!(now.session_version, user.session_version + 1);
        assert!(now.banned_at(200));
        assert_eq!(scheduled.session_version, user.session_version);
        assert!(!scheduled.banned_at(200) && scheduled.banned_at(300) && !scheduled.banned_at(400));
        assert!(!over.banned_at(200));
    }

    #[test]
    fn block_keeps_a_ban_that_holds_and_lift_removes_any() {
        let mut user = user_with(json!([]));
        let held = Ban {
            from: 10,
            to: Some(1000),
            reason: Some("cheating".into()),
        };
        user.ban = Some(held.clone());
        let run = |change: BanChange| {
            let mut cmd = ProfileUpdate::new(user.project, user.id, 200);
            cmd.ban = Some(change);
            let mut after = user.clone();
            cmd.apply(&mut after).unwrap();
            after
        };

        assert_eq!(run(BanChange::Block).ban, Some(held));
        assert_eq!(run(BanChange::Block).session_version, user.session_version);
        assert_eq!(run(BanChange::Lift).ban, None);
    }

    #[test]
    fn more_than_200_attributes_are_refused() {
        let user = user_with(json!([]));
        let many: Map<String, Value> = (0..201).map(|i| (format!("k{i}"), json!(i))).collect();
        let mut cmd = ProfileUpdate::new(user.project, user.id, 200);
        cmd.app_metadata = Some(
            MetadataPatch::parse(
                "app_metadata",
                AttrType::Server,
                &Value::Object(many.into_iter().take(200).collect()),
            )
            .unwrap(),
        );
        cmd.user_metadata = Some(
            MetadataPatch::parse("user_metadata", AttrType::Client, &json!({"one": 1})).unwrap(),
        );

        assert!(matches!(
            cmd.apply(&mut user.clone()),
            Err(Error::UserLimit("200 attributes"))
        ));
    }
}
