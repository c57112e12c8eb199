//! `section=directory` with `purpose=gateways`: a sofia profile asking for the gateways of its
//! domains (at its start and on `sofia profile NAME rescan`). The trunks of that profile are
//! served under [`GATEWAYS_DOMAIN`], as gateways of one user no one can register as (it has no
//! credential); every other domain has none.

use super::{LookupError, ServerState};
use platform::trunks::{GATEWAYS_DOMAIN, TrunkRow};
use xmlcurl::axum::XmlResponse;
use xmlcurl::{Directory, Domain, Gateway, NotFound, User};

/// Answers a gateways lookup for `domain` (`None`: a profile whose domains are `all`) and
/// `profile`.
pub(super) async fn answer(
    state: &ServerState,
    domain: Option<&str>,
    profile: Option<&str>,
) -> Result<XmlResponse, LookupError> {
    let ours = domain.is_none_or(|d| d.is_empty() || d.eq_ignore_ascii_case(GATEWAYS_DOMAIN));
    let Some(profile) = profile.filter(|p| ours && !p.is_empty()) else {
        return Ok(NotFound.into());
    };
    let trunks = state.cache.store().trunks(Some(profile)).await?;
    let mut user = User::new("trunks");
    for trunk in &trunks {
        user = user.gateway(gateway(trunk));
    }
    Ok(Directory::new()
        .domain(Domain::new(GATEWAYS_DOMAIN).user(user))
        .into())
}

/// A trunk as sofia's gateway parameters.
fn gateway(trunk: &TrunkRow) -> Gateway<'static> {
    let mut gateway = Gateway::new(trunk.name.clone())
        .param("proxy", trunk.proxy.clone())
        .param("register", if trunk.register { "true" } else { "false" })
        .param(
            "caller-id-in-from",
            if trunk.caller_id_in_from {
                "true"
            } else {
                "false"
            },
        )
        .param("expire-seconds", trunk.expire_seconds.to_string())
        .param("retry-seconds", trunk.retry_seconds.to_string());
    for (name, value) in [
        ("realm", &trunk.realm),
        ("username", &trunk.username),
        ("password", &trunk.password),
        ("from-domain", &trunk.from_domain),
    ] {
        if let Some(value) = value {
            gateway = gateway.param(name, value.clone());
        }
    }
    gateway
}
