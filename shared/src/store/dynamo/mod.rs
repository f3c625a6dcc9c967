//! The DynamoDB adapter. `AttributeValue` stays in this module.
//!
//! Single table, string keys `PK`/`SK`:
//! - `USER#<uid>` / `PROFILE`: the user's profile (project, nickname, attributes, versions, times).
//! - `USER#<uid>` / `IDENT#<provider>#<subject>`: one item per identity, so one Query reads a user.
//! - `IDENT#<project>#<provider>#<subject>` / `IDENT`: the uniqueness marker → `user_id`.
//! - `CLIENT#<client_id>` / `CLIENT`, `PROJECT#<id>` / `PROJECT`.
//!
//! Every uniqueness rule is a condition inside the write that creates the item; nothing reads first
//! to decide whether a value is free.
//!
//! Item mapping (keys, `AttributeValue` ↔ domain types) lives in `items`.

mod items;

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};

use aws_sdk_dynamodb::types::ReturnValue;

use crate::attribute::Attribute;
use crate::client::{ClientId, Project, ServerClient};
use crate::error::{Error, Result};
use crate::identity::{IdentityKey, ProjectId, UserId};
use crate::partner::ApiKeyHash;
use crate::store::accounts::{
    AccountStore, LinkIdentity, Merge, Unlink, Unlinked, already_held, apply_merge, apply_unlink,
    check_identity_room, check_session, is_reserved, plan_merge, plan_unlink, standalone_user,
};
use crate::store::{
    ApiKeyStore, ClientStore, LinkOutcome, LinkStore, LoginStore, SingleLink, UserStore,
    link_verdict,
};
use crate::user::{LoginCommand, LoginOutcome, User, UserWithIdentities};
use items::{
    Item, PROFILE, api_key_item, api_key_key, api_key_project_from_item, attribute_to_av,
    attributes_av, client_from_item, client_item, client_key, get_s, identity_from_item,
    identity_item, identity_key, is_tombstone, link_proof_item, marker_item, marker_key, marker_pk,
    n, owner_of, profile_item, profile_key, project_from_item, project_item, project_key, req_n,
    req_s, s, user_from_item, user_pk,
};

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

// ---- conditions -------------------------------------------------------------------------------

/// The item does not exist yet: a uniqueness marker, a new user's items, a single-use proof.
const NEW_ITEM: &str = "attribute_not_exists(PK)";
/// The item is still there: an identity item about to move to another user.
const STILL_EXISTS: &str = "attribute_exists(PK)";
/// The profile exists and was not merged away: a login or link writes only to a live user.
const LIVE_USER: &str = "attribute_exists(PK) AND attribute_not_exists(merged_into)";
/// `ver` as read: every account-linking write is conditioned on it, so any write in between
/// (a login, a link, another merge) cancels this one and it is planned again.
const SAME_VERSION: &str = "ver = :ver AND attribute_not_exists(merged_into)";
/// The marker still points at the user it is moved away from.
const STILL_OWNED_BY_FROM: &str = "user_id = :from";

// ---- errors -----------------------------------------------------------------------------------

const RETRYABLE_CODES: [&str; 6] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "TransactionInProgressException",
    "InternalServerError",
];

/// A throttle or a transient transport failure is retryable (503); anything else is internal.
fn store_error<E, R>(e: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let retryable = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        other => other.code().is_some_and(|c| RETRYABLE_CODES.contains(&c)),
    };
    if retryable {
        Error::Unavailable(Box::new(e))
    } else {
        Error::internal(e)
    }
}

// ---- retrying writes that meet concurrent writers ---------------------------------------------

/// Attempts of a write that keeps meeting concurrent writers before it answers "retry later".
const MAX_ATTEMPTS: u32 = 6;

/// What one attempt of a write decided.
enum Retry<T> {
    Done(T),
    /// The state moved under this attempt (a concurrent writer): decide again from a fresh read.
    Again,
}

