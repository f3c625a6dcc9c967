//! GET /api/v2/users: Auth0's user search, answering exact lookups only — the ones a linking
//! flow needs, which Auth0's own search (eventually consistent) is not suited for. `q` matches
//! `identities.provider` and `identities.user_id` (both, joined by `AND`) and/or `user_id`,
//! answered from the identity's uniqueness marker (one batched read) and the user's partition
//! (one Query), so a link, merge, unlink or delete shows in the very next search. Any other query
//! is refused (400 `invalid_query_string`) with a message naming what is supported.

use idlink::client::Scope;
use idlink::error::{Error, Result};
use idlink::function::App;
use idlink::http::auth0::{Reader, user_json};
use idlink::http::request::{json_response, user_token};
use idlink::http::{Body, Request, Response};
use idlink::identity::{IdentityKey, ProjectId, Provider, Subject, UserId};
use idlink::store::UserStore;
use idlink::store::lookups::{LookupStore, MAX_READS};
use idlink::user::UserWithIdentities;
use lambda_http::RequestExt;
use lambda_http::http::StatusCode;
use serde_json::{Value, json};

/// Auth0's cap on `per_page`, and its default.
pub const MAX_PER_PAGE: u64 = 100;
pub const DEFAULT_PER_PAGE: u64 = 50;
/// Longest `q` read: room for the longest provider and subject, quoted and escaped.
pub const MAX_QUERY_BYTES: usize = 4096;

const SUPPORTED: &str = "idlink answers exact lookups only: q with identities.provider:\"…\" AND \
    identities.user_id:\"…\" and/or user_id:\"…\" (joined by AND), search_engine=v3, page, \
    per_page (0-100) and include_totals";

fn unsupported() -> Error {
    Error::InvalidQuery(SUPPORTED)
}

