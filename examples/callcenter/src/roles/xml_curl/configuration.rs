//! `section=configuration`: `callcenter.conf` (queues, agents, tiers) and `ivr.conf` (menus)
//! of every tenant, each name qualified as `name@tenant` ([`platform::inbound::qualified`]) so
//! tenants cannot collide.

use super::{LookupError, ServerState};
use platform::contact_center::tenant_of;
use platform::inbound::qualified;
use xmlcurl::axum::XmlResponse;
use xmlcurl::{Agent, CallCenter, Ivr, Menu, NotFound, Queue, Tier};

pub(super) async fn answer(
    state: &ServerState,
    request: &xmlcurl::Request<'_>,
) -> Result<XmlResponse, LookupError> {
    match request.configuration_file() {
        Some("callcenter.conf") => call_center(state).await,
        Some("ivr.conf") => ivr(state, request.field("Menu-Name")).await,
        _ => Ok(NotFound.into()),
    }
}

async fn call_center(state: &ServerState) -> Result<XmlResponse, LookupError> {
    let (_, queues, agents, tiers) = state.cache.store().call_center().await?;
    let mut document = CallCenter::new();
    for queue in queues {
        let mut entry =
            Queue::new(qualified(&queue.name, &queue.tenant)).param("strategy", queue.strategy);
        if let Some(moh) = queue.moh_sound {
            entry = entry.param("moh-sound", moh);
        }
        document = document.queue(entry);
    }
    for agent in agents {
        document = document.agent(
            Agent::new(qualified(&agent.name, &agent.tenant), agent.contact).status(agent.status),
        );
    }
    for tier in tiers {
        document = document.tier(
            Tier::new(
                qualified(&tier.agent, &tier.tenant),
                qualified(&tier.queue, &tier.tenant),
            )
            .level(tier.level.max(0) as u64)
            .position(tier.position.max(0) as u64),
        );
    }
    Ok(document.into())
}

/// `ivr.conf`: the menus of the tenant whose menu FreeSWITCH asks for (`Menu-Name`:
/// `name@tenant`; its submenus are found in the same document), or every menu when it names
/// none. FreeSWITCH finds a menu by name ignoring case: no other tenant's is served beside
/// the one asked for, so none can answer for it.
async fn ivr(state: &ServerState, wanted: Option<&str>) -> Result<XmlResponse, LookupError> {
    let (_, menus) = state.cache.store().menus().await?;
    let wanted_tenant = wanted.map(|name| tenant_of(name).unwrap_or_default());
    let mut document = Ivr::new();
    for menu in &menus {
        if wanted_tenant.is_some_and(|tenant| menu.tenant != tenant) {
            continue;
        }
        let mut entry = Menu::new(qualified(&menu.name, &menu.tenant))
            .attr("greet-long", menu.greet_long.as_str())
            .attr("greet-short", menu.greet_short.as_str())
            .attr("invalid-sound", menu.invalid_sound.as_str())
            .attr("exit-sound", menu.exit_sound.as_str())
            .attr("timeout", menu.timeout_ms.to_string())
            .attr("max-failures", menu.max_failures.to_string());
        for (digits, action, param) in &menu.entries {
            let param = (!param.is_empty()).then_some(param.as_str());
            entry = entry.entry(action.as_str(), digits.as_str(), param);
        }
        document = document.menu(entry);
    }
    Ok(document.into())
}