/// Runs `attempt` until it is done or fails, pausing between attempts; after `MAX_ATTEMPTS`
/// the `operation` answers "retry later" (503).
async fn retrying<T, F, Fut>(operation: &str, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Retry<T>>>,
{
    for n in 0..MAX_ATTEMPTS {
        match attempt().await? {
            Retry::Done(value) => return Ok(value),
            Retry::Again => backoff(n).await,
        }
    }
    Err(Error::Unavailable(
        format!("{operation} kept meeting concurrent writers").into(),
    ))
}

/// Small randomised pause before another attempt, so racing callers spread out.
async fn backoff(attempt: u32) {
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 16);
    let ms = (5u64 << attempt.min(5)) + jitter;
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

// ---- transactions -----------------------------------------------------------------------------

/// What a cancelled transaction says about each of its items, by index.
enum TxOutcome {
    Done,
    /// Conditional checks that failed, by item index.
    ConditionFailed(Vec<usize>),
    /// Lost a race with another transaction: try again.
    Conflict,
}

impl DynamoStore {
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<TxOutcome> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(TxOutcome::Done),
            Err(SdkError::ServiceError(ctx))
                if matches!(
                    ctx.err(),
                    TransactWriteItemsError::TransactionCanceledException(_)
                ) =>
            {
                let TransactWriteItemsError::TransactionCanceledException(c) = ctx.err() else {
                    unreachable!("matched above")
                };
                let reasons = c.cancellation_reasons();
                let failed: Vec<usize> = reasons
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                    .map(|(i, _)| i)
                    .collect();
                if !failed.is_empty() {
                    return Ok(TxOutcome::ConditionFailed(failed));
                }
                let conflict = reasons.iter().any(|r| {
                    matches!(
                        r.code(),
                        Some("TransactionConflict") | Some("ThrottlingError")
                    )
                });
                if conflict {
                    Ok(TxOutcome::Conflict)
                } else {
                    Err(Error::internal(SdkError::ServiceError(ctx)))
                }
            }
            Err(e) if e.code() == Some("TransactionConflictException") => Ok(TxOutcome::Conflict),
            Err(e) => Err(store_error(e)),
        }
    }

    /// The one way a whole item is put: `condition` is one of the constants above, or `None`
    /// for an unconditional write.
    fn put_request(&self, item: Item, condition: Option<&str>) -> Result<Put> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(Error::internal)
    }

    /// A put inside a transaction.
    fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem> {
        Ok(TransactWriteItem::builder()
            .put(self.put_request(item, condition)?)
            .build())
    }

    /// A put on its own (admin writes): a failed condition is not a domain answer here.
    async fn put_alone(&self, item: Item, condition: Option<&str>) -> Result<()> {
        let put = self.put_request(item, condition)?;
        self.client
            .put_item()
            .table_name(put.table_name)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    fn update(
        &self,
        key: Item,
        expression: String,
        condition: &str,
        names: HashMap<String, String>,
        values: HashMap<String, AttributeValue>,
    ) -> Result<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    fn delete(&self, key: Item, condition: &str) -> Result<TransactWriteItem> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition)
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

// ---- reads ------------------------------------------------------------------------------------

impl DynamoStore {
    async fn get(&self, key: Item) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        Ok(out.item)
    }

    /// Reads several items in one round trip, keyed by their `PK`.
    async fn batch_get(&self, keys: Vec<Item>) -> Result<HashMap<String, Item>> {
        let request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .map_err(Error::internal)?;
        let out = self
            .client
            .batch_get_item()
            .request_items(&self.table, request)
            .send()
            .await
            .map_err(store_error)?;
        if out.unprocessed_keys.as_ref().is_some_and(|u| !u.is_empty()) {
            return Err(Error::Unavailable(
                "batch read left keys unprocessed".into(),
            ));
        }
        let mut by_pk = HashMap::new();
        for item in out
            .responses
            .and_then(|mut r| r.remove(&self.table))
            .unwrap_or_default()
        {
            by_pk.insert(req_s(&item, "PK")?.to_owned(), item);
        }
        Ok(by_pk)
    }
}

// ---- the login --------------------------------------------------------------------------------

