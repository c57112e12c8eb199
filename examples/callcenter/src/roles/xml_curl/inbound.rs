//! `section=dialplan` in the `public` context: a call from a trunk to one of the platform's
//! DIDs. The DID's tenant is set on the channel (so its calls, and their CDRs, name the
//! tenant), and the DID itself ([`ChannelVariables::INBOUND_DID`]: such a call dials out only
//! to its DID's own outside route), and the call is transferred into the tenant's context, to
//! the DID route's destination there, where the tenant's dialplan routes it. Anything
//! else, an unknown number or one without a route, is refused as an unallocated number:
//! a trunk's caller reaches no tenant's dialplan but through a DID.

use super::dialplan::{document, regex_escape, unallocated};
use super::{LookupError, ServerState};
use esl::api::{is_dialed_number, is_name};
use platform::inbound::PUBLIC_CONTEXT;
use platform::variables::ChannelVariables;
use xmlcurl::Condition;
use xmlcurl::axum::XmlResponse;

pub(super) async fn answer(state: &ServerState, number: &str) -> Result<XmlResponse, LookupError> {
    if !is_dialed_number(number) {
        return Ok(unallocated(PUBLIC_CONTEXT));
    }
    let Some(did) = state.cache.did(number).await? else {
        tracing::info!(did = %number, "refused a call to a number that is no DID");
        return Ok(unallocated(PUBLIC_CONTEXT));
    };
    let tenant = state
        .cache
        .tenant(&did.tenant)
        .await?
        .filter(|tenant| !tenant.disabled);
    // A schedule chooses by the time in the tenant's time zone.
    let now = platform::clock::unix_seconds();
    let destination = tenant
        .as_ref()
        .and_then(|t| did.at(t.time_zone.as_deref(), now).1);
    let (Some(destination), Some(tenant)) = (destination, tenant) else {
        tracing::info!(did = %number, tenant = %did.tenant, "refused a call to a DID without a route");
        return Ok(unallocated(PUBLIC_CONTEXT));
    };
    // Written by the store's rules; checked again where it reaches the transfer's arguments.
    if !is_dialed_number(destination) && !is_name(destination) {
        tracing::error!(did = %number, tenant = %did.tenant, "a DID's destination breaks the rule for names: fix its route");
        return Ok(unallocated(PUBLIC_CONTEXT));
    }
    let condition = Condition::new("destination_number", format!("^{}$", regex_escape(number)))
        .action_owned(
            "set",
            format!("{}={}", state.config.variables.tenant(), tenant.tenant),
        )
        .action_owned("set", format!("{}={number}", ChannelVariables::INBOUND_DID))
        .action_owned("transfer", format!("{destination} XML {}", tenant.context));
    Ok(document(PUBLIC_CONTEXT, "did", condition))
}
