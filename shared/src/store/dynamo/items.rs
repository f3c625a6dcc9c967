//! Item mapping: keys, and `AttributeValue` items to and from domain types.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::attribute::{AttrType, Attribute, Permission};
use crate::client::{ClientId, Project, Scope, SecretHash, ServerClient};
use crate::error::{Error, Result};
use crate::identity::{
    CustomId, IdentityKey, MAX_IDENTIFIER_BYTES, Nickname, ProjectId, Provider, UserId,
};
use crate::partner::ApiKeyHash;
use crate::store::accounts::MAX_IDENTITIES_PER_USER;
use crate::user::{Ban, User};

pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) const PROFILE: &str = "PROFILE";
const MARKER_SK: &str = "IDENT";

// ---- keys -------------------------------------------------------------------------------------

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn user_pk(id: UserId) -> String {
    format!("USER#{id}")
}

fn ident_sk(key: &IdentityKey) -> String {
    format!("IDENT#{}#{}", key.provider.as_str(), key.subject.as_str())
}

pub(super) fn marker_pk(project: ProjectId, key: &IdentityKey) -> String {
    format!(
        "IDENT#{project}#{}#{}",
        key.provider.as_str(),
        key.subject.as_str()
    )
}

/// DynamoDB's key limits, in UTF-8 bytes.
const MAX_PARTITION_KEY_BYTES: usize = 2048;
const MAX_SORT_KEY_BYTES: usize = 1024;
/// The longest keys built from input, from the parsers' limits: a project is a hyphenated UUID,
/// a provider at most 64 ASCII bytes, a subject at most `MAX_IDENTIFIER_BYTES`.
const LONGEST_MARKER_PK: usize =
    "IDENT#".len() + 36 + "#".len() + Provider::MAX_CHARS + "#".len() + MAX_IDENTIFIER_BYTES;
const LONGEST_IDENT_SK: usize =
    "IDENT#".len() + Provider::MAX_CHARS + "#".len() + MAX_IDENTIFIER_BYTES;
const _: () = assert!(LONGEST_MARKER_PK <= MAX_PARTITION_KEY_BYTES);
const _: () = assert!(LONGEST_IDENT_SK <= MAX_SORT_KEY_BYTES);

/// DynamoDB's item limit and the most one Query answers before it pages.
const MAX_ITEM_BYTES: usize = 400 * 1024;
const MAX_QUERY_BYTES: usize = 1024 * 1024;
/// Generous upper bounds of the items a user's partition holds, from the parsers' limits (an
/// attribute name counts its bytes, a map entry or number at most ~25 bytes of overhead).
const LARGEST_ATTRIBUTE_BYTES: usize =
    Attribute::MAX_KEY_CHARS + Attribute::MAX_VALUE_BYTES + "tserverpprivateroov".len() + 64;
const LARGEST_PROFILE_BYTES: usize = Attribute::MAX_PER_USER * LARGEST_ATTRIBUTE_BYTES
    + 2 * MAX_IDENTIFIER_BYTES // custom_id, external_id
    + Nickname::MAX_BYTES
    + 4 * Ban::MAX_REASON_CHARS
    + 4096; // keys, project, partner hash, counters, times, attribute names
const LARGEST_IDENTITY_ITEM_BYTES: usize = 2 * LONGEST_IDENT_SK + "USER#".len() + 36 + 256;
const _: () = assert!(LARGEST_PROFILE_BYTES <= MAX_ITEM_BYTES);
const _: () = assert!(
    LARGEST_PROFILE_BYTES + MAX_IDENTITIES_PER_USER * LARGEST_IDENTITY_ITEM_BYTES
        <= MAX_QUERY_BYTES
);

pub(super) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("PK".to_owned(), s(pk)), ("SK".to_owned(), s(sk))])
}

pub(super) fn profile_key(id: UserId) -> Item {
    key(user_pk(id), PROFILE)
}