/// The profile still has room for the login's attributes.
const ROOM_FOR_ATTRIBUTES: &str = "size(attrs) <= :cap";
/// The profile is the one read before the write.
const VERSION_AS_READ: &str = "ver = :ver";

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
    let mut condition = LIVE_USER.to_owned();
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
        let user = User {
            id: UserId::new_random(),
            project: cmd.project,
            custom_id: Some(cmd.custom_id.clone()),
            nickname: cmd.nickname.clone(),
            external_id: None,
            partner_id: None,
            attributes: cmd.attributes.clone(),
            session_version: 0,
            version: 1,
            created_at: cmd.now,
            updated_at: cmd.now,
            last_login: cmd.now,
        };
        let mut items = vec![
            self.put(
                marker_item(cmd.project, custom, user.id, cmd.now),
                Some(NEW_ITEM),
            )?,
            self.put(profile_item(&user), Some(NEW_ITEM))?,
            self.put(identity_item(user.id, custom, cmd.now), None)?,
        ];
        if let Some(social) = &cmd.social {
            items.push(self.put(
                marker_item(cmd.project, social, user.id, cmd.now),
                Some(NEW_ITEM),
            )?);
            items.push(self.put(identity_item(user.id, social, cmd.now), None)?);
        }
        match self.transact(items).await? {
            TxOutcome::Done => Ok(Retry::Done(LoginOutcome {
                user,
                created: true,
            })),
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
        let Some(social) = link_social else {
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
                    self.explain_profile_refusal(owner).await
                }
                // A transaction (a merge, a concurrent first login) holds the item: go again.
                Err(e) if e.code() == Some("TransactionConflictException") => Ok(Retry::Again),
                Err(e) => Err(store_error(e)),
            };
        };
        // First time this social identity comes with the login: attach it in the same
        // transaction as the profile update, conditioned on the user as read, whose identities
        // (and attributes) are counted against its limits here.
        let Some(held) = self.get_user(cmd.project, owner).await? else {
            return Ok(Retry::Again);
        };
        check_identity_room(&held.identities, 1)?;
        if !cmd.attributes.is_empty()
            && held.user.attributes.len() > Attribute::MAX_PER_USER - cmd.attributes.len()
        {
            return Err(Error::TooManyAttributes);
        }
        let mut values = update.values;
        values.insert(":ver".into(), n(held.user.version));
        let items = vec![
            self.put(
                marker_item(cmd.project, social, owner, cmd.now),
                Some(NEW_ITEM),
            )?,
            self.put(identity_item(owner, social, cmd.now), None)?,
            self.update(
                profile_key(owner),
                update.expression,
                &format!("{} AND {VERSION_AS_READ}", update.condition),
                update.names,
                values,
            )?,
        ];
        match self.transact(items).await? {
            // The profile was the one read, so the login's changes to it are known.
            TxOutcome::Done => {
                let mut user = held.user;
                cmd.apply_to(&mut user);
                Ok(Retry::Done(LoginOutcome {
                    user,
                    created: false,
                }))
            }
            // The user changed since the read, or the social identity was taken meanwhile:
            // decide again from a fresh read.
            TxOutcome::ConditionFailed(_) | TxOutcome::Conflict => Ok(Retry::Again),
        }
    }

    /// The profile update's condition failed: either the user was merged away meanwhile (look the
    /// custom ID up again) or it has no room for more attributes.
    async fn explain_profile_refusal(&self, owner: UserId) -> Result<Retry<LoginOutcome>> {
        match self.get(profile_key(owner)).await? {
            Some(item) if !is_tombstone(&item) => Err(Error::TooManyAttributes),
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

// ---- single links -----------------------------------------------------------------------------

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
            ];
            match self.transact(items).await? {
                TxOutcome::Done => Ok(Retry::Done(LinkOutcome::Linked)),
                TxOutcome::Conflict => Ok(Retry::Again),
                TxOutcome::ConditionFailed(_) => {
                    Ok(match self.explain_link_refusal(link).await? {
                        Some(outcome) => Retry::Done(outcome),
                        None => Retry::Again,
                    })
                }
            }
        })
        .await
    }
}

// ---- reading users ----------------------------------------------------------------------------

