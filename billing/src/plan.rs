//! Rate plans: destinations by prefix with per-minute rates, connect fees, billing increments,
//! minimum seconds, optional weekday/time-of-day periods and free destinations; rating and
//! prepaid authorisation over them.
//!
//! # How a call is priced
//! - The destination is matched by its longest prefix (a leading `+` is ignored). Without a
//!   match, the plan's fallback plan is tried.
//! - The rate is chosen by the call's **answer time** (the moment billing starts), in the plan's
//!   UTC offset: the first period that contains it, else the destination's rate without period.
//!   A call is priced entirely at the rate in force when it was answered.
//! - Billed seconds: the call's duration rounded up to whole seconds (from `billmsec` when
//!   known), raised to the minimum, then to the increment grid: the initial increment, then
//!   whole subsequent increments (1/1, 30/6, 60/60...).
//! - Amount: connect fee + rate per minute × billed seconds / 60, computed exactly and rounded
//!   once, to the currency's decimals, with the plan's rounding mode.

use crate::money::{Currency, Money, Rounding};
use crate::stored::stored_text;
use crate::trie::PrefixTrie;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::collections::HashMap;

/// Longest call an authorisation ever grants, whatever the balance: one week.
pub const MAX_AUTHORIZED_SECONDS: u64 = 7 * 24 * 3600;

/// Weekdays and a time-of-day range (local to the plan) when a rate applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Bit 0 is Monday ... bit 6 Sunday.
    pub weekdays: u8,
    /// First minute of the day included (0..1440).
    pub start_minute: u16,
    /// First minute after the range (1..=1440); a range may wrap past midnight.
    pub end_minute: u16,
}

impl Period {
    fn contains(&self, weekday_index: u32, minute: u16) -> bool {
        if self.weekdays & (1 << weekday_index) == 0 {
            return false;
        }
        if self.start_minute <= self.end_minute {
            (self.start_minute..self.end_minute).contains(&minute)
        } else {
            minute >= self.start_minute || minute < self.end_minute
        }
    }

    /// Parses weekdays (`1-5`, `6,7`, `mon-fri`; empty for all) and times (`08:00-18:00`; empty
    /// for all day).
    ///
    /// ```
    /// let p = billing::Period::parse("mon-fri", "08:00-18:00").unwrap();
    /// assert_eq!(p.weekdays, 0b0011111);
    /// assert_eq!((p.start_minute, p.end_minute), (480, 1080));
    /// ```
    pub fn parse(weekdays: &str, times: &str) -> Option<Self> {
        let day = |s: &str| -> Option<u32> {
            let s = s.trim().to_ascii_lowercase();
            let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
            names
                .iter()
                .position(|n| s == *n)
                .map(|i| i as u32)
                .or_else(|| {
                    s.parse::<u32>()
                        .ok()
                        .filter(|d| (1..=7).contains(d))
                        .map(|d| d - 1)
                })
        };
        let mut mask = 0u8;
        if weekdays.trim().is_empty() {
            mask = 0x7f;
        } else {
            for part in weekdays.split(',') {
                match part.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (day(a)?, day(b)?);
                        if a > b {
                            return None;
                        }
                        for d in a..=b {
                            mask |= 1 << d;
                        }
                    }
                    None => mask |= 1 << day(part)?,
                }
            }
        }
        let minute = |s: &str| -> Option<u16> {
            let (h, m) = s.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h <= 24 && m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
        };
        let (start_minute, end_minute) = if times.trim().is_empty() {
            (0, 1440)
        } else {
            let (a, b) = times.split_once('-')?;
            (minute(a)?, minute(b)?)
        };
        Some(Self {
            weekdays: mask,
            start_minute,
            end_minute,
        })
    }
}

/// The price of calls to a destination (in one period, or at all times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    /// Price per minute.
    pub per_minute: Decimal,
    /// Charged once per answered call.
    pub connect_fee: Decimal,
    /// First block of seconds billed.
    pub initial_increment: u64,
    /// Every further block of seconds.
    pub subsequent_increment: u64,
    /// Calls shorter than this are billed as this long.
    pub minimum_seconds: u64,
    /// When it applies; always when `None`.
    pub period: Option<Period>,
}

