//! The shape of awslabs/aws-lambda-rust-runtime's and awsdocs' DynamoDB examples: load the SDK
//! config from the environment's default chain, build a client, one GetItem per request.
use aws_sdk_dynamodb::{Client, types::AttributeValue};
use lambda_http::{Body, Error, Request, Response, run, service_fn, tracing};

async fn handle(client: &Client, table: &str, req: Request) -> Result<Response<Body>, Error> {
    let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap_or_default();
    let id = body["server_custom_id"].as_str().unwrap_or("anonymous");
    let item = client
        .get_item()
        .table_name(table)
        .key("PK", AttributeValue::S(format!("EXAMPLE#{id}")))
        .key("SK", AttributeValue::S("PROFILE".into()))
        .send()
        .await?;
    let found = item.item.is_some();
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(serde_json::json!({ "id": id, "found": found }).to_string().into())?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = Client::new(&config);
    let table = std::env::var("IDLINK_TABLE")?;
    run(service_fn(|req| handle(&client, &table, req))).await
}
