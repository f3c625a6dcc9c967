//! Identity model: everything a user can be known by is an identity `(project, provider, subject)`.
//! Types here parse their input; once a value exists it is valid.

use std::fmt;

use crate::error::{Error, Result};

/// Rejects empty, too long (in characters or in UTF-8 bytes), control and format characters.
fn check_text(field: &str, value: &str, max_chars: usize, max_bytes: usize) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max_chars {
        return Err(Error::invalid(field, "is too long"));
    }
    if value.len() > max_bytes {
        return Err(Error::invalid(field, "is too long in UTF-8 bytes"));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    if value.chars().any(is_format) {
        return Err(Error::invalid(
            field,
            "must not contain invisible format characters (bidirectional or zero-width)",
        ));
    }
    Ok(())
}

/// Unicode general category Cf (format) as of Unicode 18.0: bidirectional overrides and
/// isolates, zero-width characters, the BOM, tags. A table of 21 ranges rather than a
/// general-category crate, whose table of every category would add ~40 KB to each binary; a
/// test holds it to `unicode-properties` over every code point.
pub const FORMAT_CHARACTERS: [(char, char); 21] = [
    ('\u{ad}', '\u{ad}'),
    ('\u{600}', '\u{605}'),
    ('\u{61c}', '\u{61c}'),
    ('\u{6dd}', '\u{6dd}'),
    ('\u{70f}', '\u{70f}'),
    ('\u{890}', '\u{891}'),
    ('\u{8e2}', '\u{8e2}'),
    ('\u{180e}', '\u{180e}'),
    ('\u{200b}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206f}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{fff9}', '\u{fffb}'),
    ('\u{110bd}', '\u{110bd}'),
    ('\u{110cd}', '\u{110cd}'),
    ('\u{13430}', '\u{1343f}'),
    ('\u{1bca0}', '\u{1bca3}'),
    ('\u{1d173}', '\u{1d17a}'),
    ('\u{e0001}', '\u{e0001}'),
    ('\u{e0020}', '\u{e007f}'),
];

