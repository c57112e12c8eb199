//! Rate plans from CSV.
//!
//! One row per destination rate, with a header row. Columns (any order; only `prefix` and
//! `rate_per_minute` are required):
//!
//! | column | meaning | default |
//! | --- | --- | --- |
//! | `prefix` | dialled digits prefix (`44`, `4420`...); empty string = any destination | — |
//! | `name` | destination name | the prefix |
//! | `rate_per_minute` | decimal price per minute | — |
//! | `connect_fee` | decimal fee per answered call | `0` |
//! | `initial_increment` | first billed block, seconds | `1` |
//! | `subsequent_increment` | further blocks, seconds | `1` |
//! | `minimum_seconds` | shortest billed duration | `0` |
//! | `free` | `true` for a free destination | `false` |
//! | `weekdays` | `1-5`, `mon-fri`, `6,7`...; empty = every day | empty |
//! | `time` | `08:00-18:00` (may wrap midnight); empty = all day | empty |
//!
//! Several rows with the same prefix give that destination several periods; a row without
//! `weekdays` and `time` is its rate at other times.

use crate::money::{Currency, Rounding};
use crate::plan::{Destination, Period, PlanError, Rate, RatePlan};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::io::Read;

#[derive(Debug, serde::Deserialize)]
struct Row {
    prefix: String,
    #[serde(default)]
    name: Option<String>,
    rate_per_minute: String,
    #[serde(default)]
    connect_fee: Option<String>,
    #[serde(default)]
    initial_increment: Option<String>,
    #[serde(default)]
    subsequent_increment: Option<String>,
    #[serde(default)]
    minimum_seconds: Option<String>,
    #[serde(default)]
    free: Option<String>,
    #[serde(default)]
    weekdays: Option<String>,
    #[serde(default)]
    time: Option<String>,
}

fn blank(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl RatePlan {
    /// Reads a plan's destinations from CSV (columns above).
    ///
    /// ```
    /// use billing::{Currency, RatePlan, Rounding};
    ///
    /// let csv = "prefix,name,rate_per_minute,connect_fee,initial_increment,subsequent_increment\n\
    ///            44,UK,0.010,0,60,1\n\
    ///            447,UK mobile,0.080,0.02,30,6\n";
    /// let plan = RatePlan::from_csv("retail", Currency::new("GBP", 2).unwrap(), Rounding::Up, csv.as_bytes())?;
    /// assert_eq!(plan.lookup("447700900123").unwrap().name, "UK mobile");
    /// # Ok::<(), billing::PlanError>(())
    /// ```
    pub fn from_csv(
        id: impl Into<String>,
        currency: Currency,
        rounding: Rounding,
        input: impl Read,
    ) -> Result<Self, PlanError> {
        let mut plan = RatePlan::new(id, currency, rounding);
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(input);
        let mut by_prefix: HashMap<String, Destination> = HashMap::new();
        let mut order = Vec::new();
        for (index, row) in reader.deserialize::<Row>().enumerate() {
            let line = index as u64 + 2;
            let bad = |reason: String| PlanError::BadRow { line, reason };
            let row = row.map_err(|e| bad(e.to_string()))?;
            let decimal = |field: &str, value: &str| -> Result<Decimal, PlanError> {
                let parsed: Decimal = value
                    .parse()
                    .map_err(|_| bad(format!("{field} {value:?} is not a decimal number")))?;
                if parsed.is_sign_negative() {
                    return Err(bad(format!("{field} {value:?} is negative")));
                }
                Ok(parsed)
            };
            let seconds =
                |field: &str, value: Option<&str>, default: u64| -> Result<u64, PlanError> {
                    value.map_or(Ok(default), |v| {
                        v.parse().map_err(|_| {
                            bad(format!("{field} {v:?} is not a whole number of seconds"))
                        })
                    })
                };
            if !row.prefix.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(format!("prefix {:?} is not all digits", row.prefix)));
            }
            let period = match (blank(&row.weekdays), blank(&row.time)) {
                (None, None) => None,
                (days, time) => Some(
                    Period::parse(days.unwrap_or(""), time.unwrap_or(""))
                        .ok_or_else(|| bad(format!("bad period {days:?} {time:?}")))?,
                ),
            };
            let increments = (
                seconds("initial_increment", blank(&row.initial_increment), 1)?,
                seconds("subsequent_increment", blank(&row.subsequent_increment), 1)?,
            );
            if increments.0 == 0 || increments.1 == 0 {
                return Err(bad("increments must be at least one second".into()));
            }
            let rate = Rate {
                per_minute: decimal("rate_per_minute", &row.rate_per_minute)?,
                connect_fee: blank(&row.connect_fee)
                    .map_or(Ok(Decimal::ZERO), |v| decimal("connect_fee", v))?,
                initial_increment: increments.0,
                subsequent_increment: increments.1,
                minimum_seconds: seconds("minimum_seconds", blank(&row.minimum_seconds), 0)?,
                period,
            };
            let free = match blank(&row.free).map(str::to_ascii_lowercase).as_deref() {
                None | Some("false") | Some("0") | Some("no") => false,
                Some("true") | Some("1") | Some("yes") => true,
                Some(other) => return Err(bad(format!("free {other:?} is not true or false"))),
            };
            let destination = by_prefix.entry(row.prefix.clone()).or_insert_with(|| {
                order.push(row.prefix.clone());
                Destination {
                    prefix: row.prefix.clone(),
                    name: blank(&row.name).unwrap_or(&row.prefix).to_owned(),
                    free: false,
                    rates: Vec::new(),
                }
            });
            destination.free |= free;
            // Period-specific rates are tried before the rate for other times.
            if rate.period.is_some() {
                let at = destination
                    .rates
                    .iter()
                    .position(|r| r.period.is_none())
                    .unwrap_or(destination.rates.len());
                destination.rates.insert(at, rate);
            } else {
                destination.rates.push(rate);
            }
        }
        for prefix in order {
            if let Some(destination) = by_prefix.remove(&prefix) {
                plan.add(destination)?;
            }
        }
        Ok(plan)
    }
}
