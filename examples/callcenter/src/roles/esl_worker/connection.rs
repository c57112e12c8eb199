//! One node's connection: connect (retried forever), subscribe, re-sync the live calls from
//! `show channels`, the call center from `callcenter_config ... list` and the trunks' profiles
//! (`sofia profile ... rescan`), then follow the events until the connection ends for good.
//! With the event bus, the node's whole state is published after each re-sync, at every loss
//! and every [`super::EslWorkerConfig::state_every`].

use super::call_center_config::already_there;
use super::{Shared, cdrs, lock, prepaid, recordings, statistics};
use esl::api::CallCenterList;
use esl::client::{Client, EventStream, Incoming, Options};
use esl::proto::Event;
use platform::calls::{CHANNEL_EVENTS, CallEvent, parse_channels};
use platform::contact_center::{self, ListTable, member_outcome};
use platform::events::mirror::NodeState;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The events the worker subscribes to.
/// (CHANNEL_HANGUP_COMPLETE, among the channel events, also carries the CDR.)
fn subscriptions() -> Vec<&'static str> {
    let mut events = CHANNEL_EVENTS.to_vec();
    events.push("RECORD_STOP");
    // Subclasses follow CUSTOM.
    events.extend(["CUSTOM", contact_center::SUBCLASS]);
    events
}

