use lambda_http::{Error, run, service_fn};

use jwks::handler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    idlink::config::init_logging();
    // Keys from a file need no AWS settings; from Secrets Manager they need region and credentials.
    let keys = idlink::config::load_keys(jwks::SECRETS, None).await?;
    let app = handler::App::new(&keys);
    run(service_fn(|req| handler::handle(&app, req))).await
}