fn is_format(c: char) -> bool {
    FORMAT_CHARACTERS
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

fn parse_uuid(field: &str, value: &str) -> Result<uuid::Uuid> {
    // Only the canonical hyphenated form: one spelling per id keeps keys unique.
    if value.len() != 36 {
        return Err(Error::invalid(field, "must be a UUID"));
    }
    uuid::Uuid::try_parse(value)
        .ok()
        .filter(|u| u.hyphenated().to_string() == value)
        .ok_or_else(|| Error::invalid(field, "must be a UUID"))
}

macro_rules! uuid_id {
    ($(#[$m:meta])* $name:ident, $field:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(uuid::Uuid);

        impl $name {
            pub fn new_random() -> Self {
                Self(uuid::Uuid::new_v4())
            }
            pub fn parse(value: &str) -> Result<Self> {
                parse_uuid($field, value).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }
    };
}

uuid_id!(
    /// A login project: the unit of isolation between studios' games.
    ProjectId,
    "projectId"
);
uuid_id!(
    /// idlink's own user id (the `sub` of user tokens).
    UserId,
    "user_id"
);

/// Identifiers become parts of DynamoDB keys (`IDENT#<project>#<provider>#<subject>`), whose
/// limits are bytes: 256 characters of the Basic Multilingual Plane (3 bytes each at most) fit,
/// 256 four-byte characters do not. Keys built from it are proved to fit in store/dynamo/items.rs.
pub const MAX_IDENTIFIER_BYTES: usize = 768;

macro_rules! text_id {
    ($(#[$m:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;
            pub const MAX_BYTES: usize = MAX_IDENTIFIER_BYTES;
            pub fn parse(value: &str) -> Result<Self> {
                check_text($field, value, Self::MAX_CHARS, Self::MAX_BYTES)?;
                Ok(Self(value.to_owned()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

text_id!(
    /// The studio's own ID for a player (`server_custom_id`): 1–256 characters and at most 768
    /// UTF-8 bytes, no control or format characters.
    CustomId,
    "server_custom_id",
    256
);
text_id!(
    /// The game's own account ID linked to a user (`external_account_id`); set once, never changed.
    ExternalAccountId,
    "external_account_id",
    256
);
impl CustomId {
    /// A custom ID as the store holds it: parsed once on the way in, not again on the way out, so
    /// a rule tightened later never makes an existing user unreadable.
    pub(crate) fn from_trusted(value: String) -> Self {
        Self(value)
    }
}

impl Subject {
    /// A keyed hash computed by idlink itself (a partner identifier's HMAC).
    pub(crate) fn from_digest(value: String) -> Self {
        Self(value)
    }
}

text_id!(
    /// A provider's user ID (a social profile's `user_id`, an Auth0 identity's `user_id`).
    Subject,
    "user_id",
    256
);

/// Where an identity comes from: `server_custom_id`, `external_id`, `partner`, or a platform such
/// as `xbox` or `google-oauth2`. Lower-case letters, digits, `.`, `_`, `-`; at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Provider(String);

impl Provider {
    pub const CUSTOM_ID: &'static str = "server_custom_id";
    pub const EXTERNAL_ID: &'static str = "external_id";
    pub const PARTNER: &'static str = "partner";
    /// Providers idlink assigns itself; a client may not claim them through a social profile.
    pub const RESERVED: [&'static str; 3] = [Self::CUSTOM_ID, Self::EXTERNAL_ID, Self::PARTNER];
    pub const MAX_CHARS: usize = 64;

    /// Parses a provider named by a client for a new identity (a social profile); platform
    /// names are case-insensitive, so they are lower-cased to keep one identity per account.
    pub fn parse_external(field: &str, value: &str) -> Result<Self> {
        let provider = Self::parse_any(field, value)?;
        if Self::RESERVED.contains(&provider.as_str()) {
            return Err(Error::invalid(field, "names a provider reserved by idlink"));
        }
        Ok(provider)
    }

    /// Parses a provider that names an existing identity, idlink's own providers included.
    pub fn parse_any(field: &str, value: &str) -> Result<Self> {
        let lower = value.to_ascii_lowercase();
        if lower.is_empty() {
            return Err(Error::invalid(field, "must not be empty"));
        }
        if lower.len() > Self::MAX_CHARS {
            return Err(Error::invalid(field, "is too long"));
        }
        if !lower.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        }) {
            return Err(Error::invalid(
                field,
                "may contain only letters, digits, '.', '_' and '-'",
            ));
        }
        Ok(Self(lower))
    }

    pub fn custom_id() -> Self {
        Self(Self::CUSTOM_ID.to_owned())
    }

    pub fn external_id() -> Self {
        Self(Self::EXTERNAL_ID.to_owned())
    }

    pub fn partner() -> Self {
        Self(Self::PARTNER.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One identity of a user within a project.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityKey {
    pub provider: Provider,
    pub subject: Subject,
}

impl IdentityKey {
    pub fn custom_id(id: &CustomId) -> Self {
        Self {
            provider: Provider::custom_id(),
            subject: Subject(id.0.clone()),
        }
    }

    pub fn external_id(id: &ExternalAccountId) -> Self {
        Self {
            provider: Provider::external_id(),
            subject: Subject(id.0.clone()),
        }
    }

    /// A JSON string or integer, as Xsolla's own example sends `"user_id": 4352354`.
    pub fn social(platform: &str, user_id: &serde_json::Value) -> Result<Self> {
        let provider = Provider::parse_external("social_profile.platform", platform)?;
        let subject = match user_id {
            serde_json::Value::String(s) => Subject::parse(s),
            serde_json::Value::Number(n) if n.is_u64() || n.is_i64() => {
                Subject::parse(&n.to_string())
            }
            serde_json::Value::Null => return Err(Error::missing("social_profile.user_id")),
            _ => Err(Error::invalid("user_id", "must be a string or an integer")),
        }
        .map_err(|e| match e {
            Error::InvalidParameter { reason, .. } => {
                Error::invalid("social_profile.user_id", reason)
            }
            other => other,
        })?;
        Ok(Self { provider, subject })
    }

    pub(crate) fn from_trusted(provider: String, subject: String) -> Self {
        Self {
            provider: Provider(provider),
            subject: Subject(subject),
        }
    }
}

/// A player's display name: trimmed, non-empty, at most 255 characters (so at most 1020 UTF-8
/// bytes), no control or format characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nickname(String);

impl Nickname {
    pub const MAX_CHARS: usize = 255;
    pub const MAX_BYTES: usize = Self::MAX_CHARS * 4;
    pub fn parse(value: &str) -> Result<Self> {
        let trimmed = value.trim();
        check_text(
            "user_profile.nickname",
            trimmed,
            Self::MAX_CHARS,
            Self::MAX_BYTES,
        )?;
        Ok(Self(trimmed.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub(crate) fn from_trusted(value: String) -> Self {
        Self(value)
    }
}

/// Custom data echoed into the `payload` claim. Xsolla recommends under 500 characters; we cap it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload(String);

impl Payload {
    pub const MAX_CHARS: usize = 1000;
    /// Counted in bytes too: the payload rides in every token, and a token must stay under the
    /// header size idlink accepts (see the token tests' worst case).
    pub const MAX_BYTES: usize = 1000;
    pub fn parse(value: &str) -> Result<Self> {
        if value.chars().count() > Self::MAX_CHARS {
            return Err(Error::invalid("payload", "is too long"));
        }
        if value.len() > Self::MAX_BYTES {
            return Err(Error::invalid("payload", "is too long in UTF-8 bytes"));
        }
        if value.chars().any(char::is_control) {
            return Err(Error::invalid(
                "payload",
                "must not contain control characters",
            ));
        }
        Ok(Self(value.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn custom_id_bounds() {
        assert!(CustomId::parse("1234567890asdfghjkl").is_ok());
        assert!(
            CustomId::parse(&"é".repeat(256)).is_ok(),
            "limit counts characters"
        );
        assert!(CustomId::parse(&"a".repeat(257)).is_err());
        assert!(CustomId::parse("").is_err());
        assert!(CustomId::parse("a\u{0}b").is_err());
        assert!(CustomId::parse("line\nbreak").is_err());
    }

    #[test]
    fn identifiers_are_bounded_in_utf8_bytes() {
        let clef = "\u{1D11E}"; // four bytes
        assert_eq!(MAX_IDENTIFIER_BYTES, 768);
        assert!(
            CustomId::parse(&"\u{4E2D}".repeat(256)).is_ok(),
            "256 BMP characters fit"
        );
        assert!(CustomId::parse(&clef.repeat(192)).is_ok(), "768 bytes fit");
        let over = clef.repeat(256);
        let refused = |r: Result<()>| match r {
            Err(Error::InvalidParameter { reason, .. }) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        };
        for parsed in [
            CustomId::parse(&over).map(drop),
            ExternalAccountId::parse(&over).map(drop),
            Subject::parse(&over).map(drop),
            CustomId::parse(&format!("{}a", clef.repeat(192))).map(drop),
        ] {
            assert_eq!(refused(parsed), "is too long in UTF-8 bytes");
        }
        let social = IdentityKey::social("steam", &json!(over));
        assert!(
            matches!(social, Err(Error::InvalidParameter { ref field, .. }) if field == "social_profile.user_id"),
            "{social:?}"
        );
    }

    #[test]
    fn identifiers_refuse_format_characters() {
        for c in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{200F}',
            '\u{202A}',
            '\u{202E}',
            '\u{2060}',
            '\u{2064}',
            '\u{2066}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{061C}',
            '\u{00AD}',
            '\u{E0041}',
        ] {
            let value = format!("a{c}b");
            assert!(CustomId::parse(&value).is_err(), "{c:?}");
            assert!(ExternalAccountId::parse(&value).is_err(), "{c:?}");
            assert!(Subject::parse(&value).is_err(), "{c:?}");
            assert!(Nickname::parse(&value).is_err(), "{c:?}");
        }
        // Visible characters next to them are fine: joiners inside emoji are refused, the
        // emoji themselves are not.
        assert!(CustomId::parse("\u{1F600}\u{05D0}\u{0627}").is_ok());
        assert!(CustomId::parse("\u{200D}").is_err());
    }

    #[test]
    fn format_table_is_general_category_cf() {
        use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
        assert!(
            FORMAT_CHARACTERS.windows(2).all(|w| w[0].1 < w[1].0),
            "sorted, disjoint"
        );
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(
                is_format(c),
                c.general_category() == GeneralCategory::Format,
                "U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn uuid_ids_accept_only_canonical_form() {
        let id = ProjectId::new_random().to_string();
        assert_eq!(ProjectId::parse(&id).unwrap().to_string(), id);
        assert!(ProjectId::parse(&id.to_uppercase()).is_err());
        assert!(ProjectId::parse(&id.replace('-', "")).is_err());
        assert!(UserId::parse("not-a-uuid").is_err());
    }

    #[test]
    fn social_profile_takes_string_or_integer_user_id() {
        let a = IdentityKey::social("xbox", &json!(4352354)).unwrap();
        let b = IdentityKey::social("XBOX", &json!("4352354")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.provider.as_str(), "xbox");
        assert!(IdentityKey::social("xbox", &json!(1.5)).is_err());
        assert!(IdentityKey::social("xbox", &json!({"a": 1})).is_err());
        assert!(IdentityKey::social("", &json!("1")).is_err());
        assert!(IdentityKey::social("x box", &json!("1")).is_err());
    }

    #[test]
    fn reserved_providers_cannot_be_claimed() {
        for p in Provider::RESERVED {
            assert!(
                IdentityKey::social(p, &json!("1")).is_err(),
                "{p} must be refused"
            );
        }
    }

    #[test]
    fn nickname_is_trimmed_and_non_empty() {
        assert_eq!(
            Nickname::parse("  John_Doe_1337 ").unwrap().as_str(),
            "John_Doe_1337"
        );
        assert!(Nickname::parse("   ").is_err());
        assert!(Nickname::parse(&"n".repeat(256)).is_err());
    }
}