pub async fn handle<S: LookupStore + UserStore>(
    app: &App<S>,
    req: &Request,
) -> Result<Response<Body>> {
    let ctx = app.tokens.verify_server_token(user_token(req)?)?;
    ctx.require(Scope::ReadUsers)?;
    let search = Search::parse(req)?;
    let found = find(app, ctx.project, &search.query).await?;
    let total = u64::from(found.is_some());
    let start = search.page.saturating_mul(search.per_page);
    let users: Vec<Value> = found
        .iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(search.per_page).unwrap_or(usize::MAX))
        .map(|u| user_json(u, Reader::Server))
        .collect();
    let body = if search.include_totals {
        json!({
            "start": start,
            "limit": search.per_page,
            "length": users.len(),
            "users": users,
            "total": total,
        })
    } else {
        Value::Array(users)
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// The one user an exact query names, if it is a live user of the project. The marker and the
/// user are two reads: a user gone by the second (a merge, unlink or delete in between) makes
/// the marker be read again.
async fn find<S: LookupStore + UserStore>(
    app: &App<S>,
    project: ProjectId,
    query: &Query,
) -> Result<Option<UserWithIdentities>> {
    let named = query.user_id.as_deref().map(|id| UserId::parse(id).ok());
    let Some(identity) = &query.identity else {
        return match named.flatten() {
            Some(id) => app.store.get_user(project, id).await,
            None => Ok(None),
        };
    };
    for _ in 0..MAX_READS {
        let owners = app
            .store
            .owners(project, std::slice::from_ref(identity))
            .await?;
        let Some(owner) = owners.into_iter().flatten().next() else {
            return Ok(None);
        };
        // Both given: the identity's holder must be the user named.
        if named.is_some_and(|n| n != Some(owner)) {
            return Ok(None);
        }
        if let Some(user) = app.store.get_user(project, owner).await? {
            return Ok(Some(user));
        }
    }
    Ok(None)
}

/// The query string, every parameter checked.
#[derive(Debug, PartialEq, Eq)]
struct Search {
    query: Query,
    page: u64,
    per_page: u64,
    include_totals: bool,
}

impl Search {
    fn parse(req: &Request) -> Result<Self> {
        let params = req.query_string_parameters();
        let mut search = Search {
            query: Query::default(),
            page: 0,
            per_page: DEFAULT_PER_PAGE,
            include_totals: false,
        };
        let mut q = None;
        for (name, value) in params.iter() {
            if params.all(name).is_some_and(|all| all.len() > 1) {
                return Err(unsupported());
            }
            match name {
                "q" => q = Some(value),
                "search_engine" if value == "v3" => {}
                "page" => search.page = value.parse().map_err(|_| unsupported())?,
                "per_page" => {
                    search.per_page = value
                        .parse()
                        .ok()
                        .filter(|n| *n <= MAX_PER_PAGE)
                        .ok_or_else(unsupported)?
                }
                "include_totals" => {
                    search.include_totals = value.parse().map_err(|_| unsupported())?
                }
                _ => return Err(unsupported()),
            }
        }
        search.query = Query::parse(q.ok_or_else(unsupported)?)?;
        Ok(search)
    }
}

/// An exact query: an identity (provider and subject), a user id, or both.
#[derive(Debug, Default, PartialEq, Eq)]
struct Query {
    identity: Option<IdentityKey>,
    user_id: Option<String>,
}

impl Query {
    /// `field:value` terms joined by ` AND `, each field at most once; a value quoted (`\"` and
    /// `\\` escaped) or a bare word without Lucene's operators and wildcards.
    fn parse(q: &str) -> Result<Self> {
        if q.len() > MAX_QUERY_BYTES {
            return Err(unsupported());
        }
        let (mut provider, mut subject, mut user_id) = (None, None, None);
        let mut rest = q.trim();
        loop {
            let (field, after) = rest.split_once(':').ok_or_else(unsupported)?;
            let (value, after) = term_value(after)?;
            let slot = match field.trim() {
                "identities.provider" => &mut provider,
                "identities.user_id" => &mut subject,
                "user_id" => &mut user_id,
                _ => return Err(unsupported()),
            };
            if slot.replace(value).is_some() {
                return Err(unsupported());
            }
            rest = after.trim_start();
            if rest.is_empty() {
                break;
            }
            rest = rest
                .strip_prefix("AND")
                .filter(|r| r.starts_with(char::is_whitespace))
                .ok_or_else(unsupported)?
                .trim_start();
        }
        let identity = match (provider, subject) {
            (Some(p), Some(s)) => Some(IdentityKey {
                provider: Provider::parse_any("identities.provider", &p)
                    .map_err(|_| Error::InvalidQuery(OUTSIDE_LIMITS))?,
                subject: Subject::parse(&s).map_err(|_| Error::InvalidQuery(OUTSIDE_LIMITS))?,
            }),
            (None, None) => None,
            _ => return Err(unsupported()),
        };
        if identity.is_none() && user_id.is_none() {
            return Err(unsupported());
        }
        Ok(Self { identity, user_id })
    }
}

const OUTSIDE_LIMITS: &str = "identities.provider must be 1-64 of a-z 0-9 . _ - and \
    identities.user_id 1-256 characters (768 bytes) without control or format characters";

/// Lucene's operators and wildcards: a bare value holding one is not an exact match.
const OPERATORS: &[char] = &[
    '*', '?', '~', '^', '(', ')', '[', ']', '{', '}', '\\', ':', '"', '!', '&', '|', '+',
];

/// The value at the start of `s`, and what follows it.
fn term_value(s: &str) -> Result<(String, &str)> {
    let s = s.trim_start();
    if let Some(quoted) = s.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => value.push(chars.next().ok_or_else(unsupported)?.1),
                '"' => return Ok((value, &quoted[i + 1..])),
                c => value.push(c),
            }
        }
        return Err(unsupported());
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    let bare = &s[..end];
    if bare.is_empty() || bare.contains(OPERATORS) {
        return Err(unsupported());
    }
    Ok((bare.to_owned(), &s[end..]))
}

#[cfg(test)]
mod tests;
