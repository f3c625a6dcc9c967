//! User attributes as Xsolla defines them: `{key, value, attr_type, permission, read_only}`.

use serde_json::Value;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// Editable by the user.
    Client,
    /// Set by the studio's server; read-only for the user.
    Server,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Public,
    Private,
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::Client => "client",
            AttrType::Server => "server",
        }
    }
    pub fn from_str_opt(s: &str) -> Option<Self> {
        match s {
            "client" => Some(AttrType::Client),
            "server" => Some(AttrType::Server),
            _ => None,
        }
    }
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Public => "public",
            Permission::Private => "private",
        }
    }
    pub fn from_str_opt(s: &str) -> Option<Self> {
        match s {
            "public" => Some(Permission::Public),
            "private" => Some(Permission::Private),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    key: String,
    pub attr_type: AttrType,
    pub permission: Permission,
    pub read_only: bool,
    /// The value as the client sent it, as compact JSON (the reference types it `any`).
    value_json: String,
}

impl Attribute {
    pub const MAX_KEY_CHARS: usize = 256;
    pub const MAX_VALUE_BYTES: usize = 1024;
    /// Per request, and per user in total.
    pub const MAX_PER_REQUEST: usize = 50;
    pub const MAX_PER_USER: usize = 200;

    /// Parses one element of the request's `attributes` array; `index` names it in errors.
    pub fn parse(index: usize, item: &Value) -> Result<Self> {
        let field = |name: &str| format!("attributes[{index}].{name}");
        let obj = item
            .as_object()
            .ok_or_else(|| Error::invalid(format!("attributes[{index}]"), "must be an object"))?;
        let text = |name: &str| -> Result<&str> {
            match obj.get(name) {
                None | Some(Value::Null) => Err(Error::missing(field(name))),
                Some(Value::String(s)) => Ok(s),
                Some(_) => Err(Error::invalid(field(name), "must be a string")),
            }
        };
        let key = text("key")?;
        if !Self::is_key(key) {
            return Err(Error::invalid(
                field("key"),
                "must be 1-256 characters of letters, digits, '_' and '-'",
            ));
        }
        let attr_type = AttrType::from_str_opt(text("attr_type")?).ok_or_else(|| {
            Error::invalid(field("attr_type"), "must be \"client\" or \"server\"")
        })?;
        let permission = Permission::from_str_opt(text("permission")?).ok_or_else(|| {
            Error::invalid(field("permission"), "must be \"public\" or \"private\"")
        })?;
        let read_only = match obj.get("read_only") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(Error::invalid(field("read_only"), "must be a boolean")),
        };
        let value = match obj.get("value") {
            None | Some(Value::Null) => return Err(Error::missing(field("value"))),
            Some(v) => v,
        };
        let value_json = value.to_string();
        if value_json.len() > Self::MAX_VALUE_BYTES {
            return Err(Error::invalid(field("value"), "is too large"));
        }
        Ok(Self {
            key: key.to_owned(),
            attr_type,
            permission,
            read_only,
            value_json,
        })
    }

    /// Parses the whole `attributes` array of a login; a key may appear once.
    pub fn parse_list(value: Option<&Value>) -> Result<Vec<Self>> {
        Self::parse_array(value, false, Self::parse, "must be unique per user")
    }

    /// An `attributes` array: at most [`Attribute::MAX_PER_REQUEST`] items, each parsed by
    /// `item`, a key at most once (`duplicate` says why otherwise); absent is empty unless
    /// `required`.
    fn parse_array(
        value: Option<&Value>,
        required: bool,
        item: fn(usize, &Value) -> Result<Self>,
        duplicate: &'static str,
    ) -> Result<Vec<Self>> {
        let items = match value {
            None | Some(Value::Null) if required => return Err(Error::missing("attributes")),
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(Error::invalid("attributes", "must be an array")),
        };
        if items.len() > Self::MAX_PER_REQUEST {
            return Err(Error::invalid("attributes", "has too many elements"));
        }
        let mut parsed: Vec<Self> = Vec::with_capacity(items.len());
        for (i, value) in items.iter().enumerate() {
            let attr = item(i, value)?;
            if parsed.iter().any(|a| a.key == attr.key) {
                return Err(Error::invalid(format!("attributes[{i}].key"), duplicate));
            }
            parsed.push(attr);
        }
        Ok(parsed)
    }

    pub(crate) fn from_trusted(
        key: String,
        attr_type: AttrType,
        permission: Permission,
        read_only: bool,
        value_json: String,
    ) -> Self {
        Self {
            key,
            attr_type,
            permission,
            read_only,
            value_json,
        }
    }

    /// A key as a login (and Auth0's metadata) accepts it: the reference's own example uses
    /// "custom-id", so '-' is allowed beside [A-Za-z0-9_].
    pub fn is_key(key: &str) -> bool {
        !key.is_empty()
            && key.len() <= Self::MAX_KEY_CHARS
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn value_json(&self) -> &str {
        &self.value_json
    }

    pub fn value(&self) -> Value {
        serde_json::from_str(&self.value_json).unwrap_or(Value::Null)
    }

    /// As Xsolla answers an attribute.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "key": self.key,
            "value": self.value(),
            "attr_type": self.attr_type.as_str(),
            "permission": self.permission.as_str(),
            "read_only": self.read_only,
        })
    }

    /// As Xsolla's "get attributes by custom ID" lists one: `value` a string (a value written
    /// as other JSON is its compact JSON text) and `readonly`.
    pub fn to_listed_json(&self) -> Value {
        let value = match self.value() {
            Value::String(s) => s,
            other => other.to_string(),
        };
        serde_json::json!({
            "key": self.key,
            "value": value,
            "attr_type": self.attr_type.as_str(),
            "permission": self.permission.as_str(),
            "readonly": self.read_only,
        })
    }

    /// The user may see all of its client attributes and the public server attributes.
    pub fn visible_to_its_user(&self) -> bool {
        self.attr_type == AttrType::Client || self.permission == Permission::Public
    }

    /// Anyone else (a partner, another player) sees only public attributes.
    pub fn is_public(&self) -> bool {
        self.permission == Permission::Public
    }
}

