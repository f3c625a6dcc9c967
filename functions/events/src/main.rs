//! Cold start: configuration and the EventBridge client, once; then each stream batch.

use events::handler::{Publisher, handle};
use lambda_http::{LambdaEvent, lambda_runtime, service_fn};

fn main() -> Result<(), lambda_http::Error> {
    idlink::function::runtime()?.block_on(async {
        idlink::config::init_logging();
        let publisher = &Publisher::from_env()?;
        lambda_runtime::run(service_fn(
            move |event: LambdaEvent<serde_json::Value>| async move {
                Ok::<_, std::convert::Infallible>(handle(publisher, &event.payload).await)
            },
        ))
        .await
    })
}
