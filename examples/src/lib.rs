//! The daemons and tools that compose the crates into a FreeSWITCH platform. Each role is a
//! library function here; each binary in `src/bin/` is a thin `main` over it.
//!
//! - [`esl_decode`]: turns a raw ESL byte stream into JSON lines, one per frame.
//! - [`esl_console`]: runs an api command, or streams events as JSON lines, like `fs_cli`.
//! - [`billing_rate`]: rates CDR files against a CSV plan, or authorises a prepaid call.
//! - [`daemon`]: the all-in-one daemon (every role below on one port, `/healthz`, `/metrics`),
//!   its configuration and its demo data.
//! - [`api`]: the REST API with JWT, the `/ws` stream of call events and the live page.
//! - [`import`]: records the CDRs FreeSWITCH left in its err-log-dir.
//! - [`cdr_gateway`]: receives mod_json_cdr posts and records them through the billing ledger
//!   with group commit.
//! - [`xmlcurl_server`]: answers mod_xml_curl's directory, dialplan and configuration from the
//!   [`platform`] tables, with prepaid limits from billing.
//! - [`recording_worker`]: the recording pipeline fed by RECORD_STOP and a staging scan, with
//!   each recording's metadata stored in the ledger.
//! - [`esl_worker`]: follows FreeSWITCH nodes over ESL: live calls ([`calls`]), CDRs from
//!   hangup events, recordings to the recording worker, prepaid limits on answer, and call
//!   events for subscribers ([`events`]).
//! - [`recording_tool`]: transcodes a WAV, or runs the recording pipeline over a staging
//!   directory.

pub mod api;
pub mod billing_rate;
pub mod calls;
pub mod cdr_gateway;
pub mod daemon;
pub mod esl_console;
pub mod esl_decode;
pub mod esl_json;
pub mod esl_worker;
pub mod events;
pub mod http_auth;
pub mod import;
pub mod metrics;
pub mod platform;
pub mod recording_tool;
pub mod recording_worker;
pub mod xmlcurl_server;
