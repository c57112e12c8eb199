//! Money for a FreeSWITCH platform: rating calls against prefix rate tables, prepaid
//! authorisation, and a ledger that stores CDRs, charges and balances idempotently per call.
//!
//! This crate is not implemented yet.