/// Xsolla's server write of attributes by custom ID
/// (`POST /projects/{project_id}/server_custom_id/{server_custom_id}/attributes`): there `value` is
/// a string of at most 256 characters, `attr_type` defaults to `client`, `permission` to
/// `private`, and a key is `[A-Za-z0-9_]+` (no '-').
impl Attribute {
    pub const MAX_WRITE_VALUE_CHARS: usize = 256;

    /// A key as this write accepts it, in `attributes` or `removing_keys`.
    pub fn is_write_key(key: &str) -> bool {
        !key.is_empty()
            && key.chars().count() <= Self::MAX_KEY_CHARS
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    }

    /// Parses one element of the write's `attributes` array; `index` names it in errors.
    pub fn parse_server_write(index: usize, item: &Value) -> Result<Self> {
        let field = |name: &str| format!("attributes[{index}].{name}");
        let obj = item
            .as_object()
            .ok_or_else(|| Error::invalid(format!("attributes[{index}]"), "must be an object"))?;
        let opt_text = |name: &str| -> Result<Option<&str>> {
            match obj.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(Error::invalid(field(name), "must be a string")),
            }
        };
        let key = opt_text("key")?.ok_or_else(|| Error::missing(field("key")))?;
        if !Self::is_write_key(key) {
            return Err(Error::invalid(
                field("key"),
                "must be 1-256 characters of letters, digits and '_'",
            ));
        }
        let value = opt_text("value")?.ok_or_else(|| Error::missing(field("value")))?;
        if value.chars().count() > Self::MAX_WRITE_VALUE_CHARS {
            return Err(Error::invalid(
                field("value"),
                "must be at most 256 characters",
            ));
        }
        let attr_type = match opt_text("attr_type")? {
            None => AttrType::Client,
            Some(t) => AttrType::from_str_opt(t).ok_or_else(|| {
                Error::invalid(field("attr_type"), "must be \"client\" or \"server\"")
            })?,
        };
        let permission = match opt_text("permission")? {
            None => Permission::Private,
            Some(p) => Permission::from_str_opt(p).ok_or_else(|| {
                Error::invalid(field("permission"), "must be \"public\" or \"private\"")
            })?,
        };
        Ok(Self {
            key: key.to_owned(),
            attr_type,
            permission,
            read_only: false,
            value_json: Value::String(value.to_owned()).to_string(),
        })
    }

    /// Parses the write's whole `attributes` array (required): at most
    /// [`Attribute::MAX_PER_REQUEST`], a key at most once.
    pub fn parse_server_write_list(value: Option<&Value>) -> Result<Vec<Self>> {
        Self::parse_array(
            value,
            true,
            Self::parse_server_write,
            "must be unique per request",
        )
    }

    /// Parses `removing_keys` (optional): at most [`Attribute::MAX_PER_REQUEST`] keys.
    pub fn parse_removing_keys(value: Option<&Value>) -> Result<Vec<String>> {
        let items = match value {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(Error::invalid("removing_keys", "must be an array")),
        };
        if items.len() > Self::MAX_PER_REQUEST {
            return Err(Error::invalid("removing_keys", "has too many elements"));
        }
        let mut keys: Vec<String> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(k) if Self::is_write_key(k) => {
                    if !keys.contains(k) {
                        keys.push(k.clone());
                    }
                }
                _ => {
                    return Err(Error::invalid(
                        format!("removing_keys[{i}]"),
                        "must be 1-256 characters of letters, digits and '_'",
                    ));
                }
            }
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_reference_example() {
        let attrs = Attribute::parse_list(Some(&json!([
            {"attr_type":"server","key":"company","permission":"private","value":"facebook-promo"},
            {"attr_type":"server","key":"custom-id","permission":"private","value":48582}
        ])))
        .unwrap();
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[1].key(), "custom-id");
        assert_eq!(attrs[1].value(), json!(48582));
        assert!(!attrs[0].read_only);
    }

    #[test]
    fn refuses_bad_attributes() {
        let base = json!({"attr_type":"server","key":"k","permission":"private","value":1});
        let with = |k: &str, v: Value| {
            let mut o = base.clone();
            o[k] = v;
            Attribute::parse(0, &o)
        };
        assert!(with("key", json!("bad key")).is_err());
        assert!(with("key", json!("")).is_err());
        assert!(with("key", json!("k".repeat(257))).is_err());
        assert!(with("attr_type", json!("admin")).is_err());
        assert!(with("permission", json!(true)).is_err());
        assert!(with("read_only", json!("yes")).is_err());
        assert!(with("value", Value::Null).is_err());
        assert!(with("value", json!("x".repeat(2000))).is_err());
        assert!(
            Attribute::parse_list(Some(&json!([base, base]))).is_err(),
            "duplicate key"
        );
        assert!(Attribute::parse_list(Some(&json!({}))).is_err());
        let many: Vec<Value> = (0..51)
            .map(|i| json!({"attr_type":"server","key":format!("k{i}"),"permission":"private","value":1}))
            .collect();
        assert!(Attribute::parse_list(Some(&Value::Array(many))).is_err());
    }

    #[test]
    fn parses_the_server_write_shape() {
        let attrs = Attribute::parse_server_write_list(Some(&json!([
            {"key":"level","value":"12"},
            {"key":"tier","value":"gold","attr_type":"server","permission":"public"}
        ])))
        .unwrap();
        assert_eq!(attrs[0].attr_type, AttrType::Client);
        assert_eq!(attrs[0].permission, Permission::Private);
        assert_eq!(attrs[0].value(), json!("12"));
        assert_eq!(attrs[1].attr_type, AttrType::Server);
        assert_eq!(attrs[1].permission, Permission::Public);

        let one = |item: Value| Attribute::parse_server_write(0, &item);
        assert!(one(json!({"key":"custom-id","value":"x"})).is_err(), "'-'");
        assert!(one(json!({"key":"k","value":5})).is_err(), "not a string");
        assert!(one(json!({"key":"k","value":"v".repeat(257)})).is_err());
        assert!(one(json!({"key":"k","value":"v".repeat(256)})).is_ok());
        assert!(one(json!({"key":"k".repeat(257),"value":"v"})).is_err());
        assert!(one(json!({"value":"v"})).is_err());
        assert!(one(json!({"key":"k","value":"v","attr_type":"admin"})).is_err());
        assert!(Attribute::parse_server_write_list(None).is_err());
        assert_eq!(
            Attribute::parse_removing_keys(Some(&json!(["a", "a", "b"]))).unwrap(),
            vec!["a", "b"]
        );
        assert!(Attribute::parse_removing_keys(Some(&json!(["a b"]))).is_err());
        assert!(Attribute::parse_removing_keys(Some(&json!([1]))).is_err());
    }
}