pub(super) fn marker_key(project: ProjectId, ident: &IdentityKey) -> Item {
    key(marker_pk(project, ident), MARKER_SK)
}

pub(super) fn identity_key(owner: UserId, ident: &IdentityKey) -> Item {
    key(user_pk(owner), &ident_sk(ident))
}

pub(super) fn project_key(id: ProjectId) -> Item {
    key(format!("PROJECT#{id}"), "PROJECT")
}

pub(super) fn client_key(id: &ClientId) -> Item {
    key(format!("CLIENT#{}", id.as_str()), "CLIENT")
}

pub(super) fn api_key_key(hash: &ApiKeyHash) -> Item {
    key(format!("APIKEY#{}", hash.as_str()), "APIKEY")
}

// ---- reading attributes -----------------------------------------------------------------------

pub(super) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

pub(super) fn req_s<'a>(item: &'a Item, name: &str) -> Result<&'a str> {
    get_s(item, name).ok_or_else(|| corrupt(name))
}

fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<Option<T>> {
    match item.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_n()
            .ok()
            .and_then(|x| x.parse().ok())
            .map(Some)
            .ok_or_else(|| corrupt(name)),
    }
}

pub(super) fn req_n<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T> {
    get_n(item, name)?.ok_or_else(|| corrupt(name))
}

fn corrupt(name: &str) -> Error {
    Error::internal(format!("stored item has a missing or malformed `{name}`"))
}

fn project_of(item: &Item) -> Result<ProjectId> {
    ProjectId::parse(req_s(item, "project")?).map_err(|_| corrupt("project"))
}

// ---- users and identities ---------------------------------------------------------------------

pub(super) fn attribute_to_av(a: &Attribute) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("t".to_owned(), s(a.attr_type.as_str())),
        ("p".to_owned(), s(a.permission.as_str())),
        ("ro".to_owned(), AttributeValue::Bool(a.read_only)),
        ("v".to_owned(), s(a.value_json())),
    ]))
}

pub(super) fn attributes_av(attributes: &[Attribute]) -> AttributeValue {
    AttributeValue::M(
        attributes
            .iter()
            .map(|a| (a.key().to_owned(), attribute_to_av(a)))
            .collect(),
    )
}

fn attribute_from_av(k: &str, v: &AttributeValue) -> Result<Attribute> {
    let m = v.as_m().map_err(|_| corrupt("attrs"))?;
    let attr_type = get_s(m, "t")
        .and_then(AttrType::from_str_opt)
        .ok_or_else(|| corrupt("attrs.t"))?;
    let permission = get_s(m, "p")
        .and_then(Permission::from_str_opt)
        .ok_or_else(|| corrupt("attrs.p"))?;
    let read_only = m
        .get("ro")
        .and_then(|b| b.as_bool().ok())
        .copied()
        .unwrap_or(false);
    Ok(Attribute::from_trusted(
        k.to_owned(),
        attr_type,
        permission,
        read_only,
        req_s(m, "v")?.to_owned(),
    ))
}

pub(super) fn profile_item(u: &User) -> Item {
    let mut item = profile_key(u.id);
    item.insert("kind".into(), s("user"));
    item.insert("project".into(), s(u.project.to_string()));
    if let Some(c) = &u.custom_id {
        item.insert("custom_id".into(), s(c.as_str()));
    }
    if let Some(nick) = &u.nickname {
        item.insert("nickname".into(), s(nick.as_str()));
    }
    if let Some(x) = &u.external_id {
        item.insert("external_id".into(), s(x.as_str()));
    }
    if let Some(x) = &u.partner_id {
        item.insert("partner_id".into(), s(x.as_str()));
    }
    item.insert("attrs".into(), attributes_av(&u.attributes));
    item.insert("sv".into(), n(u.session_version));
    item.insert("ver".into(), n(u.version));
    item.insert("created".into(), n(u.created_at));
    item.insert("updated".into(), n(u.updated_at));
    item.insert("last_login".into(), n(u.last_login));
    if let Some(ban) = &u.ban {
        item.extend(ban_values(ban).into_iter().flatten());
    }
    item
}

