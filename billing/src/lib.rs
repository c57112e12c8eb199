//! Money for a FreeSWITCH platform: exact rating of calls against prefix rate plans, prepaid
//! authorisation consistent with that rating, and one typed [`Cdr`] from whatever FreeSWITCH
//! sends (mod_json_cdr in any encoding, or event headers).
//!
//! - [`Money`], [`Currency`], [`Rounding`]: amounts are [`rust_decimal::Decimal`], never
//!   floating point; each plan rounds each charge once, to its currency's decimals.
//! - [`RatePlan`]: destinations by longest prefix (a digit trie: 100k+ prefixes), per-minute
//!   rates, connect fees, increments, minimum seconds, periods priced by answer time, free
//!   destinations, fallback plans; loaded from CSV ([`RatePlan::from_csv`]). Rating
//!   ([`RatePlan::rate_call`]) and authorisation ([`RatePlan::authorize`]) are pure functions.
//! - [`Cdr`]: [`Cdr::parse`] reads every body mod_json_cdr writes, posted or left in its
//!   err-log-dir (raw JSON, URL-encoded, base64, with or without `encode-values`, the
//!   ambiguous `encode=true` + `encode-values=true` form by its structure), with every value
//!   as FreeSWITCH had it, and the legs it is linked to; [`Cdr::from_pairs`] reads event
//!   headers. [`JsonCdrSettings`] encodes a document exactly as FreeSWITCH posts it.
//! - [`Leg`], [`CdrOutcome`] (and, with the ledger, `TransactionKind`): what the ledger stores
//!   as text, each with one mapping to its text (`as_str`, `FromStr`, `Display`, serde); a text
//!   none of them maps is an [`UnknownText`] error.
#![cfg_attr(
    feature = "ledger",
    doc = "- [`Ledger`] (feature `ledger`): accounts, balances, top-ups, rate plans, CDRs with \
           their charges and recording metadata, in SQLite or PostgreSQL through sqlx."
)]
//!
//! # Features
//! - `ledger` (on by default): the `Ledger` and its records, with sqlx and tokio. A tool that
//!   only rates calls or parses CDRs depends on `billing = { default-features = false }` and
//!   gets money, plans, rating, prepaid authorisation and [`Cdr`] parsing without either.
//!
//! ```
//! use billing::{Authorization, Cdr, Currency, RatePlan, Rounding};
//!
//! let plan = RatePlan::from_csv(
//!     "retail",
//!     Currency::new("EUR", 2).unwrap(),
//!     Rounding::Up,
//!     "prefix,rate_per_minute,initial_increment,subsequent_increment\n44,0.06,60,1\n".as_bytes(),
//! )?;
//! let cdr = Cdr::from_pairs(
//!     [("Unique-ID", "u-1"), ("Caller-Destination-Number", "442079460000"),
//!      ("variable_answer_epoch", "1795261109"), ("variable_billmsec", "90500")],
//!     &Default::default(),
//! ).unwrap();
//! let charge = plan.rate_call(cdr.destination.as_deref().unwrap(), cdr.answered_at(), cdr.duration_ms()).unwrap();
//! assert_eq!(charge.billed_seconds, 91);
//! assert_eq!(charge.amount.to_string(), "0.10 EUR"); // 0.06 * 91 / 60 = 0.091, rounded up
//! assert_eq!(plan.authorize("4420", 1_795_261_109, "0.10".parse().unwrap()), Ok(Authorization::Seconds(100)));
//! # Ok::<(), billing::PlanError>(())
//! ```

#![warn(missing_docs)]

mod cdr;
mod csv_plan;
#[cfg(feature = "ledger")]
mod ledger;
mod money;
mod plan;
mod stored;
mod trie;

pub use cdr::{
    Cdr, CdrError, CdrOptions, Encode, JsonCdrFormat, JsonCdrSettings, Leg, MAX_BILLSEC, Values,
};
#[cfg(feature = "ledger")]
pub use ledger::{
    AccountInfo, Backend, Balance, BalanceListener, CdrRecord, CdrSearch, Corruption, Extension,
    Hold, HoldCommit, HoldKey, HoldState, Ledger, LedgerError, Outcome, PlanRecord, Recorded,
    RecordingRecord, Reservation, ReserveRequest, TenantDirectory, Transaction, TransactionKind,
    UnassignedCdr, UnassignedReason,
};
pub use money::{AmountError, Currency, Money, Rounding, parse_amount};
pub use plan::{
    Authorization, Breakdown, CdrOutcome, Charge, Destination, MAX_AUTHORIZED_SECONDS, NoCharge,
    Period, PlanError, PlanSet, Rate, RatePlan,
};
pub use rust_decimal::Decimal;
pub use stored::UnknownText;