impl Rate {
    /// Seconds billed for a call of `seconds`.
    ///
    /// ```
    /// use billing::Rate;
    /// use rust_decimal::Decimal;
    /// let rate = Rate { per_minute: Decimal::ONE, connect_fee: Decimal::ZERO, initial_increment: 30,
    ///                   subsequent_increment: 6, minimum_seconds: 0, period: None };
    /// assert_eq!(rate.billed_seconds(1), 30);
    /// assert_eq!(rate.billed_seconds(31), 36);
    /// assert_eq!(rate.billed_seconds(0), 0);
    /// ```
    pub fn billed_seconds(&self, seconds: u64) -> u64 {
        let seconds = seconds.max(self.minimum_seconds);
        if seconds == 0 {
            return 0;
        }
        let initial = self.initial_increment.max(1);
        let subsequent = self.subsequent_increment.max(1);
        if seconds <= initial {
            initial
        } else {
            initial + (seconds - initial).div_ceil(subsequent) * subsequent
        }
    }

    /// The unrounded usage price of `billed` seconds.
    fn usage(&self, billed: u64) -> Decimal {
        self.per_minute * Decimal::from(billed) / Decimal::from(60)
    }
}

/// A destination of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The dialled-digits prefix.
    pub prefix: String,
    /// A name for people (`UK mobile`).
    pub name: String,
    /// Calls to it cost nothing.
    pub free: bool,
    /// Its rates: period-specific ones are tried first, in order.
    pub rates: Vec<Rate>,
}

/// Why a call costs nothing. Its `Display` is a message for people, with the prefix or
/// destination (`no route for 9995`); what the ledger stores is [`NoCharge::outcome`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoCharge {
    /// The call was never answered.
    #[error("not answered")]
    NotAnswered,
    /// The destination is free.
    #[error("free destination {prefix}")]
    Free {
        /// The matched prefix.
        prefix: String,
    },
    /// No prefix of the plan (or its fallbacks) matches, or no rate applies at that time.
    #[error("no route for {destination}")]
    NoRoute {
        /// The destination as dialled.
        destination: String,
    },
}

stored_text! {
    /// What rating decided for a CDR, as the ledger stores it (`cdrs.outcome`): charged, or why
    /// not. [`NoCharge::outcome`] is the one mapping from a [`NoCharge`] to it. The texts are
    /// those the ledger has always written, so existing databases read back unchanged.
    ///
    /// ```
    /// use billing::{CdrOutcome, NoCharge};
    ///
    /// let outcome = NoCharge::NoRoute { destination: "9995".into() }.outcome();
    /// assert_eq!(outcome, CdrOutcome::NoRoute);
    /// assert_eq!(outcome.as_str(), "no_route");
    /// assert_eq!("not_answered".parse(), Ok(CdrOutcome::NotAnswered));
    /// assert_eq!(serde_json::to_string(&CdrOutcome::Charged).unwrap(), r#""charged""#);
    /// assert!("no route".parse::<CdrOutcome>().is_err());
    /// ```
    pub enum CdrOutcome("CDR outcome") {
        /// Rated and charged.
        Charged = "charged",
        /// Never answered: [`NoCharge::NotAnswered`].
        NotAnswered = "not_answered",
        /// A free destination: [`NoCharge::Free`].
        Free = "free",
        /// No route, or no rate at that time: [`NoCharge::NoRoute`] (also a CDR without a
        /// destination that was answered).
        NoRoute = "no_route",
        /// A leg of a call rated on another of its legs (the trunk leg, which reached the
        /// outside): stored, linked to it, never charged.
        PartOfCall = "part_of_call",
        /// Stored apart, for the operator: nothing attributes it to a tenant that has an
        /// account (see the ledger's unassigned CDRs).
        Unassigned = "unassigned",
    }
}

impl NoCharge {
    /// The [`CdrOutcome`] stored for a call that costs nothing for this reason.
    ///
    /// ```
    /// use billing::{CdrOutcome, NoCharge};
    /// assert_eq!(NoCharge::NotAnswered.outcome(), CdrOutcome::NotAnswered);
    /// assert_eq!(NoCharge::Free { prefix: "800".into() }.outcome(), CdrOutcome::Free);
    /// ```
    pub fn outcome(&self) -> CdrOutcome {
        match self {
            Self::NotAnswered => CdrOutcome::NotAnswered,
            Self::Free { .. } => CdrOutcome::Free,
            Self::NoRoute { .. } => CdrOutcome::NoRoute,
        }
    }
}

