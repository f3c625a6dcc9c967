use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|event: LambdaEvent<Value>| async move {
        let path = event.payload["rawPath"].as_str().unwrap_or("/").to_owned();
        Ok::<_, Error>(json!({ "statusCode": 200, "body": format!("hello from {path}") }))
    }))
    .await
}