/// The profile attributes a ban is stored in (`ban_from` present means banned); `None` for one
/// the ban leaves unset, which a write REMOVEs.
pub(super) const BAN_ATTRIBUTES: [&str; 3] = ["ban_from", "ban_to", "ban_reason"];

pub(super) fn ban_values(ban: &Ban) -> [Option<(String, AttributeValue)>; 3] {
    [
        Some(("ban_from".to_owned(), n(ban.from))),
        ban.to.map(|to| ("ban_to".to_owned(), n(to))),
        ban.reason
            .as_ref()
            .map(|r| ("ban_reason".to_owned(), s(r.as_str()))),
    ]
}

/// The ban of a profile (or of the projection a session check reads).
pub(super) fn ban_from_item(item: &Item) -> Result<Option<Ban>> {
    let Some(from) = get_n(item, "ban_from")? else {
        return Ok(None);
    };
    Ok(Some(Ban {
        from,
        to: get_n(item, "ban_to")?,
        reason: get_s(item, "ban_reason").map(str::to_owned),
    }))
}

/// `None` for a tombstone (a user merged into another).
pub(super) fn user_from_item(item: &Item) -> Result<Option<User>> {
    if is_tombstone(item) {
        return Ok(None);
    }
    let id = req_s(item, "PK")?
        .strip_prefix("USER#")
        .ok_or_else(|| corrupt("PK"))?;
    let mut attributes = Vec::new();
    if let Some(AttributeValue::M(m)) = item.get("attrs") {
        for (k, v) in m {
            attributes.push(attribute_from_av(k, v)?);
        }
        attributes.sort_by(|a, b| a.key().cmp(b.key()));
    }
    Ok(Some(User {
        id: UserId::parse(id).map_err(|_| corrupt("PK"))?,
        project: project_of(item)?,
        custom_id: get_s(item, "custom_id").map(|c| CustomId::from_trusted(c.to_owned())),
        nickname: get_s(item, "nickname").map(|x| Nickname::from_trusted(x.to_owned())),
        external_id: get_s(item, "external_id").map(str::to_owned),
        partner_id: get_s(item, "partner_id").map(str::to_owned),
        attributes,
        session_version: req_n(item, "sv")?,
        version: req_n(item, "ver")?,
        created_at: req_n(item, "created")?,
        updated_at: req_n(item, "updated")?,
        last_login: req_n(item, "last_login")?,
        ban: ban_from_item(item)?,
    }))
}

/// A profile merged into another user.
pub(super) fn is_tombstone(item: &Item) -> bool {
    item.contains_key("merged_into")
}

pub(super) fn identity_item(owner: UserId, ident: &IdentityKey, now: i64) -> Item {
    let mut item = identity_key(owner, ident);
    item.insert("kind".into(), s("identity"));
    item.insert("provider".into(), s(ident.provider.as_str()));
    item.insert("subject".into(), s(ident.subject.as_str()));
    item.insert("linked".into(), n(now));
    item
}

pub(super) fn identity_from_item(item: &Item) -> Result<IdentityKey> {
    Ok(IdentityKey::from_trusted(
        req_s(item, "provider")?.to_owned(),
        req_s(item, "subject")?.to_owned(),
    ))
}

pub(super) fn marker_item(
    project: ProjectId,
    ident: &IdentityKey,
    owner: UserId,
    now: i64,
) -> Item {
    let mut item = marker_key(project, ident);
    item.insert("kind".into(), s("marker"));
    item.insert("user_id".into(), s(owner.to_string()));
    item.insert("created".into(), n(now));
    item
}

/// The user a uniqueness marker points at.
pub(super) fn owner_of(item: &Item) -> Result<UserId> {
    UserId::parse(req_s(item, "user_id")?).map_err(|_| corrupt("user_id"))
}

