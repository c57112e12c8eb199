//! `section=dialplan`: a call in a tenant's context, routed to one of its extensions, its
//! queues or IVR menus (by their dial names), or out through its gateway, with the platform's
//! recording and prepaid policy applied. Calls from trunks (the `public` context) are
//! [`super::inbound`]'s.

use super::{LookupError, ServerState};
use esl::api::{DialedNumber, Endpoint, Ringing, is_dialed_number, is_name};
use esl::proto::HangupCause;
use platform::clock::unix_seconds;
use platform::inbound::{DialTarget, PUBLIC_CONTEXT, qualified};
use platform::policy::{self, PrepaidLimit};
use platform::ring_groups::{RingGroupRow, RingStrategy};
use platform::store::{ExtensionRow, Tenant};
use platform::variables::ChannelVariables;
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
    if context == PUBLIC_CONTEXT {
        return super::inbound::answer(state, destination).await;
    }
    let Some(tenant) = state.cache.tenant_by_context(context).await? else {
        return Ok(NotFound.into());
    };
    if tenant.disabled {
        tracing::info!(tenant = %tenant.tenant, "refused a call of a disabled tenant");
        return Ok(unallocated(&tenant.context));
    }
    // Anything but a number or an extension's name could carry a second endpoint, a variable
    // or an expansion into the dial string: refused before it reaches one.
    if !is_dialed_number(destination) && !is_name(destination) {
        tracing::warn!(
            tenant = %tenant.tenant,
            destination = %destination.escape_debug().to_string().chars().take(80).collect::<String>(),
            "refused a dialled string that is neither a number nor an extension"
        );
        return Ok(unallocated(&tenant.context));
    }
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
        Some(callee) => {
            let user = Endpoint::User {
                user: callee.extension.clone(),
                domain: Some(tenant.domain.clone()),
            };
            (
                format!("internal_{}", callee.extension),
                bridge(condition, &user, &tenant),
            )
        }
        None if let Some(target) = state.cache.dial_target(&tenant.tenant, destination).await? => (
            "call_center".to_owned(),
            call_center(condition, &target, &tenant, state).await?,
        ),
        // `*` and `#` codes are the switch's, not the carrier's: they never go out (rating reads
        // digits after a `+` only, so they would go out unrated).
        None if !may_dial_out(state, &tenant, call, destination).await? => {
            return Ok(unallocated(&tenant.context));
        }
        None => match DialedNumber::parse(destination) {
            Ok(number) if !number.as_str().starts_with(['*', '#']) => (
                "outbound".to_owned(),
                outbound(state, &tenant, call, &number, condition).await?,
            ),
            // A name or code that is no extension of the tenant.
            _ => return Ok(unallocated(&tenant.context)),
        },
    };
    Ok(document(&tenant.context, &name, condition))
}

/// Bridges to `endpoint`, written by the esl crate's dial-string rules; an endpoint they
/// refuse (a gateway or domain misconfigured with a separator in its name) hangs up instead.
fn bridge(
    condition: Condition<'static>,
    endpoint: &Endpoint,
    tenant: &Tenant,
) -> Condition<'static> {
    match endpoint.to_dial_string() {
        Ok(dial_string) => condition.action_owned("bridge", dial_string),
        Err(error) => {
            tracing::error!(tenant = %tenant.tenant, %error, "cannot bridge: fix the tenant's gateway or domain");
            condition.action_owned("hangup", HangupCause::UnallocatedNumber.to_string())
        }
    }
}

/// Whether this call may go out to `destination`: any of the tenant's own calls may; a call
/// that came in from a trunk to a DID ([`ChannelVariables::INBOUND_DID`]) only to that DID's
/// own outside route, so nothing but a route its admin set makes an outside caller's call an
/// outside call the tenant pays for.
async fn may_dial_out(
    state: &ServerState,
    tenant: &Tenant,
    call: &xmlcurl::DialplanRequest<'_, '_>,
    destination: &str,
) -> Result<bool, LookupError> {
    let Some(number) = call.variable(ChannelVariables::INBOUND_DID) else {
        return Ok(true);
    };
    let outside = platform::inbound::DidRoute::Outside(destination.to_owned());
    let now = unix_seconds();
    let allowed = state.cache.did(number).await?.is_some_and(|did| {
        did.tenant == tenant.tenant && did.at(tenant.time_zone.as_deref(), now).0 == Some(&outside)
    });
    if !allowed {
        tracing::warn!(tenant = %tenant.tenant, did = %number, "refused an outside call for a caller from a trunk: not its DID's route");
    }
    Ok(allowed)
}

/// A queue or an IVR menu of `tenant`: answered, named to FreeSWITCH as `name@tenant`.
async fn call_center(
    condition: Condition<'static>,
    target: &DialTarget,
    tenant: &Tenant,
    state: &ServerState,
) -> Result<Condition<'static>, LookupError> {
    let condition = condition.action_owned(
        "set",
        format!("{}={}", state.config.variables.tenant(), tenant.tenant),
    );
    Ok(match target {
        DialTarget::Queue(queue) => condition
            .action("answer", None)
            .action_owned("callcenter", qualified(queue, &tenant.tenant)),
        DialTarget::Menu(menu) => condition
            .action("answer", None)
            .action_owned("ivr", qualified(menu, &tenant.tenant)),
        DialTarget::Group(name) => {
            let group = state.cache.store().ring_group(&tenant.tenant, name).await?;
            ring_group(condition, group.as_ref(), tenant)
        }
    })
}