pub(super) async fn run(shared: Arc<Shared>, index: usize) {
    let node = &shared.nodes[index];
    let name = node.config.name.clone();
    let backoff = shared.config.backoff;
    let mut delays = backoff.delays();
    loop {
        let options = Options::new(node.config.address.clone(), node.config.password.clone())
            .events(65_536, esl::client::Overflow::Backpressure)
            .connect_timeout(shared.config.connect_timeout)
            .reconnect(backoff);
        let (client, events) = match options.connect().await {
            Ok(connected) => connected,
            Err(error) => {
                let delay = delays.next().unwrap_or(backoff.max);
                tracing::warn!(node = %name, %error, ?delay, "cannot connect to FreeSWITCH");
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        delays = backoff.delays();
        tracing::info!(node = %name, address = %node.config.address, "connected to FreeSWITCH");
        *node.client.write().unwrap_or_else(|p| p.into_inner()) = Some(client.clone());
        follow(&shared, index, &client, events).await;
        node.client
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        tracing::warn!(node = %name, "connection to FreeSWITCH ended; connecting again");
        tokio::time::sleep(backoff.delays().next().unwrap_or(backoff.initial)).await;
    }
}

/// Subscribes, re-syncs, then follows the events until the connection ends for good.
async fn follow(shared: &Arc<Shared>, index: usize, client: &Client, mut events: EventStream) {
    let node = &shared.nodes[index];
    let subscribed = client
        .subscribe(shared.config.format, &subscriptions())
        .await;
    if let Err(error) = subscribed {
        tracing::warn!(node = %node.config.name, %error, "subscription failed");
        return;
    }
    shared.metrics.connections.inc();
    node.up.store(true, Ordering::Relaxed);
    // Items that arrived while a re-sync waited for its reply: handled right after it.
    let mut held = resync(shared, index, client, &mut events).await;
    let mut out = Vec::new();
    let mut state_every = tokio::time::interval(shared.config.state_every);
    state_every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    state_every.reset();
    loop {
        let item = match held.pop_front() {
            Some(item) => item,
            None => tokio::select! {
                item = events.recv() => match item {
                    Some(item) => item,
                    None => {
                        node.up.store(false, Ordering::Relaxed);
                        publish_state(shared, index);
                        return;
                    }
                },
                _ = state_every.tick() => {
                    publish_state(shared, index);
                    continue;
                }
            },
        };
        match item {
            Incoming::Event(event) => {
                shared.metrics.events.inc();
                handle(shared, index, client, &event, &mut out).await;
            }
            Incoming::Reconnected { attempts } => {
                tracing::info!(node = %node.config.name, attempts, "reconnected to FreeSWITCH");
                shared.metrics.connections.inc();
                node.up.store(true, Ordering::Relaxed);
                let mut more = resync(shared, index, client, &mut events).await;
                more.extend(held.drain(..));
                held = more;
            }
            Incoming::Disconnected(error) => {
                node.up.store(false, Ordering::Relaxed);
                publish_state(shared, index);
                tracing::warn!(node = %node.config.name, %error, "FreeSWITCH connection lost");
            }
            Incoming::Unparsed { error, .. } => {
                tracing::warn!(node = %node.config.name, %error, "unparsable event");
            }
            Incoming::Log(_) | Incoming::DisconnectNotice(_) => {}
            _ => {}
        }
    }
}

/// Reads the node's channels and publishes the differences. Events keep being received
/// meanwhile (the reply comes after them on the socket, and a full stream would hold it back);
/// they are returned, to be applied after the re-sync: applying again what the list already
/// shows changes nothing.
async fn resync(
    shared: &Arc<Shared>,
    index: usize,
    client: &Client,
    events: &mut EventStream,
) -> VecDeque<Incoming> {
    let node = &shared.nodes[index];
    shared.refresh_tenants().await;
    let mut held = VecDeque::new();
    let Some(reply) = holding_events(client.api("show channels as json"), events, &mut held).await
    else {
        return held;
    };
    let rows = match reply.map(|body| parse_channels(&body)) {
        Ok(Ok(rows)) => rows,
        Ok(Err(error)) => {
            tracing::warn!(node = %node.config.name, %error, "cannot re-sync");
            return held;
        }
        Err(error) => {
            tracing::warn!(node = %node.config.name, %error, "cannot re-sync");
            return held;
        }
    };
    let mut out = Vec::new();
    lock(&node.calls).resync(&rows, |hints| shared.resolve(hints), &mut out);
    publish(shared, index, &out);
    resync_call_center(shared, index, client, events, &mut held).await;
    publish_state(shared, index);
    tokio::spawn(super::trunks::rescan_profiles(
        shared.clone(),
        index,
        client.clone(),
    ));
    held
}

/// Re-reads the node's call center (`agent list`, then the members of every queue the tiers
/// or the state name) and publishes what changed: events missed while away do not leave it
/// wrong. A node without mod_callcenter answers `-ERR`: nothing to follow there.
async fn resync_call_center(
    shared: &Arc<Shared>,
    index: usize,
    client: &Client,
    events: &mut EventStream,
    held: &mut VecDeque<Incoming>,
) {
    let node = &shared.nodes[index];
    let Some(agents) = list(client, events, held, &CallCenterList::Agents).await else {
        return;
    };
    let mut out = Vec::new();
    let mut queues = {
        let mut center = lock(&node.center);
        for change in center.resync_agents(&agents) {
            out.extend(center.published(&change));
        }
        center.queue_names()
    };
    if let Some(tiers) = list(client, events, held, &CallCenterList::Tiers).await {
        queues.extend(tiers.names("queue"));
        // In its own task: a node missing many agents takes many commands, and the events
        // (prepaid limits, CDRs) must not wait for them.
        tokio::spawn(reconcile(
            shared.clone(),
            index,
            client.clone(),
            agents.clone(),
            tiers,
        ));
    }
    queues.sort();
    queues.dedup();
    for queue in queues {
        let command = CallCenterList::Members(queue.clone());
        if let Some(members) = list(client, events, held, &command).await {
            let mut center = lock(&node.center);
            for change in center.resync_members(&queue, &members) {
                out.extend(center.published(&change));
            }
        }
    }
    publish(shared, index, &out);
}

/// Tells the node what it missed of the stored agents and tiers (a change made while it was
/// away or that it refused): its mod_callcenter keeps its own copy across restarts.
async fn reconcile(
    shared: Arc<Shared>,
    index: usize,
    client: Client,
    agents: ListTable,
    tiers: ListTable,
) {
    // What the store holds is read under the node's lock: a change the API stores meanwhile
    // is sent after this reconciliation, not overtaken by it.
    let _one_list_at_a_time = shared.nodes[index].call_center_changes.lock().await;
    let node = &shared.nodes[index].config.name;
    let (tenants, _, stored_agents, stored_tiers) = match shared.tenants.store().call_center().await
    {
        Ok(stored) => stored,
        Err(error) => {
            tracing::warn!(%node, %error, "call-center reconciliation skipped: database unavailable");
            return;
        }
    };
    let tenants: Vec<String> = tenants.into_iter().map(|t| t.tenant).collect();
    let changes =
        contact_center::reconcile(&tenants, &stored_agents, &stored_tiers, &agents, &tiers);
    if !changes.is_empty() {
        tracing::info!(%node, changes = changes.len(), "telling the node the call-center changes it missed");
    }
    for change in &changes {
        match client.run(change).await {
            Ok(_) => {}
            Err(esl::client::Error::ApiFailed(text)) if already_there(change, &text) => {}
            Err(error) => {
                tracing::warn!(%node, %error, ?change, "call-center change refused by the node");
            }
        }
    }
}

/// One `callcenter_config ... list`, events received meanwhile kept in `held`; `None` when
/// the node has no such list (or the connection ended).
async fn list(
    client: &Client,
    events: &mut EventStream,
    held: &mut VecDeque<Incoming>,
    command: &CallCenterList,
) -> Option<ListTable> {
    match holding_events(client.run(command), events, held).await? {
        Ok(body) => ListTable::parse(&body).ok(),
        Err(error) => {
            tracing::debug!(%error, "no call-center list from this node");
            None
        }
    }
}

/// Waits for `reply`, keeping the events that arrive meanwhile in `held` (the reply comes
/// after them on the socket, and a full stream would hold it back); `None` when the event
/// stream ended first.
async fn holding_events<T>(
    reply: impl std::future::Future<Output = T>,
    events: &mut EventStream,
    held: &mut VecDeque<Incoming>,
) -> Option<T> {
    tokio::pin!(reply);
    loop {
        tokio::select! {
            reply = &mut reply => return Some(reply),
            item = events.recv() => match item {
                Some(item) => held.push_back(item),
                None => return None,
            },
        }
    }
}

fn publish(shared: &Shared, index: usize, events: &[CallEvent]) {
    let origin = shared.origin(index);
    for event in events {
        shared.hub.publish_from(Some(origin), event);
    }
    let count = events.len() as u64;
    shared.metrics.published.inc_by(count);
}

async fn handle(
    shared: &Arc<Shared>,
    index: usize,
    client: &Client,
    event: &Event,
    out: &mut Vec<CallEvent>,
) {
    let node = &shared.nodes[index];
    shared.refresh_tenants().await;
    out.clear();
    lock(&node.calls).apply(event, |hints| shared.resolve(hints), out);
    {
        let mut center = lock(&node.center);
        for change in center.apply(event) {
            out.extend(center.published(&change));
        }
    }
    if let Some(outcome) = member_outcome(event) {
        statistics::queue(shared, statistics::Step::Member(outcome));
    }
    if let Some((agent, status)) = contact_center::agent_status(event) {
        statistics::queue(shared, statistics::Step::AgentStatus { agent, status });
    }
    publish(shared, index, out);
    let Some(name) = event.header_raw("Event-Name") else {
        return;
    };
    match name {
        b"CHANNEL_HANGUP_COMPLETE" => {
            if let Some(uuid) = event.unique_id()
                && let Some(slices) = lock(&node.slices).remove(uuid.as_ref())
            {
                slices.abort();
            }
            if let Some(cdrs) = &shared.cdrs {
                cdrs::record(shared, event, cdrs).await;
            }
        }
        b"CHANNEL_ANSWER" if shared.config.prepaid => {
            prepaid::limit_on_answer(shared, index, client, event)
        }
        b"RECORD_STOP" => recordings::stopped(shared, index, event),
        _ => {}
    }
}

/// Sends the node's whole state to the bus (nothing without one), in order with its events.
pub(super) fn publish_state(shared: &Shared, index: usize) {
    if !shared.hub.is_shared() {
        return;
    }
    let node = &shared.nodes[index];
    let mut calls: Vec<_> = lock(&node.calls).calls().cloned().collect();
    platform::calls::sort_oldest_first(&mut calls);
    let (queues, agents) = {
        let center = lock(&node.center);
        (
            center.queues().cloned().collect(),
            center.agents().cloned().collect(),
        )
    };
    let state = NodeState {
        connected: node.up.load(Ordering::Relaxed),
        calls,
        queues,
        agents,
    };
    shared.hub.publish_node_state(shared.origin(index), &state);
}
