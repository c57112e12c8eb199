//! `section=dialplan`: a call in a tenant's context, routed to one of its extensions or out
//! through its gateway, with the platform's recording and prepaid policy applied.

use super::{LookupError, ServerState};
use esl::proto::HangupCause;
use platform::clock::unix_seconds;
use platform::policy::{self, PrepaidLimit};
use platform::store::{ExtensionRow, Tenant};
use xmlcurl::axum::XmlResponse;
use xmlcurl::{Condition, Context, Dialplan, Extension, NotFound};

pub(super) async fn answer(
    state: &ServerState,
    request: &xmlcurl::Request<'_>,
    call: &xmlcurl::DialplanRequest<'_, '_>,
) -> Result<XmlResponse, LookupError> {
    let (Some(context), Some(destination)) = (call.context(), call.destination()) else {
        return Ok(NotFound.into());
    };
    let Some(tenant) = state.cache.tenant_by_context(context).await? else {
        return Ok(NotFound.into());
    };
    let expression = format!("^{}$", regex_escape(destination));
    let mut condition = Condition::new("destination_number", expression);
    let callee = state.cache.extension(&tenant.tenant, destination).await?;
    if let Some(uuid) = call.unique_id() {
        let caller = caller_extension(state, &tenant, request, call).await?;
        if policy::records(&tenant, caller.as_ref(), callee.as_ref()) {
            let path = policy::recording_path(&state.config.recordings_dir, uuid);
            condition = condition
                .action_owned("set", "RECORD_STEREO=true".into())
                .action_owned("record_session", path.display().to_string());
        }
    }
    let (name, condition) = match callee {
        Some(callee) => (
            format!("internal_{}", callee.extension),
            condition.action_owned(
                "bridge",
                format!("user/{}@{}", callee.extension, tenant.domain),
            ),
        ),
        None => (
            "outbound".to_owned(),
            outbound(state, &tenant, destination, condition).await?,
        ),
    };
    Ok(document(&tenant.context, &name, condition))
}

/// The caller, when it is a registered user of this tenant (its own recording policy counts).
async fn caller_extension(
    state: &ServerState,
    tenant: &Tenant,
    request: &xmlcurl::Request<'_>,
    call: &xmlcurl::DialplanRequest<'_, '_>,
) -> Result<Option<ExtensionRow>, LookupError> {
    match call
        .variable("user_name")
        .or_else(|| request.field("Caller-Username"))
    {
        Some(user) if !user.is_empty() => Ok(state.cache.extension(&tenant.tenant, user).await?),
        _ => Ok(None),
    }
}

/// An outside number: through the tenant's gateway, within what a prepaid balance pays for.
async fn outbound(
    state: &ServerState,
    tenant: &Tenant,
    destination: &str,
    condition: Condition<'static>,
) -> Result<Condition<'static>, LookupError> {
    let Some(gateway) = &tenant.gateway else {
        return Ok(condition.action_owned("hangup", HangupCause::UnallocatedNumber.to_string()));
    };
    let limit = if tenant.prepaid {
        policy::prepaid_limit(&state.ledger, &tenant.tenant, destination, unix_seconds()).await?
    } else {
        PrepaidLimit::Unlimited
    };
    let condition = match limit {
        PrepaidLimit::Barred => {
            return Ok(condition.action_owned("hangup", PrepaidLimit::BARRED.to_string()));
        }
        PrepaidLimit::NoRoute => {
            return Ok(condition.action_owned("hangup", PrepaidLimit::NO_ROUTE.to_string()));
        }
        PrepaidLimit::Seconds(seconds) => {
            // Counted from answer: ringing costs nothing. The marker (on both legs) tells the
            // ESL worker the call is limited already.
            let (marker, value) = policy::limit_marker(seconds);
            condition
                .action_owned(
                    "set",
                    format!(
                        "execute_on_answer=sched_hangup +{seconds} {}",
                        PrepaidLimit::EXPIRED
                    ),
                )
                .action_owned("export", format!("{marker}={value}"))
        }
        PrepaidLimit::Unlimited => condition,
    };
    Ok(condition.action_owned("bridge", format!("sofia/gateway/{gateway}/{destination}")))
}

fn document(context: &str, extension: &str, condition: Condition<'static>) -> XmlResponse {
    Dialplan::new()
        .context(
            Context::new(context.to_owned())
                .extension(Extension::new(extension.to_owned()).condition(condition)),
        )
        .into()
}

/// A dialed number as a literal in a regular expression.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
