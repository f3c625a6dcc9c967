//! Compiles docs/openapi.yaml (the one document, kept in YAML for its readers) into the JSON the
//! function serves, so the binary carries it ready to send and no YAML parser runs in Lambda.
#![allow(clippy::expect_used)]

fn main() {
    let source = "../../docs/openapi.yaml";
    println!("cargo:rerun-if-changed={source}");
    let text = std::fs::read_to_string(source).expect("docs/openapi.yaml readable");
    let doc: serde_json::Value = serde_yaml::from_str(&text).expect("docs/openapi.yaml is YAML");
    let out =
        std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("openapi.json");
    std::fs::write(out, serde_json::to_string(&doc).expect("JSON")).expect("write openapi.json");
}
