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

/// A row's error, on its 1-based line (the header is line 1).
fn bad(line: u64, reason: String) -> PlanError {
    PlanError::BadRow { line, reason }
}

/// A non-negative decimal column.
fn decimal(line: u64, field: &str, value: &str) -> Result<Decimal, PlanError> {
    let parsed: Decimal = value
        .parse()
        .map_err(|_| bad(line, format!("{field} {value:?} is not a decimal number")))?;
    if parsed.is_sign_negative() {
        return Err(bad(line, format!("{field} {value:?} is negative")));
    }
    Ok(parsed)
}

/// A whole number of seconds, `default` when the column is blank.
fn seconds(line: u64, field: &str, value: Option<&str>, default: u64) -> Result<u64, PlanError> {
    value.map_or(Ok(default), |v| {
        v.parse().map_err(|_| {
            bad(
                line,
                format!("{field} {v:?} is not a whole number of seconds"),
            )
        })
    })
}

/// One row, checked: a rate of the destination `prefix`.
struct RateRow {
    prefix: String,
    /// The destination's name, if this row is its first.
    name: String,
    free: bool,
    rate: Rate,
}

impl Row {
    /// Checks the row's columns, in the order their errors are reported.
    fn check(self, line: u64) -> Result<RateRow, PlanError> {
        if !self.prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(
                line,
                format!("prefix {:?} is not all digits", self.prefix),
            ));
        }
        let period = match (blank(&self.weekdays), blank(&self.time)) {
            (None, None) => None,
            (days, time) => Some(
                Period::parse(days.unwrap_or(""), time.unwrap_or(""))
                    .ok_or_else(|| bad(line, format!("bad period {days:?} {time:?}")))?,
            ),
        };
        let increments = (
            seconds(line, "initial_increment", blank(&self.initial_increment), 1)?,
            seconds(
                line,
                "subsequent_increment",
                blank(&self.subsequent_increment),
                1,
            )?,
        );
        if increments.0 == 0 || increments.1 == 0 {
            return Err(bad(line, "increments must be at least one second".into()));
        }
        let rate = Rate {
            per_minute: decimal(line, "rate_per_minute", &self.rate_per_minute)?,
            connect_fee: blank(&self.connect_fee)
                .map_or(Ok(Decimal::ZERO), |v| decimal(line, "connect_fee", v))?,
            initial_increment: increments.0,
            subsequent_increment: increments.1,
            minimum_seconds: seconds(line, "minimum_seconds", blank(&self.minimum_seconds), 0)?,
            period,
        };
        let free = match blank(&self.free).map(str::to_ascii_lowercase).as_deref() {
            None | Some("false") | Some("0") | Some("no") => false,
            Some("true") | Some("1") | Some("yes") => true,
            Some(other) => {
                return Err(bad(line, format!("free {other:?} is not true or false")));
            }
        };
        let name = blank(&self.name).unwrap_or(&self.prefix).to_owned();
        Ok(RateRow {
            prefix: self.prefix,
            name,
            free,
            rate,
        })
    }
}

/// Destinations gathered from rows, in the order their prefixes first appear.
#[derive(Default)]
struct Destinations {
    by_prefix: HashMap<String, Destination>,
    order: Vec<String>,
}

impl Destinations {
    /// Adds a row's rate to its destination (made by the destination's first row).
    fn add(&mut self, row: RateRow) {
        let destination = self.by_prefix.entry(row.prefix.clone()).or_insert_with(|| {
            self.order.push(row.prefix.clone());
            Destination {
                prefix: row.prefix,
                name: row.name,
                free: false,
                rates: Vec::new(),
            }
        });
        destination.free |= row.free;
        // Period-specific rates are tried before the rate for other times.
        if row.rate.period.is_some() {
            let at = destination
                .rates
                .iter()
                .position(|r| r.period.is_none())
                .unwrap_or(destination.rates.len());
            destination.rates.insert(at, row.rate);
        } else {
            destination.rates.push(row.rate);
        }
    }

    /// Adds the destinations to `plan`, in order.
    fn into_plan(mut self, mut plan: RatePlan) -> Result<RatePlan, PlanError> {
        for prefix in self.order {
            if let Some(destination) = self.by_prefix.remove(&prefix) {
                plan.add(destination)?;
            }
        }
        Ok(plan)
    }
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
        let plan = RatePlan::new(id, currency, rounding);
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(input);
        let mut destinations = Destinations::default();
        for (index, row) in reader.deserialize::<Row>().enumerate() {
            let line = index as u64 + 2;
            let row = row.map_err(|e| bad(line, e.to_string()))?;
            destinations.add(row.check(line)?);
        }
        destinations.into_plan(plan)
    }
}
