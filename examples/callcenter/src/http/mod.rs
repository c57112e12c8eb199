//! What every HTTP role shares: basic authentication (as FreeSWITCH sends it) and metrics.

pub mod basic_auth;
pub mod metrics;

pub use basic_auth::BasicAuth;
