//! template.yaml and the code must not drift apart: the table the tests create (through the real
//! `create_table`, described back by the local DynamoDB API) must be the table the template
//! deploys, every function and route the workspace serves locally must be deployed, and the
//! OpenAPI document (docs/openapi.yaml) must describe exactly those routes.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;

use serde_yaml::Value;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn template() -> Value {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

fn pairs(list: &Value, a: &str, b: &str) -> BTreeSet<(String, String)> {
    list.as_sequence()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e[a].as_str().unwrap().to_owned(),
                e[b].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_table_tests_create_is_the_table_the_template_deploys() {
    let t = template();
    let props = &t["Resources"]["IdlinkTable"]["Properties"];
    let store = idlink_tests::fresh_store().await;
    let described = store
        .client()
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .unwrap()
        .table
        .unwrap();

    let created_keys: BTreeSet<(String, String)> = described
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        pairs(&props["KeySchema"], "AttributeName", "KeyType"),
        created_keys
    );

    let created_attrs: BTreeSet<(String, String)> = described
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        pairs(
            &props["AttributeDefinitions"],
            "AttributeName",
            "AttributeType"
        ),
        created_attrs
    );
    assert!(described.global_secondary_indexes().is_empty());
    assert!(props.get("GlobalSecondaryIndexes").is_none());

    assert_eq!(
        props["BillingMode"].as_str(),
        Some(idlink::store::schema::BILLING_MODE)
    );
    let ttl = store
        .client()
        .describe_time_to_live()
        .table_name(store.table())
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(
        props["TimeToLiveSpecification"]["AttributeName"].as_str(),
        ttl.attribute_name()
    );
    assert_eq!(
        props["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    let stream = described.stream_specification().unwrap();
    assert!(stream.stream_enabled());
    assert_eq!(
        props["StreamSpecification"]["StreamViewType"].as_str(),
        stream.stream_view_type().map(|v| v.as_str())
    );
    assert_eq!(
        Some(idlink::store::schema::STREAM_VIEW_TYPE),
        stream.stream_view_type().map(|v| v.as_str())
    );
}

/// Every `functions/<name>` crate is deployed as a function built from that binary, with the
/// routes `cargo lambda watch` serves it on locally.
#[test]
fn every_function_and_route_is_deployed() {
    let t = template();
    let cargo: toml_like::Routes = toml_like::routes(&root().join("Cargo.toml"));
    let mut deployed_routes = BTreeSet::new();
    let mut deployed_binaries = BTreeSet::new();
    for (_, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            resource["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda")
        );
        for (_, event) in resource["Properties"]["Events"].as_mapping().unwrap() {
            // The events function is fed by the table's stream, not by a route.
            if event["Type"].as_str() == Some("DynamoDB") {
                assert_eq!(binary, "events");
                continue;
            }
            assert_eq!(event["Type"].as_str(), Some("HttpApi"));
            let p = &event["Properties"];
            deployed_routes.insert((
                p["Method"].as_str().unwrap().to_uppercase(),
                p["Path"].as_str().unwrap().to_owned(),
                binary.clone(),
            ));
        }
        deployed_binaries.insert(binary);
    }
    let crates: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(deployed_binaries, crates);
    assert_eq!(deployed_routes, cargo);
}

/// docs/openapi.yaml documents exactly the routes served: its paths and methods are the routes
/// of Cargo.toml's router, which `every_function_and_route_is_deployed` holds equal to the
/// template's. A new endpoint without its entry in the document (or an entry left behind by a
/// removed one) fails here.
#[test]
fn the_openapi_document_has_exactly_the_routed_paths_and_methods() {
    let text = std::fs::read_to_string(root().join("docs/openapi.yaml")).unwrap();
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        for (method, _) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if METHODS.contains(&method) {
                documented.insert((method.to_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    let routed: BTreeSet<(String, String)> = toml_like::routes(&root().join("Cargo.toml"))
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    assert_eq!(documented, routed);
}

/// The document's `Identifier` pattern refuses exactly what `check_text` refuses beside the
/// lengths: control characters (`char::is_control`, Unicode Cc) and the format characters of
/// `FORMAT_CHARACTERS`; its length bounds are the identifiers' own.
#[test]
fn the_openapi_identifier_pattern_is_the_codes_character_rule() {
    use idlink::identity::{CustomId, ExternalAccountId, FORMAT_CHARACTERS, Subject};
    let text = std::fs::read_to_string(root().join("docs/openapi.yaml")).unwrap();
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    let identifier = &doc["components"]["schemas"]["Identifier"];
    // Cc is exactly U+0000–U+001F and U+007F–U+009F.
    let control: Vec<u32> = (0..=0x10FFFF)
        .filter_map(char::from_u32)
        .filter(|c| c.is_control())
        .map(u32::from)
        .collect();
    let expected_control: Vec<u32> = (0..=0x1F).chain(0x7F..=0x9F).collect();
    assert_eq!(control, expected_control);
    // BMP characters as `\uXXXX` (ECMA-262 and Python alike), others as themselves.
    let one = |c: char| {
        if u32::from(c) <= 0xFFFF {
            format!("\\u{:04x}", u32::from(c))
        } else {
            c.to_string()
        }
    };
    let format: String = FORMAT_CHARACTERS
        .iter()
        .map(|&(lo, hi)| {
            if lo == hi {
                one(lo)
            } else {
                format!("{}-{}", one(lo), one(hi))
            }
        })
        .collect();
    assert_eq!(CustomId::MAX_CHARS, ExternalAccountId::MAX_CHARS);
    assert_eq!(CustomId::MAX_CHARS, Subject::MAX_CHARS);
    let max = CustomId::MAX_CHARS;
    assert_eq!(
        identifier["pattern"].as_str().unwrap(),
        format!("^[^\\x00-\\x1f\\x7f-\\x9f{format}]{{1,{max}}}$")
    );
    assert_eq!(identifier["maxLength"].as_u64(), Some(max as u64));
    assert_eq!(identifier["minLength"].as_u64(), Some(1));
}

/// Reads `[workspace.metadata.lambda.watch.router]` without a TOML dependency: its lines are
/// `"/path" = [{ method = "GET", function = "name" }, …]`.
mod toml_like {
    use std::collections::BTreeSet;

    pub type Routes = BTreeSet<(String, String, String)>;

    fn quoted_after<'a>(s: &'a str, key: &str) -> Option<&'a str> {
        let rest = &s[s.find(key)? + key.len()..];
        let start = rest.find('"')? + 1;
        let end = start + rest[start..].find('"')?;
        Some(&rest[start..end])
    }

    pub fn routes(path: &std::path::Path) -> Routes {
        let text = std::fs::read_to_string(path).unwrap();
        let section = text
            .split("[workspace.metadata.lambda.watch.router]")
            .nth(1)
            .expect("router section");
        let mut out = BTreeSet::new();
        for line in section.lines().take_while(|l| !l.starts_with('[')) {
            let Some((route, targets)) = line.split_once(" = ") else {
                continue;
            };
            let route = route.trim().trim_matches('"').to_owned();
            for target in targets.split('{').skip(1) {
                out.insert((
                    quoted_after(target, "method").unwrap().to_owned(),
                    route.clone(),
                    quoted_after(target, "function").unwrap().to_owned(),
                ));
            }
        }
        out
    }
}

#[test]
fn the_log_level_is_one_of_the_plain_levels() {
    let t = template();
    let param = &t["Parameters"]["LogLevel"];
    let allowed: BTreeSet<&str> = param["AllowedValues"]
        .as_sequence()
        .expect("LogLevel has AllowedValues")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        allowed,
        BTreeSet::from(["error", "warn", "info", "debug", "trace"])
    );
    assert!(allowed.contains(param["Default"].as_str().unwrap()));
}