/// How the amount was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breakdown {
    /// The connect fee.
    pub connect_fee: Decimal,
    /// Rate per minute × billed seconds / 60, before rounding.
    pub usage: Decimal,
    /// What rounding added (or removed).
    pub rounding: Decimal,
}

/// The price of one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// The plan that priced it.
    pub plan: String,
    /// The matched prefix.
    pub prefix: String,
    /// The destination's name.
    pub destination_name: String,
    /// The rate per minute applied.
    pub per_minute: Decimal,
    /// Seconds billed.
    pub billed_seconds: u64,
    /// What the call costs.
    pub amount: Money,
    /// How.
    pub breakdown: Breakdown,
}

/// A prepaid decision: how long a call may last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization {
    /// The call costs nothing: no limit from billing.
    Unlimited,
    /// The longest call, in whole seconds, the balance pays for (0: refuse the call).
    Seconds(u64),
}

/// A tenant's rate plan.
#[derive(Debug, Clone)]
pub struct RatePlan {
    id: String,
    currency: Currency,
    rounding: Rounding,
    utc_offset_minutes: i32,
    fallback: Option<String>,
    destinations: Vec<Destination>,
    trie: PrefixTrie,
}

/// Why a plan could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A prefix is not all digits.
    #[error("prefix {0:?} is not all digits")]
    BadPrefix(String),
    /// A row of the CSV is invalid.
    #[error("rate table line {line}: {reason}")]
    BadRow {
        /// 1-based line number (the header is line 1).
        line: u64,
        /// What is wrong.
        reason: String,
    },
}

impl RatePlan {
    /// An empty plan.
    pub fn new(id: impl Into<String>, currency: Currency, rounding: Rounding) -> Self {
        Self {
            id: id.into(),
            currency,
            rounding,
            utc_offset_minutes: 0,
            fallback: None,
            destinations: Vec::new(),
            trie: PrefixTrie::default(),
        }
    }

    /// The plan's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The plan's currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The plan's rounding mode.
    pub fn rounding(&self) -> Rounding {
        self.rounding
    }

