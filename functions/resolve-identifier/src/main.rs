use idlink::config::Setup;
use lambda_http::{Error, run, service_fn};

use resolve_identifier::handler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    idlink::config::init_logging();
    let setup = Setup::from_env(resolve_identifier::SECRETS).await?;
    let app = handler::App::new(setup.store()?, setup.tokens)?;
    run(service_fn(|req| handler::handle(&app, req))).await
}
