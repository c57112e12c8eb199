//! What the operator does to run the platform, one rule for the CLI and the API alike:
//! tenants with their account (rate plan, prepaid, credit limit), trunks, rate plans imported
//! from CSV, and top-ups. Each function checks everything before it writes anything.

use billing::{Decimal, Ledger, LedgerError, PlanRecord, Rounding};
use platform::store::{PlatformError, PlatformStore, Tenant};
use platform::trunks::TrunkRow;

/// Why an operator's change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The request breaks a rule (the text says which).
    #[error("{0}")]
    Invalid(String),
    /// It contradicts what is stored (a plan in another currency than the account's).
    #[error("{0}")]
    Conflict(String),
    /// What it names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The platform's store refused or failed.
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// The ledger refused or failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// A tenant as the operator sets it: the store's tenant and its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSpec {
    /// The tenant: SIP domain, context, trunk (`gateway`), policies.
    pub tenant: Tenant,
    /// The rate plan its calls are charged by (its currency is the account's).
    pub rate_plan: String,
    /// How far below zero its balance may go, in the plan's currency.
    pub credit_limit: Decimal,
}

/// Adds or changes a tenant and opens or changes its account. The trunk must exist, the plan
/// must exist, and an existing account keeps its currency (a plan in another currency is
/// refused: its balance would change meaning).
pub async fn put_tenant(
    ledger: &Ledger,
    store: &PlatformStore,
    spec: &TenantSpec,
) -> Result<(), AdminError> {
    let before = store.tenant(&spec.tenant.tenant).await?;
    // A trunk named anew must exist (one kept as it was may be FreeSWITCH's own gateway).
    if let Some(trunk) = &spec.tenant.gateway
        && before
            .as_ref()
            .is_none_or(|b| b.gateway.as_ref() != Some(trunk))
        && store.trunk(trunk).await?.is_none()
    {
        return Err(AdminError::Invalid(format!("no trunk {trunk:?}")));
    }
    // SIP credentials are stored as hashes of user, domain and password: under another
    // domain every phone would be refused, and the passwords cannot be recovered.
    if let Some(before) = &before
        && !before.domain.eq_ignore_ascii_case(&spec.tenant.domain)
        && !store.extension_names(&spec.tenant.tenant).await?.is_empty()
    {
        return Err(AdminError::Conflict(format!(
            "tenant {:?} has extensions, whose SIP credentials are bound to domain {:?}: remove them, or keep the domain",
            spec.tenant.tenant, before.domain
        )));
    }
    let plans = ledger.plan_ids().await?;
    let Some((_, currency, decimals)) = plans.iter().find(|(id, ..)| id == &spec.rate_plan) else {
        return Err(AdminError::Invalid(format!(
            "no rate plan {:?}",
            spec.rate_plan
        )));
    };
    if spec.credit_limit < Decimal::ZERO || spec.credit_limit.normalize().scale() > *decimals {
        return Err(AdminError::Invalid(format!(
            "a credit limit is zero or more, with at most {decimals} decimals ({currency})"
        )));
    }
    if let Some(account) = ledger.account(&spec.tenant.tenant).await?
        && &account.currency != currency
    {
        return Err(AdminError::Conflict(format!(
            "the account is in {}; plan {:?} is in {currency}",
            account.currency, spec.rate_plan
        )));
    }
    store.put_tenant(&spec.tenant).await?;
    ledger
        .open_account(&spec.tenant.tenant, &spec.rate_plan, spec.credit_limit)
        .await?;
    Ok(())
}

/// A tenant and its account, as stored.
pub async fn tenant(
    ledger: &Ledger,
    store: &PlatformStore,
    tenant: &str,
) -> Result<Option<(TenantSpec, Option<billing::Balance>)>, AdminError> {
    let Some(row) = store.tenant(tenant).await? else {
        return Ok(None);
    };
    let account = ledger.account(tenant).await?;
    let balance = match account {
        Some(_) => Some(ledger.balance(tenant).await?),
        None => None,
    };
    Ok(Some((
        TenantSpec {
            tenant: row,
            rate_plan: account.map(|a| a.plan).unwrap_or_default(),
            credit_limit: balance.map_or(Decimal::ZERO, |b| b.credit_limit),
        },
        balance,
    )))
}

