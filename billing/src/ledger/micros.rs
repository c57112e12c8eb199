//! Amounts as integer micro-units (10⁻⁶ of the currency), and timestamps in microseconds.

use super::LedgerError;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

const MICROS: i64 = 1_000_000;

/// An amount in micro-units; an error when it has more than six decimals or is out of range.
pub(super) fn to_micros(amount: Decimal) -> Result<i64, LedgerError> {
    let scaled = amount * Decimal::from(MICROS);
    if !scaled.fract().is_zero() {
        return Err(LedgerError::Amount(amount));
    }
    scaled.to_i64().ok_or(LedgerError::Amount(amount))
}

/// An amount from micro-units.
pub(super) fn from_micros(micros: i64) -> Decimal {
    Decimal::new(micros, 6).normalize()
}

/// Now, in Unix microseconds.
pub(super) fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}
