//! The call-center daemon: every role of the platform as a library, and the binaries that run
//! them alone or all in one process (`src/bin/`).
//!
//! - [`roles`]: what talks to FreeSWITCH and the stores, one folder per role:
//!   [`roles::xml_curl`] (directory, dialplan and configuration for mod_xml_curl),
//!   [`roles::cdr_gateway`] (mod_json_cdr posts through the ledger with group commit),
//!   [`roles::esl_worker`] (live calls, CDRs from events, recordings and prepaid limits over ESL)
//!   and [`roles::recording_worker`] (staged WAVs to verified MP3 objects).
//! - [`api`]: the REST API with JWT, one file per resource, the `/ws` stream of call events and
//!   the live page.
//! - [`http`]: what every HTTP role shares: basic authentication and `/metrics`.
//! - [`daemon`]: configuration, composition of the roles, health, serving and the demo data.
//! - [`import`]: records the CDRs FreeSWITCH left in its err-log-dir (`callcenter import-cdrs`).
//! - [`prompts`]: IVR prompts in the recording store, and what FreeSWITCH plays for them.
//!
//! The pieces the roles share (the platform's store, live calls, the event hub, the tenant
//! cache, the call policy) live in the `platform` crate.

#![warn(missing_docs)]

pub mod admin;
pub mod api;
pub mod bus;
pub mod daemon;
pub mod http;
pub mod import;
pub mod prompts;
pub mod roles;
