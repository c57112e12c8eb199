//! Exact money: decimal amounts (never floating point), a currency with its number of decimals,
//! and the rounding mode a rate plan applies to each charge.

use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt;

/// How a charge is rounded to the currency's decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// Any fraction of the smallest unit rounds up (in the carrier's favour).
    Up,
    /// Half a unit or more rounds up.
    HalfUp,
    /// Fractions are dropped.
    Down,
}

impl Rounding {
    /// Parses `up`, `half-up` (or `half_up`) and `down`.
    ///
    /// ```
    /// use billing::Rounding;
    /// assert_eq!(Rounding::parse("half-up"), Some(Rounding::HalfUp));
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "up" => Some(Self::Up),
            "half-up" | "half_up" => Some(Self::HalfUp),
            "down" => Some(Self::Down),
            _ => None,
        }
    }

    /// The text a plan's rounding is stored as: `up`, `half-up` or `down`.
    /// [`Rounding::parse`] reads it back (and also accepts `half_up` and any case).
    ///
    /// ```
    /// use billing::Rounding;
    /// assert_eq!(Rounding::HalfUp.as_str(), "half-up");
    /// assert_eq!(Rounding::parse(Rounding::HalfUp.as_str()), Some(Rounding::HalfUp));
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::HalfUp => "half-up",
            Self::Down => "down",
        }
    }

    /// Rounds a non-negative amount to `decimals` places.
    ///
    /// ```
    /// use billing::Rounding;
    /// use rust_decimal::Decimal;
    /// let x: Decimal = "0.12301".parse().unwrap();
    /// assert_eq!(Rounding::Up.round(x, 2).to_string(), "0.13");
    /// assert_eq!(Rounding::HalfUp.round(x, 2).to_string(), "0.12");
    /// assert_eq!(Rounding::Down.round(x, 4).to_string(), "0.1230");
    /// ```
    pub fn round(self, amount: Decimal, decimals: u32) -> Decimal {
        let strategy = match self {
            Self::Up => RoundingStrategy::AwayFromZero,
            Self::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Self::Down => RoundingStrategy::ToZero,
        };
        let mut rounded = amount.round_dp_with_strategy(decimals, strategy);
        rounded.rescale(decimals);
        rounded
    }
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A currency: its ISO 4217 code and how many decimals its amounts carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: [u8; 3],
    decimals: u32,
}

impl Currency {
    /// A currency from a three-letter code and its decimals (at most 8).
    ///
    /// ```
    /// let eur = billing::Currency::new("EUR", 2).unwrap();
    /// assert_eq!(eur.code(), "EUR");
    /// assert!(billing::Currency::new("euro", 2).is_none());
    /// ```
    pub fn new(code: &str, decimals: u32) -> Option<Self> {
        let bytes = code.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_uppercase) || decimals > 8 {
            return None;
        }
        Some(Self {
            code: [bytes[0], bytes[1], bytes[2]],
            decimals,
        })
    }

    /// The ISO code.
    pub fn code(&self) -> &str {
        // Built from ASCII uppercase letters only.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Decimals of its amounts.
    pub fn decimals(&self) -> u32 {
        self.decimals
    }
}

/// An amount in a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    /// The amount, exact.
    pub amount: Decimal,
    /// Its currency.
    pub currency: Currency,
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency.code())
    }
}

/// Why a text is not an amount (see [`parse_amount`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an amount: digits with an optional decimal point and at most 6 decimals, such as 10.50"
)]
pub struct AmountError(pub String);

/// Reads an amount as people write money: digits, optionally a point and at most 6 decimals
/// (what the ledger stores exactly); no sign, exponent, spaces or thousands separators, at
/// most 12 digits before the point. Whether it fits a currency's decimals is the ledger's
/// check, against the account's currency.
///
/// ```
/// use billing::{Decimal, parse_amount};
/// assert_eq!(parse_amount("10.50"), Ok(Decimal::new(1050, 2)));
/// assert_eq!(parse_amount("7"), Ok(Decimal::from(7)));
/// for bad in ["1e3", "-5", "+5", " 5", "1,000.00", ".5", "5.", "0.0000001", "NaN", ""] {
///     assert!(parse_amount(bad).is_err(), "{bad}");
/// }
/// ```
pub fn parse_amount(text: &str) -> Result<Decimal, AmountError> {
    let error = || AmountError(text.chars().take(40).collect());
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(whole, 12) || fraction.is_some_and(|f| !digits(f, 6)) {
        return Err(error());
    }
    text.parse().map_err(|_| error())
}