/// Imports a rate plan from CSV (`prefix,name,rate_per_minute,connect_fee`...; see
/// [`billing::RatePlan::from_csv`]) as the plan of that id in force from `valid_from` (Unix
/// seconds; now by default): calls answered before keep the version they were answered under
/// ([`Ledger::save_plan_from`]). A row that does not parse is refused with its line number,
/// and nothing is stored.
pub async fn import_plan(
    ledger: &Ledger,
    id: &str,
    currency: &str,
    decimals: u32,
    rounding: Rounding,
    csv: String,
    valid_from: Option<i64>,
) -> Result<(), AdminError> {
    if !esl::api::is_name(id) {
        return Err(AdminError::Invalid(
            "a plan id is 1 to 64 letters, digits, '_', '-' or '.'".into(),
        ));
    }
    if billing::Currency::new(currency, decimals).is_none() || decimals > 6 {
        return Err(AdminError::Invalid(
            "a currency is a three-letter ISO code (EUR) with 0 to 6 decimals".into(),
        ));
    }
    // A plan accounts are charged by keeps its currency (their balances are in it), and
    // what the CSV does not carry (its fallback plan, its periods' offset) stays.
    let stored = ledger.plan_record(id).await?;
    if let Some(stored) = &stored
        && (stored.currency != currency || stored.decimals != decimals)
        && ledger.accounts_on_plan(id).await? > 0
    {
        return Err(AdminError::Conflict(format!(
            "plan {id:?} is in {} with {} decimals and accounts are charged by it; import the new rates as another plan",
            stored.currency, stored.decimals
        )));
    }
    let record = PlanRecord {
        id: id.to_owned(),
        currency: currency.to_owned(),
        decimals,
        rounding,
        utc_offset_minutes: stored.as_ref().map_or(0, |s| s.utc_offset_minutes),
        fallback: stored.and_then(|s| s.fallback),
        rates_csv: csv,
    };
    let saved = match valid_from {
        Some(from) => ledger.save_plan_from(&record, from).await,
        None => ledger.save_plan(&record).await,
    };
    match saved {
        Err(LedgerError::Plan(error)) => Err(AdminError::Invalid(error.to_string())),
        Err(error @ LedgerError::VersionOrder { .. }) => {
            Err(AdminError::Conflict(error.to_string()))
        }
        other => Ok(other?),
    }
}

/// Adds or changes a trunk; the trunk it replaced, if any.
pub async fn put_trunk(
    store: &PlatformStore,
    trunk: &TrunkRow,
) -> Result<Option<TrunkRow>, AdminError> {
    Ok(store.put_trunk(trunk).await?)
}

/// Credits a tenant's account once per payment `reference` (see [`Ledger::top_up`]): the
/// amount as people write it (`10.50`), within the account currency's decimals and at most
/// `max`.
pub async fn top_up(
    ledger: &Ledger,
    tenant: &str,
    amount: &str,
    reference: &str,
    max: Decimal,
) -> Result<billing::Balance, AdminError> {
    let amount = billing::parse_amount(amount).map_err(|e| AdminError::Invalid(e.to_string()))?;
    if amount <= Decimal::ZERO {
        return Err(AdminError::Invalid("a top-up is positive".into()));
    }
    if amount > max {
        return Err(AdminError::Invalid(format!("a top-up is at most {max}")));
    }
    if reference.is_empty() || reference.len() > 128 || reference.chars().any(char::is_control) {
        return Err(AdminError::Invalid(
            "a reference is 1 to 128 characters, none a control character".into(),
        ));
    }
    match ledger.top_up(tenant, amount, reference).await {
        Err(LedgerError::UnknownTenant(tenant)) => Err(AdminError::NotFound(format!(
            "no account for tenant {tenant:?}"
        ))),
        Err(error @ LedgerError::ReferenceConflict { .. }) => {
            Err(AdminError::Conflict(error.to_string()))
        }
        Err(error @ LedgerError::Precision { .. }) => Err(AdminError::Invalid(error.to_string())),
        other => Ok(other?),
    }
}

/// Checks a tenant's user before it is stored: the tenant exists, the role is a tenant's,
/// the extension (if any) is one of the tenant's, and the password has at least 8
/// characters.
pub async fn check_user(
    store: &PlatformStore,
    user: &crate::api::ApiUser,
    password: &str,
) -> Result<(), AdminError> {
    if store.tenant(&user.tenant).await?.is_none() {
        return Err(AdminError::Invalid(format!("no tenant {:?}", user.tenant)));
    }
    if user.role == crate::api::Role::Operator {
        return Err(AdminError::Invalid(
            "a tenant's user is an admin or an agent".into(),
        ));
    }
    if let Some(extension) = &user.extension
        && store.extension(&user.tenant, extension).await?.is_none()
    {
        return Err(AdminError::Invalid(format!(
            "{extension:?} is not an extension of tenant {:?}",
            user.tenant
        )));
    }
    if password.chars().count() < 8 {
        return Err(AdminError::Invalid(
            "a password has at least 8 characters".into(),
        ));
    }
    Ok(())
}

/// A time as the command line takes it: Unix seconds or ISO 8601 with an offset
/// (`2027-01-01T00:00:00Z`); Unix seconds.
///
/// ```
/// assert_eq!(callcenter::admin::parse_time("2027-01-01T00:00:00Z").unwrap(), 1_798_761_600);
/// assert_eq!(callcenter::admin::parse_time("1798761600").unwrap(), 1_798_761_600);
/// assert!(callcenter::admin::parse_time("next year").is_err());
/// ```
pub fn parse_time(text: &str) -> Result<i64, AdminError> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|time| time.timestamp())
        .map_err(|_| {
            AdminError::Invalid(format!(
                "{text:?} is not a time: Unix seconds or ISO 8601 with an offset"
            ))
        })
}