    /// The plan whose destinations apply when none of this plan's match.
    pub fn fallback(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// Sets the fallback plan.
    pub fn with_fallback(mut self, plan: impl Into<String>) -> Self {
        self.fallback = Some(plan.into());
        self
    }

    /// The offset from UTC in which periods are read (fixed; e.g. 60 for CET in winter).
    pub fn with_utc_offset_minutes(mut self, minutes: i32) -> Self {
        self.utc_offset_minutes = minutes;
        self
    }

    /// How many destinations the plan has.
    pub fn len(&self) -> usize {
        self.destinations.len()
    }

    /// Whether the plan has no destination.
    pub fn is_empty(&self) -> bool {
        self.destinations.is_empty()
    }

    /// Adds (or replaces) a destination.
    pub fn add(&mut self, destination: Destination) -> Result<(), PlanError> {
        let index = self.destinations.len() as u32;
        match self.trie.insert(&destination.prefix, index) {
            None => Err(PlanError::BadPrefix(destination.prefix)),
            Some(Some(previous)) => {
                self.trie.insert(&destination.prefix, previous);
                self.destinations[previous as usize] = destination;
                Ok(())
            }
            Some(None) => {
                self.destinations.push(destination);
                Ok(())
            }
        }
    }

    /// The destination whose prefix is the longest match.
    pub fn lookup(&self, destination: &str) -> Option<&Destination> {
        let digits = destination.strip_prefix('+').unwrap_or(destination);
        self.trie
            .longest(digits.as_bytes())
            .map(|(index, _)| &self.destinations[index as usize])
    }

    fn rate_at<'d>(&self, destination: &'d Destination, at_epoch: i64) -> Option<&'d Rate> {
        let local = at_epoch + i64::from(self.utc_offset_minutes) * 60;
        let days = local.div_euclid(86_400);
        let minute = (local.rem_euclid(86_400) / 60) as u16;
        // 1970-01-01 was a Thursday (index 3, Monday being 0).
        let weekday = (days + 3).rem_euclid(7) as u32;
        destination
            .rates
            .iter()
            .find(|r| r.period.is_some_and(|p| p.contains(weekday, minute)))
            .or_else(|| destination.rates.iter().find(|r| r.period.is_none()))
    }

    /// Prices a call to `destination` answered at `answered_at` (Unix seconds; `None` if not
    /// answered) that lasted `duration_ms` after answer. Plans for fallbacks are looked up in
    /// `plans` (by id); use [`RatePlan::rate_call`] when there are none.
    pub fn rate_call_with(
        &self,
        plans: &(impl PlanSet + ?Sized),
        destination: &str,
        answered_at: Option<i64>,
        duration_ms: u64,
    ) -> Result<Charge, NoCharge> {
        let Some(answered_at) = answered_at else {
            return Err(NoCharge::NotAnswered);
        };
        let mut plan = self;
        let mut hops = 0;
        let (dest, rate) = loop {
            let found = plan
                .lookup(destination)
                .map(|d| (d, plan.rate_at(d, answered_at)));
            match found {
                Some((d, _)) if d.free => {
                    return Err(NoCharge::Free {
                        prefix: d.prefix.clone(),
                    });
                }
                Some((d, Some(rate))) => break (d, rate),
                _ => {}
            }
            hops += 1;
            match plan.fallback.as_ref().and_then(|id| plans.plan(id)) {
                Some(next) if hops <= 8 => plan = next,
                _ => {
                    return Err(NoCharge::NoRoute {
                        destination: destination.to_owned(),
                    });
                }
            }
        };
        let billed = rate.billed_seconds(duration_ms.div_ceil(1000));
        let usage = rate.usage(billed);
        let exact = rate.connect_fee + usage;
        let amount = self.rounding.round(exact, self.currency.decimals());
        Ok(Charge {
            plan: plan.id.clone(),
            prefix: dest.prefix.clone(),
            destination_name: dest.name.clone(),
            per_minute: rate.per_minute,
            billed_seconds: billed,
            amount: Money {
                amount,
                currency: self.currency,
            },
            breakdown: Breakdown {
                connect_fee: rate.connect_fee,
                usage,
                rounding: amount - exact,
            },
        })
    }

    /// [`RatePlan::rate_call_with`] without fallback plans.
    ///
    /// ```
    /// use billing::{Currency, Destination, Rate, RatePlan, Rounding};
    /// use rust_decimal::Decimal;
    ///
    /// let mut plan = RatePlan::new("retail", Currency::new("EUR", 2).unwrap(), Rounding::Up);
    /// plan.add(Destination {
    ///     prefix: "4420".into(),
    ///     name: "London".into(),
    ///     free: false,
    ///     rates: vec![Rate {
    ///         per_minute: "0.012".parse().unwrap(),
    ///         connect_fee: "0.05".parse().unwrap(),
    ///         initial_increment: 60,
    ///         subsequent_increment: 1,
    ///         minimum_seconds: 0,
    ///         period: None,
    ///     }],
    /// })?;
    /// // 61.2 s: 62 s billed = 0.05 + 0.012 * 62 / 60 = 0.0624 -> 0.07 rounded up.
    /// let charge = plan.rate_call("+442079460000", Some(1_795_261_109), 61_200).unwrap();
    /// assert_eq!(charge.billed_seconds, 62);
    /// assert_eq!(charge.amount.amount.to_string(), "0.07");
    /// # Ok::<(), billing::PlanError>(())
    /// ```
    pub fn rate_call(
        &self,
        destination: &str,
        answered_at: Option<i64>,
        duration_ms: u64,
    ) -> Result<Charge, NoCharge> {
        self.rate_call_with(&NoPlans, destination, answered_at, duration_ms)
    }

    /// The longest call, in whole seconds, that `available` (balance plus credit limit) pays
    /// for, if answered at `at`: rating a call of exactly that length costs at most
    /// `available`, and one second more (the next increment) would cost more. Capped at
    /// [`MAX_AUTHORIZED_SECONDS`].
    ///
    /// ```
    /// use billing::{Authorization, Currency, Destination, Rate, RatePlan, Rounding};
    ///
    /// let mut plan = RatePlan::new("p", Currency::new("USD", 2).unwrap(), Rounding::Up);
    /// plan.add(Destination { prefix: "1".into(), name: "US".into(), free: false, rates: vec![Rate {
    ///     per_minute: "0.60".parse().unwrap(), connect_fee: "0.10".parse().unwrap(),
    ///     initial_increment: 6, subsequent_increment: 6, minimum_seconds: 0, period: None }] })?;
    /// // 1.00 available: 0.10 connect fee leaves 0.90, i.e. 90 seconds at 0.01/s.
    /// assert_eq!(plan.authorize("12125550100", 0, "1.00".parse().unwrap()), Ok(Authorization::Seconds(90)));
    /// # Ok::<(), billing::PlanError>(())
    /// ```
    pub fn authorize(
        &self,
        destination: &str,
        at: i64,
        available: Decimal,
    ) -> Result<Authorization, NoCharge> {
        self.authorize_with(&NoPlans, destination, at, available)
    }

    /// [`RatePlan::authorize`] with fallback plans looked up in `plans`.
    pub fn authorize_with(
        &self,
        plans: &(impl PlanSet + ?Sized),
        destination: &str,
        at: i64,
        available: Decimal,
    ) -> Result<Authorization, NoCharge> {
        let cost = |seconds: u64| -> Result<Decimal, NoCharge> {
            Ok(self
                .rate_call_with(plans, destination, Some(at), seconds * 1000)?
                .amount
                .amount)
        };
        let probe = match self.rate_call_with(plans, destination, Some(at), 1000) {
            Err(NoCharge::Free { .. }) => return Ok(Authorization::Unlimited),
            Err(other) => return Err(other),
            Ok(charge) => charge,
        };
        if probe.per_minute.is_zero() && probe.breakdown.connect_fee.is_zero() {
            return Ok(Authorization::Unlimited);
        }
        if probe.amount.amount > available {
            return Ok(Authorization::Seconds(0));
        }
        // The billed-seconds grid: what a one-second call bills, then one increment per step.
        let first = probe.billed_seconds.max(1);
        let step = {
            let two = self.rate_call_with(plans, destination, Some(at), (first + 1) * 1000)?;
            (two.billed_seconds - first).max(1)
        };
        // Estimate the number of steps from the rate, then walk to the exact boundary.
        let mut steps = if probe.per_minute.is_zero() {
            (MAX_AUTHORIZED_SECONDS - first) / step
        } else {
            let spare = available - probe.breakdown.connect_fee;
            let seconds = (spare * Decimal::from(60) / probe.per_minute)
                .floor()
                .to_u64()
                .unwrap_or(MAX_AUTHORIZED_SECONDS)
                .min(MAX_AUTHORIZED_SECONDS);
            seconds.saturating_sub(first) / step
        };
        let grid = |steps: u64| first + steps * step;
        while steps > 0 && cost(grid(steps))? > available {
            steps -= 1;
        }
        while cost(grid(steps + 1))? <= available {
            if grid(steps + 1) >= MAX_AUTHORIZED_SECONDS {
                // The cap binds, not the balance (billing the cap costs no more than this).
                return Ok(Authorization::Seconds(MAX_AUTHORIZED_SECONDS));
            }
            steps += 1;
        }
        Ok(Authorization::Seconds(
            grid(steps).min(MAX_AUTHORIZED_SECONDS),
        ))
    }
}

