//! `GET /api/cdrs`: the tenant's CDRs, searched by time range, caller, destination and outcome,
//! a page at a time; `GET /api/cdrs/export`: the same as CSV, every matching row.

use super::extract::Query;
use super::page::{Page, checked_limit, next};
use super::time::QueryTime;
use super::{ApiError, ApiState, Caller, Operator};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use billing::{CdrOutcome, CdrRecord, CdrSearch, Leg, UnassignedReason};
use platform::balance::money_text as money;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, ToSchema};

/// The search of `GET /api/cdrs` (and of the export, which refuses a `limit`).
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct CdrQuery {
    /// Inclusive (default: no start): Unix seconds or RFC 3339 with an offset.
    #[param(inline, example = "2026-12-01T00:00:00Z")]
    from: Option<QueryTime>,
    /// Exclusive (default: no end): Unix seconds or RFC 3339 with an offset.
    #[param(inline, example = 1796083200)]
    to: Option<QueryTime>,
    /// The caller's number starts with this (1 to 64 digits, letters, + * # . - _; no
    /// wildcard).
    #[param(pattern = "^[A-Za-z0-9+*#._-]{1,64}$")]
    caller: Option<String>,
    /// The destination starts with this (1 to 64 digits, letters, + * # . - _; no
    /// wildcard).
    #[param(pattern = "^[A-Za-z0-9+*#._-]{1,64}$", example = "44")]
    destination: Option<String>,
    /// What rating decided.
    #[param(value_type = Option<OutcomeText>, inline)]
    outcome: Option<String>,
    /// The previous page's `next`.
    after: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000, default = 100, example = 50)]
    limit: Option<u32>,
}

/// What the export takes, for the description: the search of a [`CdrQuery`], without a
/// `limit` (the export reads a `CdrQuery`, so that a `limit` is refused with its own message).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Read by the description only.
struct ExportQuery {
    /// Inclusive (default: no start): Unix seconds or RFC 3339 with an offset.
    #[param(inline, example = "2026-12-01T00:00:00Z")]
    from: Option<QueryTime>,
    /// Exclusive (default: no end): Unix seconds or RFC 3339 with an offset.
    #[param(inline, example = 1796083200)]
    to: Option<QueryTime>,
    /// The caller's number starts with this (1 to 64 digits, letters, + * # . - _; no
    /// wildcard).
    #[param(pattern = "^[A-Za-z0-9+*#._-]{1,64}$")]
    caller: Option<String>,
    /// The destination starts with this (1 to 64 digits, letters, + * # . - _; no
    /// wildcard).
    #[param(pattern = "^[A-Za-z0-9+*#._-]{1,64}$", example = "44")]
    destination: Option<String>,
    /// What rating decided.
    #[param(value_type = Option<OutcomeText>, inline)]
    outcome: Option<String>,
    /// Continue after this CDR id (the last `id` of the previous export).
    after: Option<i64>,
}

/// The page `GET /api/operator/unassigned-cdrs` reads (a [`Page`] of row ids), for the
/// description: a `Page`'s own describes its `after` as text.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Read by the description only.
struct UnassignedPage {
    /// The `next` of the previous page.
    after: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000, default = 100, example = 10)]
    limit: Option<u32>,
}

/// A string that is one of `words`.
fn one_of(words: impl IntoIterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(words))
        .into()
}

/// How a [`Leg`] is written (`a`, `b`), for the description.
#[allow(dead_code)] // Names a schema only.
pub(super) struct LegText;

impl utoipa::PartialSchema for LegText {
    fn schema() -> RefOr<Schema> {
        one_of(Leg::ALL.iter().map(|leg| leg.as_str()))
    }
}

impl ToSchema for LegText {}

/// How a [`CdrOutcome`] is written (`charged`, `not_answered`...), for the description.
#[allow(dead_code)] // Names a schema only.
pub(super) struct OutcomeText;

impl utoipa::PartialSchema for OutcomeText {
    fn schema() -> RefOr<Schema> {
        one_of(CdrOutcome::ALL.iter().map(|outcome| outcome.as_str()))
    }
}