/// A single-use link proof (`link_with`), kept until the token would have expired anyway.
pub(super) fn link_proof_item(jti: &str, expires_at: i64) -> Item {
    let mut item = key(format!("LINKPROOF#{jti}"), "LINKPROOF");
    item.insert("kind".into(), s("link_proof"));
    item.insert(crate::store::schema::TTL_ATTRIBUTE.into(), n(expires_at));
    item
}

// ---- projects, clients, API keys --------------------------------------------------------------

pub(super) fn project_item(p: &Project) -> Item {
    let mut item = project_key(p.id);
    item.insert("kind".into(), s("project"));
    item.insert("name".into(), s(p.name.as_str()));
    if let Some(x) = p.publisher_id {
        item.insert("publisher_id".into(), n(x));
    }
    if let Some(x) = p.publisher_project_id {
        item.insert("publisher_project_id".into(), n(x));
    }
    item
}

/// The project's id comes from the key it was read by.
pub(super) fn project_from_item(id: ProjectId, item: &Item) -> Result<Project> {
    Ok(Project {
        id,
        name: req_s(item, "name")?.to_owned(),
        publisher_id: get_n(item, "publisher_id")?,
        publisher_project_id: get_n(item, "publisher_project_id")?,
    })
}

pub(super) fn client_item(c: &ServerClient) -> Item {
    let mut item = client_key(&c.id);
    item.insert("kind".into(), s("client"));
    item.insert("project".into(), s(c.project.to_string()));
    item.insert(
        "secret_hash".into(),
        AttributeValue::B(c.secret_hash.as_bytes().to_vec().into()),
    );
    item.insert("scopes".into(), s(Scope::join(&c.scopes)));
    item
}

/// The client's id comes from the key it was read by.
pub(super) fn client_from_item(id: &ClientId, item: &Item) -> Result<ServerClient> {
    let hash = item
        .get("secret_hash")
        .and_then(|v| v.as_b().ok())
        .ok_or_else(|| corrupt("secret_hash"))?;
    Ok(ServerClient {
        id: id.clone(),
        project: project_of(item)?,
        secret_hash: SecretHash::from_bytes(hash.as_ref().to_vec()),
        scopes: Scope::parse_list(req_s(item, "scopes")?).map_err(|_| corrupt("scopes"))?,
    })
}

pub(super) fn api_key_item(hash: &ApiKeyHash, project: ProjectId) -> Item {
    let mut item = api_key_key(hash);
    item.insert("kind".into(), s("api_key"));
    item.insert("project".into(), s(project.to_string()));
    item
}

