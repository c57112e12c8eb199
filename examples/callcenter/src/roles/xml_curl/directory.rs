//! `section=directory`: a tenant's extension, found by SIP domain and user.

use super::{LookupError, ServerState};
use platform::variables::ChannelVariables;
use xmlcurl::axum::XmlResponse;
use xmlcurl::{Directory, Domain, NotFound, User};

/// How FreeSWITCH reaches a registered user of the domain.
const DIAL_STRING: &str = "{^^:sip_invite_domain=${dialed_domain}:presence_id=${dialed_user}@${dialed_domain}}${sofia_contact(*/${dialed_user}@${dialed_domain})}";

pub(super) async fn answer(
    state: &ServerState,
    lookup: &xmlcurl::DirectoryRequest<'_, '_>,
) -> Result<XmlResponse, LookupError> {
    if lookup.purpose() == Some("gateways") {
        return super::gateways::answer(state, lookup.domain(), lookup.profile()).await;
    }
    let (Some(user), Some(domain)) = (lookup.user(), lookup.domain()) else {
        return Ok(NotFound.into());
    };
    let Some(tenant) = state.cache.tenant_by_domain(domain).await? else {
        return Ok(NotFound.into());
    };
    if tenant.disabled {
        tracing::info!(tenant = %tenant.tenant, "a disabled tenant's user is not served");
        return Ok(NotFound.into());
    }
    let Some(row) = state.cache.extension(&tenant.tenant, user).await? else {
        return Ok(NotFound.into());
    };
    // The store keeps SIP passwords as their a1-hash only. A user without one is not served:
    // FreeSWITCH would let anyone register as a user with neither password nor hash.
    let Some(hash) = row
        .a1_hash
        .as_ref()
        .filter(|h| platform::identity::is_a1_hash(h))
    else {
        tracing::warn!(tenant = %tenant.tenant, extension = %row.extension, "an extension without a credential is not served: set its password");
        return Ok(NotFound.into());
    };
    let mut user = User::new(row.extension.clone()).param("a1-hash", hash.clone());
    user = user
        .variable(ChannelVariables::USER_CONTEXT, tenant.context.clone())
        .variable(
            state.config.variables.tenant().to_owned(),
            tenant.tenant.clone(),
        );
    if let Some(name) = &row.caller_id_name {
        user = user.variable("effective_caller_id_name", name.clone());
    }
    let number = row
        .caller_id_number
        .clone()
        .unwrap_or(row.extension.clone());
    user = user.variable("effective_caller_id_number", number);
    if row.record_calls {
        user = user.variable(ChannelVariables::RECORD_CALLS, "true");
    }
    let domain = Domain::new(tenant.domain.clone())
        .param("dial-string", DIAL_STRING)
        .user(user);
    Ok(Directory::new().domain(domain).into())
}
