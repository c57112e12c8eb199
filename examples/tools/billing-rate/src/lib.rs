//! `billing-rate`: rate CDRs (as mod_json_cdr posted them, or as FreeSWITCH left them in its
//! err-log-dir) against a CSV rate plan, one JSON line per CDR; or authorise a prepaid call.
//! For operators' dry runs and re-rating.

use billing::{Authorization, Cdr, CdrOptions, Currency, Decimal, NoCharge, RatePlan, Rounding};
use serde_json::{Value, json};
use std::path::Path;

/// Why the tool stopped.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The plan could not be read.
    #[error("rate plan {path}: {reason}")]
    Plan {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// A CDR file could not be read or parsed.
    #[error("CDR {path}: {reason}")]
    Cdr {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// The currency or rounding given is not valid.
    #[error("{0}")]
    Usage(String),
}

/// Loads a plan from a CSV file.
pub fn load_plan(
    path: &Path,
    currency: &str,
    decimals: u32,
    rounding: &str,
) -> Result<RatePlan, ToolError> {
    let currency = Currency::new(currency, decimals).ok_or_else(|| {
        ToolError::Usage(format!(
            "currency {currency:?} with {decimals} decimals is not valid"
        ))
    })?;
    let rounding = Rounding::parse(rounding).ok_or_else(|| {
        ToolError::Usage(format!("rounding {rounding:?} is not up, half-up or down"))
    })?;
    let file = std::fs::File::open(path).map_err(|e| ToolError::Plan {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let name = path
        .file_stem()
        .map_or("plan".into(), |s| s.to_string_lossy().into_owned());
    RatePlan::from_csv(name, currency, rounding, file).map_err(|e| ToolError::Plan {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// The CDR in a file: the body as posted, or a whole saved HTTP request.
pub fn read_cdr(path: &Path, options: &CdrOptions) -> Result<Cdr, ToolError> {
    let bad = |reason: String| ToolError::Cdr {
        path: path.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let body = if bytes.starts_with(b"POST ") {
        let at = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| i + 4)
            .ok_or_else(|| bad("saved HTTP request without a body".into()))?;
        &bytes[at..]
    } else {
        &bytes[..]
    };
    Cdr::parse(body, options).map_err(|e| bad(e.to_string()))
}

/// One CDR rated, as a JSON line. `charged_leg` says whether the ledger would charge this
/// leg: the one that reached the outside (the trunk leg), or a leg linked to no other; the
/// other legs of a call are part of it and not charged.
pub fn rate(plan: &RatePlan, cdr: &Cdr) -> Value {
    let charged_leg = cdr.links.is_empty() || cdr.reaches_outside();
    let mut line = json!({ "uuid": cdr.uuid, "leg": cdr.leg.as_str(), "charged_leg": charged_leg });
    let object = line.as_object_mut().expect("an object");
    let result = match cdr.destination.as_deref() {
        Some(destination) => plan.rate_call(destination, cdr.answered_at(), cdr.duration_ms()),
        None => Err(NoCharge::NoRoute {
            destination: String::new(),
        }),
    };
    match result {
        Ok(charge) => {
            object.insert("billed_seconds".into(), charge.billed_seconds.into());
            object.insert("amount".into(), charge.amount.amount.to_string().into());
            object.insert("currency".into(), charge.amount.currency.code().into());
            object.insert("prefix".into(), charge.prefix.into());
            object.insert(
                "rate_per_minute".into(),
                charge.per_minute.to_string().into(),
            );
        }
        Err(reason) => {
            object.insert("no_charge".into(), reason.to_string().into());
        }
    }
    line
}

/// The longest call a balance allows, as a JSON line.
pub fn authorize(plan: &RatePlan, destination: &str, at: i64, balance: Decimal) -> Value {
    match plan.authorize(destination, at, balance) {
        Ok(Authorization::Unlimited) => {
            json!({ "destination": destination, "seconds": null, "unlimited": true })
        }
        Ok(Authorization::Seconds(seconds)) => {
            json!({ "destination": destination, "seconds": seconds })
        }
        Err(reason) => json!({ "destination": destination, "refused": reason.to_string() }),
    }
}
