//! `section=configuration`: `callcenter.conf` (queues, agents, tiers) and `ivr.conf` (menus)
//! of every tenant, each name qualified as `name@tenant` ([`platform::inbound::qualified`]) so
//! tenants cannot collide.

use super::{LookupError, ServerState};
use platform::contact_center::tenant_of;
use platform::inbound::qualified;
use platform::ivr::MenuAction;
use platform::store::{MenuRow, Tenant};
use std::collections::{HashMap, HashSet};
use xmlcurl::axum::XmlResponse;
use xmlcurl::{Agent, CallCenter, Ivr, Menu, NotFound, Queue, Tier};

pub(super) async fn answer(
    state: &ServerState,
    request: &xmlcurl::Request<'_>,
) -> Result<XmlResponse, LookupError> {
    match request.configuration_file() {
        Some("callcenter.conf") => call_center(state, request.field("CC-Queue")).await,
        Some("ivr.conf") => ivr(state, request.field("Menu-Name")).await,
        _ => Ok(NotFound.into()),
    }
}

/// `callcenter.conf`: every tenant's queues, agents and tiers when mod_callcenter loads, or,
/// when it loads one queue (`CC-Queue`: `queue load`, a call to a queue it has not loaded),
/// that queue with its tiers and their agents only: it reads every agent and tier of the
/// document it gets, and one tenant's queue must not reload every tenant's agents.
async fn call_center(
    state: &ServerState,
    only_queue: Option<&str>,
) -> Result<XmlResponse, LookupError> {
    let (_, mut queues, mut agents, mut tiers) = state.cache.store().call_center().await?;
    if let Some(wanted) = only_queue {
        queues.retain(|q| qualified(&q.name, &q.tenant) == wanted);
        tiers.retain(|t| qualified(&t.queue, &t.tenant) == wanted);
        agents.retain(|a| {
            tiers
                .iter()
                .any(|t| t.tenant == a.tenant && t.agent == a.name)
        });
    }
    let mut document = CallCenter::new();
    for queue in queues {
        let mut entry =
            Queue::new(qualified(&queue.name, &queue.tenant)).param("strategy", queue.strategy);
        if let Some(moh) = queue.moh_sound {
            entry = entry.param("moh-sound", playable(state, &queue.tenant, &moh).await);
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
    let store = state.cache.store();
    let (tenants, menus) = store.menus().await?;
    let wanted_tenant = wanted.map(|name| tenant_of(name).unwrap_or_default());
    let mut document = Ivr::new();
    for tenant in &tenants {
        if wanted_tenant.is_some_and(|wanted| tenant.tenant != wanted) {
            continue;
        }
        let mine: Vec<&MenuRow> = menus.iter().filter(|m| m.tenant == tenant.tenant).collect();
        if mine.is_empty() {
            continue;
        }
        let destinations = Destinations::of(state, tenant, &mine).await?;
        for menu in mine {
            let mut sounds = Vec::with_capacity(4);
            for sound in [
                &menu.greet_long,
                &menu.greet_short,
                &menu.invalid_sound,
                &menu.exit_sound,
            ] {
                sounds.push(playable(state, &tenant.tenant, sound).await);
            }
            document = document.menu(served_menu(menu, sounds, tenant, &destinations));
        }
    }
    Ok(document.into())
}

/// Where a tenant's menu entries send calls in its context: its queues' dial names and its
/// DIDs' destinations.
struct Destinations {
    extensions: HashSet<String>,
    queues: HashMap<String, String>,
    groups: HashMap<String, String>,
    dids: HashMap<String, String>,
}

impl Destinations {
    async fn of(
        state: &ServerState,
        tenant: &Tenant,
        menus: &[&MenuRow],
    ) -> Result<Self, LookupError> {
        let store = state.cache.store();
        let queues = store
            .queues(&tenant.tenant)
            .await?
            .into_iter()
            .filter_map(|q| Some((q.name, q.extension?)))
            .collect();
        // Only the DIDs the menus name, through the cache (not every DID of the tenant).
        let mut dids = HashMap::new();
        let named = menus
            .iter()
            .flat_map(|m| &m.entries)
            .filter_map(|e| match &e.action {
                MenuAction::Did(number) => Some(number),
                _ => None,
            });
        for number in named.collect::<HashSet<_>>() {
            if let Some(did) = state.cache.did(number).await?
                && did.tenant == tenant.tenant
                && let Some(destination) = did.destination
            {
                dids.insert(number.clone(), destination);
            }
        }
        let groups = store
            .ring_groups(&tenant.tenant)
            .await?
            .into_iter()
            .filter_map(|g| Some((g.name, g.extension?)))
            .collect();
        let extensions = store
            .extension_names(&tenant.tenant)
            .await?
            .into_iter()
            .collect();
        Ok(Destinations {
            extensions,
            queues,
            groups,
            dids,
        })
    }
}

/// What FreeSWITCH plays for one of `tenant`'s sounds: a `prompt:NAME` as its URL or file (a
/// short silence when it cannot be reached: a menu without its greeting still takes digits),
/// any other sound as it is.
async fn playable(state: &ServerState, tenant: &str, sound: &str) -> String {
    const SILENCE: &str = "silence_stream://250";
    match &state.config.prompts {
        Some(prompts) => prompts
            .playable(tenant, sound)
            .await
            .unwrap_or_else(|| SILENCE.to_owned()),
        None if sound.starts_with("prompt:") => SILENCE.to_owned(),
        None => sound.to_owned(),
    }
}

/// A menu as `ivr.conf` carries it: each typed entry as the one FreeSWITCH action it stands
/// for. An entry whose target reaches nothing any more (an extension removed, a queue without a
/// dial name, a DID without a route) is left out, so its digits count as invalid.
fn served_menu<'a>(
    menu: &'a MenuRow,
    sounds: Vec<String>,
    tenant: &Tenant,
    destinations: &Destinations,
) -> Menu<'a> {
    let mut entry = Menu::new(qualified(&menu.name, &menu.tenant));
    for (attribute, sound) in ["greet-long", "greet-short", "invalid-sound", "exit-sound"]
        .into_iter()
        .zip(sounds)
    {
        entry = entry.attr(attribute, sound);
    }
    let mut entry = entry
        .attr("timeout", menu.timeout_ms.to_string())
        .attr("max-failures", menu.max_failures.to_string());
    let transfer = |destination: &str| format!("transfer {destination} XML {}", tenant.context);
    for item in &menu.entries {
        let (action, param) = match &item.action {
            // A removed extension's name would be dialled out as a number.
            MenuAction::Extension(name) if destinations.extensions.contains(name) => {
                ("menu-exec-app", Some(transfer(name)))
            }
            MenuAction::Extension(_) => continue,
            MenuAction::Queue(name) => match destinations.queues.get(name) {
                Some(dial) => ("menu-exec-app", Some(transfer(dial))),
                None => continue,
            },
            MenuAction::Group(name) => match destinations.groups.get(name) {
                Some(dial) => ("menu-exec-app", Some(transfer(dial))),
                None => continue,
            },
            MenuAction::Did(number) => match destinations.dids.get(number) {
                Some(destination) => ("menu-exec-app", Some(transfer(destination))),
                None => continue,
            },
            MenuAction::Menu(name) => ("menu-sub", Some(qualified(name, &menu.tenant))),
            MenuAction::Repeat => ("menu-top", None),
            MenuAction::HangUp => ("menu-exec-app", Some("hangup".to_owned())),
        };
        entry = entry.entry(action, item.digits.as_str(), param);
    }
    entry
}
