//! The capacity load: FreeSWITCH's side of many calls at once against one running daemon with
//! every role (see `src/bin/capacity-load.rs`), built from the real captures.
//!
//! - [`profile`]: when calls start and how long they last (the seeds' load and its multiples);
//! - [`call`]: one call's traffic cut from the captures, stamped with the call's UUIDs;
//! - [`caller`]: one call played in FreeSWITCH's order (lookups, events, WAV, CDRs);
//! - [`daemon`]: the daemon started and seeded as an operator and an admin would;
//! - [`clients`]: the agents on `/ws`;
//! - [`clock`]: when each call's events went out;
//! - [`usage`]: CPU, memory, staging, database and S3 counters;
//! - [`verify`]: the end-of-run checks in the ledger and the bucket;
//! - [`report`]: the figures per path;
//! - [`timeline`]: the same in windows of the run, beside the CPU each part used then.

pub mod call;
pub mod caller;
pub mod clients;
pub mod clock;
pub mod daemon;
pub mod profile;
pub mod report;
pub mod timeline;
pub mod usage;
pub mod verify;