impl ToSchema for OutcomeText {}

/// How an [`UnassignedReason`] is written (`no_tenant`...), for the description.
#[allow(dead_code)] // Names a schema only.
struct ReasonText;

impl utoipa::PartialSchema for ReasonText {
    fn schema() -> RefOr<Schema> {
        one_of(UnassignedReason::ALL.iter().map(|reason| reason.as_str()))
    }
}

impl ToSchema for ReasonText {}

impl CdrQuery {
    fn search(&self) -> Result<CdrSearch, ApiError> {
        let number = |field: &str, text: &Option<String>| match text {
            // What a number or an extension's name can hold; nothing else is ever stored
            // from our dialplans, and it keeps the pattern plain.
            Some(text)
                if text.is_empty()
                    || text.len() > 64
                    || !text.bytes().all(|b| {
                        b.is_ascii_alphanumeric()
                            || matches!(b, b'+' | b'*' | b'#' | b'.' | b'-' | b'_')
                    }) =>
            {
                Err(ApiError::BadRequest(format!(
                    "`{field}` is 1 to 64 digits, letters, + * # . - _"
                )))
            }
            other => Ok(other.clone()),
        };
        let outcome = self
            .outcome
            .as_deref()
            .map(|text| {
                text.parse::<CdrOutcome>()
                    .map_err(|e| ApiError::BadRequest(e.to_string()))
            })
            .transpose()?;
        Ok(CdrSearch {
            from_us: self.from.map_or(i64::MIN, |t| t.0),
            to_us: self.to.map_or(i64::MAX, |t| t.0),
            caller: number("caller", &self.caller)?,
            destination: number("destination", &self.destination)?,
            outcome,
        })
    }
}

/// A CDR as the API shows it.
#[derive(Serialize, ToSchema)]
pub(super) struct Cdr {
    id: i64,
    uuid: String,
    #[schema(value_type = LegText, inline)]
    leg: Leg,
    /// Channel creation, Unix microseconds.
    #[schema(required = true)]
    start_us: Option<i64>,
    billsec: i64,
    /// The caller's number.
    #[schema(required = true)]
    caller: Option<String>,
    #[schema(required = true)]
    destination: Option<String>,
    /// FreeSWITCH's hangup cause (NORMAL_CLEARING...).
    #[schema(required = true)]
    hangup_cause: Option<String>,
    #[schema(value_type = OutcomeText, inline)]
    outcome: CdrOutcome,
    /// The amount charged, in the account's currency.
    #[schema(required = true)]
    amount: Option<String>,
}

impl From<CdrRecord> for Cdr {
    fn from(r: CdrRecord) -> Self {
        Cdr {
            id: r.id,
            uuid: r.uuid,
            leg: r.leg,
            start_us: r.start_us,
            billsec: r.billsec,
            caller: r.caller,
            destination: r.destination,
            hangup_cause: r.hangup_cause,
            outcome: r.outcome,
            amount: r.amount.map(money),
        }
    }
}

/// A page of CDRs; `next` is the `after` of the next page, null on the last.
#[derive(Serialize, ToSchema)]
pub(super) struct CdrPage {
    cdrs: Vec<Cdr>,
    #[schema(required = true)]
    next: Option<i64>,
}

/// The tenant's CDRs, searched by time range, caller, destination and outcome, oldest first, a
/// page at a time.
#[utoipa::path(
    get,
    path = "/api/cdrs",
    tag = "cdrs",
    params(CdrQuery),
    responses(
        (status = 200, description = "A page; `next` is the `after` of the next page, null on the last", body = CdrPage),
        (status = 400, response = super::openapi::BadRequest),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn cdrs(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Query(query): Query<CdrQuery>,
) -> Result<Json<CdrPage>, ApiError> {
    let limit = checked_limit(query.limit)?;
    let rows = state
        .ledger
        .search_cdrs(&claims.tenant, &query.search()?, query.after, limit)
        .await?;
    let next = next(&rows, limit, |r| r.id);
    let cdrs = rows.into_iter().map(Cdr::from).collect();
    Ok(Json(CdrPage { cdrs, next }))
}

/// The most rows one export holds: a larger range is exported in parts.
const EXPORT_MAX: u32 = 100_000;

/// Rows read (and sent) at a time.
const EXPORT_PAGE: u32 = 1000;

/// Exports running at once, across tenants (each holds a database query at a time).
const EXPORTS_AT_ONCE: usize = 4;

fn exports() -> &'static std::sync::Arc<tokio::sync::Semaphore> {
    static EXPORTS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    EXPORTS.get_or_init(|| std::sync::Arc::new(tokio::sync::Semaphore::new(EXPORTS_AT_ONCE)))
}

