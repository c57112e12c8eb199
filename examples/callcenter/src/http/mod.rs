//! What every HTTP role shares: basic authentication (as FreeSWITCH sends it), error ids,
//! limits and metrics.

pub mod basic_auth;
pub mod error_id;
pub mod listener;
pub mod metrics;
pub mod request_id;
pub mod server;

pub use basic_auth::{BasicAuth, CredentialsError};
pub use error_id::ErrorId;