pub(super) fn api_key_project_from_item(item: &Item) -> Result<ProjectId> {
    project_of(item)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::identity::Subject;

    #[test]
    fn the_longest_identity_makes_keys_within_dynamodbs_limits() {
        let identity = IdentityKey::social(
            &"p".repeat(Provider::MAX_CHARS),
            &serde_json::json!("\u{1D11E}".repeat(MAX_IDENTIFIER_BYTES / 4)),
        )
        .unwrap();
        let (pk, sk) = (
            marker_pk(ProjectId::new_random(), &identity),
            ident_sk(&identity),
        );
        assert_eq!((pk.len(), sk.len()), (LONGEST_MARKER_PK, LONGEST_IDENT_SK));
        assert!(pk.len() <= MAX_PARTITION_KEY_BYTES && sk.len() <= MAX_SORT_KEY_BYTES);
        assert!(user_pk(UserId::new_random()).len() <= MAX_PARTITION_KEY_BYTES);
    }

    fn full_user() -> User {
        // Sorted by key: that is the order a profile is read back in.
        let attributes = Attribute::parse_list(Some(&json!([
            {"attr_type":"server","key":"company","permission":"private","value":"promo"},
            {"attr_type":"client","key":"level","permission":"public","value":48582,
             "read_only":true},
        ])))
        .unwrap();
        User {
            id: UserId::new_random(),
            project: ProjectId::new_random(),
            custom_id: Some(CustomId::parse("player-1").unwrap()),
            nickname: Some(Nickname::parse("Ünïcode nick").unwrap()),
            external_id: Some("ext-42".to_owned()),
            partner_id: Some("c6fefe8d7ac0f4113876d634e8d15f65".to_owned()),
            attributes,
            session_version: 3,
            version: 17,
            created_at: 1_700_000_000,
            updated_at: 1_700_000_100,
            last_login: 1_700_000_200,
            ban: Some(Ban {
                from: 1_700_000_300,
                to: Some(1_700_086_700),
                reason: Some("Cheating — ×2".to_owned()),
            }),
        }
    }

    #[test]
    fn a_user_with_everything_set_round_trips() {
        let user = full_user();
        assert_eq!(user.attributes.len(), 2);

        let back = user_from_item(&profile_item(&user)).unwrap();

        assert_eq!(back, Some(user));
    }

    #[test]
    fn a_user_with_nothing_optional_round_trips() {
        let user = User {
            custom_id: None,
            nickname: None,
            external_id: None,
            partner_id: None,
            attributes: Vec::new(),
            ban: None,
            ..full_user()
        };

        let back = user_from_item(&profile_item(&user)).unwrap();

        assert_eq!(back, Some(user));
    }

    #[test]
    fn a_tombstone_reads_as_no_user() {
        let mut item = profile_item(&full_user());
        item.insert("merged_into".into(), s(UserId::new_random().to_string()));

        assert_eq!(user_from_item(&item).unwrap(), None);
    }

    #[test]
    fn identities_and_markers_round_trip() {
        let (owner, project) = (UserId::new_random(), ProjectId::new_random());
        let identities = [
            IdentityKey::custom_id(&CustomId::parse("player-1").unwrap()),
            IdentityKey::social("google-oauth2", &json!("1234567890")).unwrap(),
            IdentityKey {
                provider: Provider::partner(),
                subject: Subject::parse("ab12").unwrap(),
            },
        ];
        for ident in identities {
            let identity = identity_item(owner, &ident, 5);
            let marker = marker_item(project, &ident, owner, 5);

            assert_eq!(identity_from_item(&identity).unwrap(), ident);
            assert_eq!(owner_of(&marker).unwrap(), owner);
            assert_eq!(identity["PK"], s(user_pk(owner)));
            assert_eq!(marker["PK"], s(marker_pk(project, &ident)));
        }
    }

    #[test]
    fn projects_clients_and_api_keys_round_trip() {
        let project = Project {
            id: ProjectId::new_random(),
            name: "Game".to_owned(),
            publisher_id: Some(7),
            publisher_project_id: Some(301),
        };
        let bare = Project {
            publisher_id: None,
            publisher_project_id: None,
            ..project.clone()
        };
        let client = ServerClient {
            id: ClientId::new_random(),
            project: project.id,
            secret_hash: SecretHash::of("secret"),
            scopes: Scope::parse_list("users:login users:link read:users").unwrap(),
        };
        let key = ApiKeyHash::of("partner-key");

        for p in [project.clone(), bare] {
            assert_eq!(project_from_item(p.id, &project_item(&p)).unwrap(), p);
        }
        assert_eq!(
            client_from_item(&client.id, &client_item(&client)).unwrap(),
            client
        );
        let api_key = api_key_item(&key, project.id);
        assert_eq!(api_key_project_from_item(&api_key).unwrap(), project.id);
        assert_eq!(api_key["PK"], api_key_key(&key)["PK"]);
    }

    #[test]
    fn a_malformed_item_is_an_error_not_a_panic() {
        let mut item = profile_item(&full_user());
        item.insert("ver".into(), s("not a number"));

        assert!(user_from_item(&item).is_err());
    }
}
