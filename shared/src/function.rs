//! The shape every function shares. Before its first request a function builds, once and in one
//! place, its configuration, store and token service ([`App::start`]); then each request goes to
//! the function's handler (request → domain → response) and a refusal is rendered in the
//! function's API family's envelope ([`Family`]). A function's `main.rs` is one line:
//!
//! ```ignore
//! idlink::lambda_main!(get_me);
//! ```
//!
//! which needs, in the function's crate root: `pub mod handler` with
//! `pub async fn handle(app: &App<S>, req: &Request) -> Result<Response<Body>, Family::Refusal>`,
//! `pub const SECRETS: &[Material]` (what it reads, and all its policy lets it read),
//! `pub type Family` (how it answers refusals) and `pub type Store` (what it keeps data in).

use std::future::Future;
use std::sync::Arc;

use crate::config::{AwsEnv, ConfigError, Material, env_var, init_logging, tokens_from_env};
use crate::error::Error;
use crate::http::{Body, Request, Response};
use crate::store::dynamo::DynamoStore;
use crate::token::TokenService;

/// What a function holds for its whole life: its store and its token service (shared, so that
/// an idempotent login's answer, made inside the store's write, can sign its token).
pub struct App<S> {
    pub store: S,
    pub tokens: Arc<TokenService>,
}

impl<S: FunctionStore> App<S> {
    /// Everything a function builds before its first request, from the environment: logging,
    /// region and credentials (only if its store needs them), the secret `materials` it
    /// declares, and the store. Nothing is left for the first request to build.
    pub async fn start(materials: &[Material]) -> Result<Self, ConfigError> {
        init_logging();
        let aws = if S::USES_AWS {
            Some(AwsEnv::from_env()?)
        } else {
            None
        };
        let tokens = tokens_from_env(materials, aws.as_ref()).await?;
        Ok(Self {
            store: S::from_env(aws.as_ref())?,
            tokens: Arc::new(tokens),
        })
    }
}

/// A store a function can build from its environment.
pub trait FunctionStore: Sized {
    /// Whether building it needs AWS settings (a function without a table skips them).
    const USES_AWS: bool = true;
    fn from_env(aws: Option<&AwsEnv>) -> Result<Self, ConfigError>;
}

impl FunctionStore for DynamoStore {
    fn from_env(aws: Option<&AwsEnv>) -> Result<Self, ConfigError> {
        let aws = match aws {
            Some(aws) => aws.clone(),
            None => AwsEnv::from_env()?,
        };
        Ok(DynamoStore::new(aws.dynamodb(), env_var("IDLINK_TABLE")?))
    }
}

/// The store of a function that keeps nothing (jwks).
pub struct NoStore;

impl FunctionStore for NoStore {
    const USES_AWS: bool = false;
    fn from_env(_: Option<&AwsEnv>) -> Result<Self, ConfigError> {
        Ok(NoStore)
    }
}

/// An API family: how its clients expect a refusal.
pub trait Family {
    type Refusal;
    fn render(refusal: &Self::Refusal) -> Response<Body>;
}

macro_rules! family {
    ($(#[$m:meta])* $name:ident, $refusal:ty, $render:path) => {
        $(#[$m])*
        pub struct $name;
        impl Family for $name {
            type Refusal = $refusal;
            fn render(refusal: &$refusal) -> Response<Body> {
                $render(refusal)
            }
        }
    };
}

family!(
    /// Xsolla Login: `{"error":{"code","description","details"}}`.
    Xsolla,
    Error,
    crate::http::xsolla::render
);
family!(
    /// Auth0's Management API: `{"statusCode","error","message","errorCode"}`.
    Auth0,
    Error,
    crate::http::auth0::render
);
family!(
    /// The token endpoint: RFC 6749 §5.2.
    OAuth,
    Error,
    crate::http::oauth::render
);
family!(
    /// The partner identifier API: `{"code","message","solution"}`.
    Partner,
    crate::http::partner::Refusal,
    crate::http::partner::render
);

/// A handler's answer as the client gets it: its response, or its refusal in `F`'s envelope.
pub async fn answer<F: Family>(
    outcome: impl Future<Output = Result<Response<Body>, F::Refusal>>,
) -> Response<Body> {
    match outcome.await {
        Ok(resp) => resp,
        Err(refusal) => F::render(&refusal),
    }
}

/// Serves requests until the runtime stops, each through `handler` (which renders its own
/// refusals, see [`answer`]). Called by [`crate::lambda_main!`].
pub async fn run<H, Fut>(handler: H) -> Result<(), lambda_http::Error>
where
    H: Fn(Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    lambda_http::run(lambda_http::service_fn(move |req| {
        let answered = handler(req);
        async move { Ok::<_, std::convert::Infallible>(answered.await) }
    }))
    .await
}

/// The single-threaded runtime a Lambda function needs (one request at a time).
pub fn runtime() -> Result<tokio::runtime::Runtime, lambda_http::Error> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// A function's `main`: [`App::start`] at cold start, then its handler for every request. See
/// the module documentation for what the function's crate provides.
#[macro_export]
macro_rules! lambda_main {
    ($krate:ident) => {
        fn main() -> ::core::result::Result<(), ::lambda_http::Error> {
            $crate::function::runtime()?.block_on(async {
                let app = $crate::function::App::<$krate::Store>::start($krate::SECRETS).await?;
                let app = &app;
                $crate::function::run(move |req| async move {
                    $crate::function::answer::<$krate::Family>($krate::handler::handle(app, &req))
                        .await
                })
                .await
            })
        }
    };
}