/// Where an export is: the rows sent so far and the last one's id.
struct Export {
    ledger: billing::Ledger,
    tenant: String,
    search: CdrSearch,
    after: Option<i64>,
    written: u32,
    done: bool,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Export {
    /// The next page as CSV rows; `None` once every matching row (or [`EXPORT_MAX`]) is sent.
    async fn next_page(mut self) -> Option<(Result<Vec<u8>, std::io::Error>, Export)> {
        if self.done || self.written >= EXPORT_MAX {
            return None;
        }
        let page = match self
            .ledger
            .search_cdrs(&self.tenant, &self.search, self.after, EXPORT_PAGE)
            .await
        {
            Ok(page) => page,
            Err(error) => {
                // The answer has started: the client sees a cut file, the log says why.
                let id = crate::http::ErrorId::log("CDR export", &error);
                self.done = true;
                return Some((Err(std::io::Error::other(format!("error id {id}"))), self));
            }
        };
        self.done = page.len() < EXPORT_PAGE as usize;
        self.after = page.last().map(|r| r.id).or(self.after);
        self.written += page.len() as u32;
        if page.is_empty() {
            return None;
        }
        Some((csv_rows(page), self))
    }
}

/// Rows as CSV.
fn csv_rows(page: Vec<CdrRecord>) -> Result<Vec<u8>, std::io::Error> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    for r in page {
        let start = r
            .start_us
            .and_then(chrono::DateTime::from_timestamp_micros)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .unwrap_or_default();
        csv.write_record([
            r.id.to_string(),
            r.uuid,
            r.leg.as_str().to_owned(),
            start,
            r.billsec.to_string(),
            cell(r.caller.as_deref()),
            cell(r.destination.as_deref()),
            cell(r.hangup_cause.as_deref()),
            r.outcome.as_str().to_owned(),
            r.amount.map(money).unwrap_or_default(),
        ])?;
    }
    csv.into_inner().map_err(|e| e.into_error())
}

/// The export's first line.
const EXPORT_HEADER: &str =
    "id,uuid,leg,start,billsec,caller,destination,hangup_cause,outcome,amount\n";