impl UserStore for DynamoStore {
    async fn get_user(&self, project: ProjectId, id: UserId) -> Result<Option<UserWithIdentities>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(user_pk(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        let mut user = None;
        let mut identities = Vec::new();
        for item in out.items() {
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

    async fn session_version(&self, id: UserId) -> Result<Option<u64>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(profile_key(id)))
            .projection_expression("sv, merged_into")
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        match out.item {
            Some(item) if !is_tombstone(&item) => Ok(Some(req_n(&item, "sv")?)),
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

// ---- projects, clients, API keys --------------------------------------------------------------

impl ApiKeyStore for DynamoStore {
    async fn put_api_key(&self, key: &ApiKeyHash, project: ProjectId) -> Result<()> {
        self.put_alone(api_key_item(key, project), Some(NEW_ITEM))
            .await
    }

    async fn api_key_project(&self, key: &ApiKeyHash) -> Result<Option<ProjectId>> {
        self.get(api_key_key(key))
            .await?
            .map(|item| api_key_project_from_item(&item))
            .transpose()
    }
}

impl ClientStore for DynamoStore {
    async fn put_project(&self, p: &Project) -> Result<()> {
        self.put_alone(project_item(p), None).await
    }

    async fn get_project(&self, id: ProjectId) -> Result<Option<Project>> {
        self.get(project_key(id))
            .await?
            .map(|item| project_from_item(id, &item))
            .transpose()
    }

    async fn put_client(&self, c: &ServerClient) -> Result<()> {
        self.put_alone(client_item(c), Some(NEW_ITEM)).await
    }

    async fn get_client(&self, id: &ClientId) -> Result<Option<ServerClient>> {
        self.get(client_key(id))
            .await?
            .map(|item| client_from_item(id, &item))
            .transpose()
    }
}

// ---- account linking --------------------------------------------------------------------------

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
                    return self
                        .merge(&Merge {
                            project: cmd.project,
                            primary: cmd.primary,
                            secondary: owner,
                            primary_session: cmd.primary_session,
                            secondary_session: None,
                            proof: None,
                            now: cmd.now,
                        })
                        .await
                        .map(Retry::Done);
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
                self.update(
                    profile_key(cmd.primary),
                    "SET updated = :now ADD ver :one".into(),
                    SAME_VERSION,
                    HashMap::new(),
                    HashMap::from([
                        (":now".to_owned(), n(cmd.now)),
                        (":one".to_owned(), n(1)),
                        (":ver".to_owned(), n(primary.user.version)),
                    ]),
                )?,
            ];
            match self.transact(items).await? {
                TxOutcome::Done => {
                    let mut out = primary;
                    out.identities.push(cmd.identity.clone());
                    out.identities.sort();
                    out.user.version += 1;
                    out.user.updated_at = cmd.now;
                    Ok(Retry::Done(out))
                }
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
            items.push(self.update(
                profile_key(sec),
                "SET merged_into = :into, updated = :now ADD sv :one, ver :one".into(),
                SAME_VERSION,
                HashMap::new(),
                HashMap::from([
                    (":into".to_owned(), s(p.to_string())),
                    (":now".to_owned(), n(cmd.now)),
                    (":one".to_owned(), n(1)),
                    (":ver".to_owned(), n(secondary.user.version)),
                ]),
            )?);
            let mut sets = vec!["updated = :now".to_owned()];
            let mut values = HashMap::from([
                (":now".to_owned(), n(cmd.now)),
                (":one".to_owned(), n(1)),
                (":ver".to_owned(), n(primary.user.version)),
            ]);
            let after = apply_merge(&primary, &plan, cmd.now);
            if !plan.copied_attributes.is_empty() {
                // The whole map as planned (the write is conditioned on the version read): one
                // value, however many attributes, where one `SET attrs.#k` per attribute could
                // pass DynamoDB's 4 KB limit on an expression.
                sets.push("attrs = :attrs".into());
                values.insert(":attrs".into(), attributes_av(&after.user.attributes));
            }
            if let Some(x) = &plan.external_id {
                sets.push("external_id = :ext".into());
                values.insert(":ext".into(), s(x.as_str()));
            }
            if let Some(x) = &plan.partner_id {
                sets.push("partner_id = :partner".into());
                values.insert(":partner".into(), s(x.as_str()));
            }
            items.push(self.update(
                profile_key(p),
                format!("SET {} ADD sv :one, ver :one", sets.join(", ")),
                SAME_VERSION,
                HashMap::new(),
                values,
            )?);
            let proof_index = items.len();
            if let Some(proof) = &cmd.proof {
                items.push(self.put(
                    link_proof_item(&proof.jti, proof.expires_at),
                    Some(NEW_ITEM),
                )?);
            }
            match self.transact(items).await? {
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
            items.push(self.update(
                profile_key(cmd.primary),
                format!("SET updated = :now ADD sv :one, ver :one{remove}"),
                SAME_VERSION,
                HashMap::new(),
                HashMap::from([
                    (":now".to_owned(), n(cmd.now)),
                    (":one".to_owned(), n(1)),
                    (":ver".to_owned(), n(primary.user.version)),
                ]),
            )?);
            match self.transact(items).await? {
                TxOutcome::Done => Ok(Retry::Done(Unlinked {
                    primary: apply_unlink(&primary, cmd),
                    standalone: standalone.id,
                })),
                TxOutcome::ConditionFailed(_) | TxOutcome::Conflict => Ok(Retry::Again),
            }
        })
        .await
    }
}