/// Rings a ring group's members (registered users of the tenant's domain), all at once or in
/// turn, each for the group's ring time; nobody answering is `NO_ANSWER`.
fn ring_group(
    condition: Condition<'static>,
    group: Option<&RingGroupRow>,
    tenant: &Tenant,
) -> Condition<'static> {
    let Some(group) = group else {
        return condition.action_owned("hangup", HangupCause::UnallocatedNumber.to_string());
    };
    let members: Vec<Endpoint> = group
        .members
        .iter()
        .map(|member| Endpoint::User {
            user: member.clone(),
            domain: Some(tenant.domain.clone()),
        })
        .collect();
    let ringing = match group.strategy {
        RingStrategy::Simultaneous => Ringing::Simultaneous,
        RingStrategy::Sequential => Ringing::Sequential,
    };
    match esl::api::ring(&members, ringing, Some(group.ring_seconds)) {
        Ok(dial_string) => condition
            .action_owned("set", "hangup_after_bridge=true".into())
            .action_owned("bridge", dial_string)
            .action_owned("hangup", HangupCause::NoAnswer.to_string()),
        Err(error) => {
            tracing::error!(tenant = %tenant.tenant, group = %group.name, %error, "cannot ring the group");
            condition.action_owned("hangup", HangupCause::UnallocatedNumber.to_string())
        }
    }
}

/// A document that hangs the call up as an unallocated number, whatever was dialled (the
/// dialled string is not echoed back).
pub(super) fn unallocated(context: &str) -> XmlResponse {
    let condition = Condition::new("destination_number", "^".to_owned())
        .action_owned("hangup", HangupCause::UnallocatedNumber.to_string());
    document(context, "unallocated", condition)
}

/// A document that refuses the call with `SERVICE_UNAVAILABLE` in `context` (the request's),
/// whatever was dialled: the answer to a lookup that failed.
pub(super) fn unavailable(context: Option<&str>) -> XmlResponse {
    let condition = Condition::new("destination_number", "^".to_owned())
        .action_owned("hangup", PrepaidLimit::UNAVAILABLE.to_string());
    document(context.unwrap_or("default"), "unavailable", condition)
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
/// Prepaid fails closed: when the ledger cannot hold the call's first slice, the call is
/// refused with [`PrepaidLimit::UNAVAILABLE`] (answering 503 would send FreeSWITCH to its
/// static dialplan, unlimited).
async fn outbound(
    state: &ServerState,
    tenant: &Tenant,
    call: &xmlcurl::DialplanRequest<'_, '_>,
    number: &DialedNumber,
    condition: Condition<'static>,
) -> Result<Condition<'static>, LookupError> {
    let Some(gateway) = &tenant.gateway else {
        return Ok(condition.action_owned("hangup", HangupCause::UnallocatedNumber.to_string()));
    };
    let limit = if tenant.prepaid {
        let held = match call.unique_id() {
            Some(uuid) => {
                policy::prepaid_limit(&state.ledger, tenant, uuid, number.as_str(), unix_seconds())
                    .await
            }
            None => Ok(PrepaidLimit::Barred),
        };
        match held {
            Ok(limit) => limit,
            Err(error) => {
                let id = crate::http::ErrorId::log("prepaid authorisation", &error);
                tracing::warn!(tenant = %tenant.tenant, error_id = %id, cause = %PrepaidLimit::UNAVAILABLE, "prepaid call refused: the ledger cannot authorise it");
                return Ok(condition.action_owned("hangup", PrepaidLimit::UNAVAILABLE.to_string()));
            }
        }
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
        PrepaidLimit::Held { seconds, hold } => {
            // On the trunk leg only (`nolocal:`), counted from its answer: ringing costs
            // nothing, and a caller leg answered before this lookup (click-to-call, a
            // transfer) is limited by the leg that reaches the number. The marker (on both
            // legs) tells the ESL worker the call is limited already; the hold's id lets it
            // extend the hold slice by slice.
            let (marker, value) = policy::limit_marker(seconds);
            condition
                .action_owned(
                    "export",
                    format!(
                        "nolocal:execute_on_answer=sched_hangup +{seconds} {}",
                        PrepaidLimit::EXPIRED
                    ),
                )
                .action_owned(
                    "export",
                    format!("nolocal:{}={hold}", ChannelVariables::HOLD),
                )
                .action_owned("export", format!("{marker}={value}"))
        }
        PrepaidLimit::Unlimited => condition,
    };
    let trunk = Endpoint::Gateway {
        gateway: gateway.clone(),
        number: number.clone(),
    };
    Ok(bridge(condition, &trunk, tenant))
}

pub(super) fn document(
    context: &str,
    extension: &str,
    condition: Condition<'static>,
) -> XmlResponse {
    Dialplan::new()
        .context(
            Context::new(context.to_owned())
                .extension(Extension::new(extension.to_owned()).condition(condition)),
        )
        .into()
}

/// A dialed number as a literal in a regular expression.
pub(super) fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
