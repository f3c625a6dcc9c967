//! The HTTP edge: request helpers shared by every function, and one error renderer per API family.

pub mod auth0;
pub mod oauth;
pub mod once;
pub mod partner;
pub mod request;
pub mod xsolla;

pub use lambda_http::{Body, Request, Response};
