use super::*;
use idlink::function::answer;
use idlink::testing::fixture_cases;

/// The document as its readers keep it.
fn source() -> serde_json::Value {
    let text = include_str!("../../../../docs/openapi.yaml");
    serde_yaml::from_str(text).unwrap()
}

#[tokio::test]
async fn fixtures_answer_the_document_of_docs_openapi_yaml() {
    for case in fixture_cases("openapi", 1).await {
        let resp = answer::<crate::Family>(handle(&case.app, &case.request)).await;
        assert_eq!(resp.headers()["content-type"], "application/json");
        let body = case.expect(resp);
        assert_eq!(body, source(), "{}", case.name);
        assert_eq!(body["openapi"], "3.1.0");
        assert!(body["paths"]["/openapi.json"]["get"].is_object());
    }
}
