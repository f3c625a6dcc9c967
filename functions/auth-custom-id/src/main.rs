use idlink::config::Setup;
use lambda_http::{Error, run, service_fn};

use auth_custom_id::handler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    idlink::config::init_logging();
    let setup = Setup::from_env(auth_custom_id::SECRETS).await?;
    let app = handler::App {
        store: setup.store()?,
        tokens: setup.tokens,
    };
    run(service_fn(|req| handler::handle(&app, req))).await
}