/// Where a plan's fallback plans are found, by id: a map of plans, or the ledger's plans in
/// force at a call's time.
///
/// ```
/// use billing::{Currency, PlanSet, RatePlan, Rounding};
/// use std::collections::HashMap;
///
/// let plans = HashMap::from([(
///     "wholesale".to_owned(),
///     RatePlan::new("wholesale", Currency::new("EUR", 2).unwrap(), Rounding::Up),
/// )]);
/// assert!(plans.plan("wholesale").is_some());
/// assert!(plans.plan("retail").is_none());
/// ```
pub trait PlanSet {
    /// The plan `id`, if there is one.
    fn plan(&self, id: &str) -> Option<&RatePlan>;
}

impl PlanSet for HashMap<String, RatePlan> {
    fn plan(&self, id: &str) -> Option<&RatePlan> {
        self.get(id)
    }
}

impl PlanSet for HashMap<String, std::sync::Arc<RatePlan>> {
    fn plan(&self, id: &str) -> Option<&RatePlan> {
        self.get(id).map(|plan| &**plan)
    }
}

impl<T: PlanSet + ?Sized> PlanSet for std::sync::Arc<T> {
    fn plan(&self, id: &str) -> Option<&RatePlan> {
        (**self).plan(id)
    }
}

/// No plans at all (no fallbacks).
struct NoPlans;

impl PlanSet for NoPlans {
    fn plan(&self, _: &str) -> Option<&RatePlan> {
        None
    }
}
