//! The platform's roles. Each runs alone (its own binary) or in the all-in-one daemon.

pub mod cdr_gateway;
pub mod esl_worker;
pub mod recording_health;
pub mod recording_worker;
pub mod xml_curl;