/// The tenant's CDRs matching the same search as CSV, oldest first: every matching row, at most
/// 100000 (`after` continues from the last id); no `limit`.
///
/// Streamed a page at a time; a few exports run at once (429 beyond).
#[utoipa::path(
    get,
    path = "/api/cdrs/export",
    tag = "cdrs",
    params(ExportQuery),
    responses(
        (
            status = 200,
            description = "CSV: id,uuid,leg,start,billsec,caller,destination,hangup_cause,outcome,amount (start in RFC 3339, UTC; a value a spreadsheet would run as a formula is prefixed with ')",
            content_type = "text/csv",
            body = String,
            headers(("Content-Disposition" = String, description = "attachment; filename=\"cdrs.csv\"")),
        ),
        (status = 400, response = super::openapi::BadRequest),
        (status = 429, response = super::openapi::TooManyRequests),
        (status = 500, response = super::openapi::Internal),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn export(
    State(state): State<ApiState>,
    Caller(claims): Caller,
    Query(query): Query<CdrQuery>,
) -> Result<Response, ApiError> {
    if query.limit.is_some() {
        return Err(ApiError::BadRequest(
            "an export has no `limit`: it holds every matching row, up to 100000".into(),
        ));
    }
    let search = query.search()?;
    let slot = exports()
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::TooManyRequests {
            retry_after: 5,
            message: "exports are running: try again in a few seconds".into(),
        })?;
    let export = Export {
        ledger: state.ledger.clone(),
        tenant: claims.tenant,
        search,
        after: query.after,
        written: 0,
        done: false,
        _slot: slot,
    };
    let header = futures_util::stream::once(async { Ok(EXPORT_HEADER.as_bytes().to_vec()) });
    let rows = futures_util::stream::unfold(export, Export::next_page);
    let body = axum::body::Body::from_stream(futures_util::StreamExt::chain(header, rows));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"cdrs.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// A value from a call (a caller's number comes from whoever called) as a spreadsheet cell:
/// one that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) and that
/// is not a plain dialled number is prefixed with `'`, so it is shown, never run.
fn cell(value: Option<&str>) -> String {
    let Some(value) = value else {
        return String::new();
    };
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula && !esl::api::is_dialed_number(value) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// A CDR nothing attributes to a tenant, as the operator sees it.
#[derive(Serialize, ToSchema)]
pub(super) struct UnassignedCdr {
    id: i64,
    uuid: String,
    #[schema(value_type = LegText, inline)]
    leg: Leg,
    #[schema(value_type = ReasonText, inline)]
    reason: UnassignedReason,
    /// The tenant it named, if any (unknown, or in conflict with its context).
    #[schema(required = true)]
    named_tenant: Option<String>,
    #[schema(required = true)]
    context: Option<String>,
    #[schema(required = true)]
    domain: Option<String>,
    billsec: i64,
    #[schema(required = true)]
    destination: Option<String>,
    /// The legs it names.
    links: Vec<String>,
}

impl From<billing::UnassignedCdr> for UnassignedCdr {
    fn from(r: billing::UnassignedCdr) -> Self {
        UnassignedCdr {
            id: r.id,
            uuid: r.uuid,
            leg: r.leg,
            reason: r.reason,
            named_tenant: r.named_tenant,
            context: r.context,
            domain: r.domain,
            billsec: r.billsec,
            destination: r.destination,
            links: r.links,
        }
    }
}

/// A page of unassigned CDRs; `next` is the `after` of the next page, null on the last.
#[derive(Serialize, ToSchema)]
pub(super) struct UnassignedCdrPage {
    cdrs: Vec<UnassignedCdr>,
    #[schema(required = true)]
    next: Option<i64>,
}

/// CDRs no tenant is charged for (none named, unknown or in conflict), oldest first (operators
/// only).
///
/// Never charged, never shown to a tenant.
#[utoipa::path(
    get,
    path = "/api/operator/unassigned-cdrs",
    tag = "cdrs",
    params(UnassignedPage),
    responses(
        (status = 200, description = "A page", body = UnassignedCdrPage),
        (status = 400, response = super::openapi::BadRequest),
        super::openapi::Authenticated,
    ),
    security(("bearer" = [])),
)]
pub(super) async fn unassigned(
    State(state): State<ApiState>,
    _operator: Operator,
    Query(page): Query<Page<i64>>,
) -> Result<Json<UnassignedCdrPage>, ApiError> {
    let limit = page.limit()?;
    let rows = state.ledger.unassigned_cdrs(page.after, limit).await?;
    let next = next(&rows, limit, |r| r.id);
    let cdrs = rows.into_iter().map(UnassignedCdr::from).collect();
    Ok(Json(UnassignedCdrPage { cdrs, next }))
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn a_formula_from_a_caller_is_shown_not_run() {
        assert_eq!(cell(Some("=HYPERLINK(\"x\")")), "'=HYPERLINK(\"x\")");
        assert_eq!(cell(Some("@SUM(1)")), "'@SUM(1)");
        assert_eq!(cell(Some("-2+3")), "'-2+3");
        assert_eq!(cell(Some("+442079460000")), "+442079460000");
        assert_eq!(cell(Some("1000")), "1000");
        assert_eq!(cell(None), "");
    }
}

/// This file's routes, for the description ([`super::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(cdrs, export, unassigned))]
pub(super) struct Routes;
