//! The contact-center state machine on real mod_callcenter traffic: the captured ESL sessions
//! (`fixtures/freeswitch/callcenter/`, in plain and JSON events) of a DID call answered by
//! agent 1001@acme and a second call abandoned while both agents were on a break, fed event
//! by event; the state after each step is what the capture shows.

use bytes::BytesMut;
use esl::proto::{Event, FrameDecoder};
use platform::contact_center::{Change, ContactCenter, ListError, ListTable, reconcile, tenant_of};

const QUEUE: &str = "support@acme";

fn events(capture: &str) -> Vec<Event> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/freeswitch/callcenter")
        .join(capture);
    let mut buf = BytesMut::from(&std::fs::read(path).unwrap()[..]);
    let mut decoder = FrameDecoder::new();
    let mut events = Vec::new();
    while let Some(frame) = decoder.decode(&mut buf).unwrap() {
        if frame.is_event() {
            events.push(frame.event().unwrap());
        }
    }
    events
}

/// Feeds `capture` and checks the state after each of mod_callcenter's steps.
fn replay(capture: &str) {
    let mut center = ContactCenter::default();
    let mut steps = Vec::new();
    for event in events(capture) {
        let changes = center.apply(&event);
        if let Some(action) = event.header("CC-Action") {
            steps.push((action.into_owned(), changes, center.clone(), event.clone()));
        } else {
            assert!(
                changes.is_empty(),
                "only callcenter::info changes the state"
            );
        }
    }
    let actions: Vec<&str> = steps.iter().map(|(a, _, _, _)| a.as_str()).collect();
    assert_eq!(actions.len(), 19, "{actions:?}");
    let after = |n: usize, action: &str| -> &ContactCenter {
        assert_eq!(steps[n].0, action, "step {n}");
        &steps[n].2
    };
    // A header of step `n`'s event (each run has its own ids and times).
    let said = |n: usize, name: &str| -> String { steps[n].3.header(name).unwrap().into_owned() };
    let time = |n: usize, name: &str| -> i64 { said(n, name).parse().unwrap() };
    let first_caller = said(2, "CC-Member-Session-UUID");

    // Both agents made available.
    let state = after(1, "agent-status-change");
    assert_eq!(state.agent("1001@acme").unwrap().status, "Available");
    assert_eq!(state.agent("1002@acme").unwrap().status, "Available");

    // Call 1 joins the queue, waits, is offered to 1001, answered.
    let state = after(2, "member-queue-start");
    let queue = state.queue(QUEUE).unwrap();
    assert_eq!(queue.waiting().count(), 1);
    let member = &queue.members[0];
    assert_eq!(member.caller_number, "0909123456");
    assert_eq!(member.session_uuid, first_caller);
    assert_eq!(steps[2].1, [Change::Queue(QUEUE.into())]);
    let state = after(5, "agent-offering");
    let call = state.agent("1001@acme").unwrap().call.clone().unwrap();
    assert_eq!((call.queue.as_str(), call.answered_at), (QUEUE, None));
    assert_eq!(state.agent("1001@acme").unwrap().state, "Receiving");
    let state = after(6, "bridge-agent-start");
    let queue = state.queue(QUEUE).unwrap();
    assert_eq!(queue.waiting().count(), 0, "answered: no longer waiting");
    assert_eq!((queue.offered, queue.answered), (1, 1));
    let agent = state.agent("1001@acme").unwrap();
    let call = agent.call.clone().unwrap();
    assert_eq!(call.member_session_uuid, first_caller);
    assert_eq!(call.caller_number, "0909123456");
    assert_eq!(call.answered_at, Some(time(6, "CC-Agent-Answered-Time")));
    assert_eq!(
        after(7, "agent-state-change")
            .agent("1001@acme")
            .unwrap()
            .state,
        "In a queue call"
    );

    // The caller hangs up after about 3 s of talk: the agent is free, one call answered.
    let state = after(9, "bridge-agent-end");
    let agent = state.agent("1001@acme").unwrap();
    assert_eq!(agent.call, None);
    let talked = time(9, "CC-Bridge-Terminated-Time") - time(9, "CC-Agent-Answered-Time");
    assert!((2..=4).contains(&talked), "{talked}");
    assert_eq!(
        (agent.calls_answered, agent.talk_seconds),
        (1, talked as u64)
    );
    let state = after(10, "member-queue-end");
    let queue = state.queue(QUEUE).unwrap();
    assert!(queue.members.is_empty());
    assert_eq!((queue.answered, queue.abandoned), (1, 0));
    let waited = time(6, "CC-Agent-Answered-Time") - time(6, "CC-Member-Joined-Time");
    assert_eq!(queue.answer_wait_seconds, waited as u64);
    assert_eq!(queue.answered_in_time, 1);
    assert_eq!(
        after(11, "agent-state-change")
            .agent("1001@acme")
            .unwrap()
            .state,
        "Waiting"
    );

    // Both agents on a break; call 2 waits 3 s and gives up.
    let state = after(13, "agent-status-change");
    assert!(state.agents_of("acme").all(|a| a.status == "On Break"));
    let state = after(14, "member-queue-start");
    let queue = state.queue(QUEUE).unwrap();
    assert_eq!(queue.waiting().next().unwrap().caller_number, "0909555111");
    let gave_up = time(16, "CC-Member-Leaving-Time");
    let joined = time(16, "CC-Member-Joined-Time");
    assert_eq!(queue.longest_wait(gave_up), Some(gave_up - joined));
    let state = after(16, "member-queue-end");
    let queue = state.queue(QUEUE).unwrap();
    assert_eq!(queue.waiting().count(), 0);
    assert_eq!((queue.offered, queue.answered, queue.abandoned), (2, 1, 1));

    // 1001 logs out.
    let state = after(18, "agent-status-change");
    assert_eq!(state.agent("1001@acme").unwrap().status, "Logged Out");
    assert_eq!(state.agent("1002@acme").unwrap().status, "On Break");

    // A tenant sees its own queues and agents only.
    assert_eq!(state.queues_of("acme").count(), 1);
    assert_eq!(state.agents_of("acme").count(), 2);
    assert_eq!(state.queues_of("beta").count(), 0);
    assert_eq!(tenant_of(QUEUE), Some("acme"));
}

#[test]
fn plain_events_of_a_captured_contact_center_run() {
    replay("esl-callcenter-plain.raw");
}

#[test]
fn json_events_of_a_captured_contact_center_run() {
    replay("esl-callcenter-json.raw");
}

/// Every event delivered twice in a row (a re-sent or re-read event) counts once: a member
/// joins, is answered and leaves once, an agent finishes its call once.
#[test]
fn each_event_twice_counts_once() {
    let mut center = ContactCenter::default();
    for event in events("esl-callcenter-plain.raw") {
        center.apply(&event);
        center.apply(&event);
    }
    let queue = center.queue(QUEUE).unwrap();
    assert_eq!((queue.offered, queue.answered, queue.abandoned), (2, 1, 1));
    assert!(queue.members.is_empty());
    let agent = center.agent("1001@acme").unwrap();
    assert_eq!(agent.calls_answered, 1);
    assert!((2..=4).contains(&agent.talk_seconds));
}

fn info(headers: &[(&str, &str)]) -> Event {
    let mut text = String::from("Event-Name: CUSTOM\nEvent-Subclass: callcenter%3A%3Ainfo\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\n"));
    }
    text.push('\n');
    Event::parse(text.into(), esl::proto::EventFormat::Plain, 256).unwrap()
}

/// Values no FreeSWITCH sends, from a hostile or broken node: names that are not
/// `name@tenant`, times at the ends of i64, ids without end, a queue offering another tenant's
/// agent, a late end of an earlier call. Nothing panics, nothing overflows, no tenant is shown
/// another's, and what cannot be placed is not followed.
#[test]
fn hostile_events_are_ignored_or_bounded() {
    let mut center = ContactCenter::default();
    let long = "9".repeat(100_000);
    for queue in ["support", "support@", "a b@acme", "${x}@acme"] {
        let changes = center.apply(&info(&[
            ("CC-Action", "member-queue-start"),
            ("CC-Queue", queue),
            ("CC-Member-UUID", "m0"),
            ("Event-Date-Timestamp", "1795458643000000"),
        ]));
        assert!(changes.is_empty(), "{queue}");
    }
    // No time at all: not placed. Times beyond any clock: not placed either.
    for joined in ["", "9223372036854775807", "-9223372036854775808"] {
        let changes = center.apply(&info(&[
            ("CC-Action", "member-queue-start"),
            ("CC-Queue", "support@acme"),
            ("CC-Member-UUID", "m1"),
            ("CC-Member-Joined-Time", joined),
        ]));
        assert!(changes.is_empty(), "{joined:?}");
    }
    center.apply(&info(&[
        ("CC-Action", "member-queue-start"),
        ("CC-Queue", "support@acme"),
        ("CC-Member-UUID", &long),
        ("CC-Member-Session-UUID", &long),
        ("CC-Member-CID-Number", &long),
        ("CC-Member-Joined-Time", "1795458643"),
    ]));
    let queue = center.queue("support@acme").unwrap();
    let member = &queue.members[0];
    assert!(member.uuid.len() <= 64 && member.caller_number.len() <= 64);
    assert_eq!(queue.longest_wait(i64::MAX), Some(i64::MAX - 1_795_458_643));
    assert_eq!(queue.longest_wait(i64::MIN), Some(0));
    // beta's agent is offered acme's caller: neither tenant is shown the other.
    let member_id: String = long.chars().take(64).collect();
    let changes = center.apply(&info(&[
        ("CC-Action", "bridge-agent-start"),
        ("CC-Queue", "support@acme"),
        ("CC-Agent", "1001@beta"),
        ("CC-Member-UUID", &long),
        ("CC-Agent-Answered-Time", "1795458644"),
    ]));
    assert!(changes.is_empty());
    assert!(center.agent("1001@beta").is_none());
    assert_eq!(center.queue("support@acme").unwrap().answered, 0);
    // acme's agent answers; a late end of another call ends nothing; its own end counts.
    center.apply(&info(&[
        ("CC-Action", "bridge-agent-start"),
        ("CC-Queue", "support@acme"),
        ("CC-Agent", "1001@acme"),
        ("CC-Member-UUID", &member_id),
        ("CC-Agent-Answered-Time", "1795458644"),
    ]));
    let end = |session: &str, at: &str| {
        info(&[
            ("CC-Action", "bridge-agent-end"),
            ("CC-Queue", "support@acme"),
            ("CC-Agent", "1001@acme"),
            ("CC-Member-Session-UUID", session),
            ("CC-Bridge-Terminated-Time", at),
        ])
    };
    assert!(
        center
            .apply(&end("an-earlier-call", "1795458650"))
            .is_empty()
    );
    assert!(center.agent("1001@acme").unwrap().call.is_some());
    center.apply(&end(&member_id, "1795458650"));
    let agent = center.agent("1001@acme").unwrap();
    assert_eq!((agent.calls_answered, agent.talk_seconds), (1, 6));
    assert!(center.agents_of("beta").next().is_none());
}

/// The `callcenter_config ... list` answers of a capture, in order.
fn list_answers(capture: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/freeswitch/callcenter")
        .join(capture);
    let mut buf = BytesMut::from(&std::fs::read(path).unwrap()[..]);
    let mut decoder = FrameDecoder::new();
    let mut answers = Vec::new();
    while let Some(frame) = decoder.decode(&mut buf).unwrap() {
        if frame.content_type() == esl::proto::ContentType::ApiResponse {
            let body = String::from_utf8_lossy(frame.body()).into_owned();
            if body.contains('|') {
                answers.push(body);
            }
        }
    }
    answers
}

/// The lists FreeSWITCH answered in the captured run, read back: the agents' list at the end
/// agrees with what the events built but for what no event said (1002's state); a member the events missed (a
/// reconnection) is found by listing its queue, and a member gone meanwhile is dropped; the
/// tiers name the queues to list.
#[test]
fn captured_lists_re_sync_what_events_missed() {
    let answers = list_answers("esl-callcenter-plain.raw");
    assert_eq!(answers.len(), 4, "agents, members, agents, tiers");
    let [agents_first, members, agents_last, tiers] =
        [0, 1, 2, 3].map(|i| ListTable::parse(&answers[i]).unwrap());

    let mut center = ContactCenter::default();
    let changes = center.resync_agents(&agents_first);
    assert_eq!(changes.len(), 2);
    assert!(center.agents_of("acme").all(|a| a.status == "Available"));

    let mut replayed = ContactCenter::default();
    for event in events("esl-callcenter-plain.raw") {
        replayed.apply(&event);
    }
    // The events built 1001 as the list has it; 1002's state ("Waiting") no event carried.
    assert_eq!(
        replayed.resync_agents(&agents_last),
        [Change::Agent("1002@acme".into())]
    );
    assert_eq!(replayed.agent("1002@acme").unwrap().state, "Waiting");

    // Call 2 waiting, but its member-queue-start was missed.
    let changes = center.resync_members(QUEUE, &members);
    assert_eq!(changes, [Change::Queue(QUEUE.into())]);
    let queue = center.queue(QUEUE).unwrap();
    assert_eq!(queue.waiting().count(), 1);
    assert_eq!(queue.members[0].caller_number, "0909555111");
    assert_eq!(queue.members[0].joined_at, 1_795_458_650);
    // Listed again once it left: gone.
    let empty =
        ListTable::parse(&format!("{}\n+OK\n", answers[1].lines().next().unwrap())).unwrap();
    assert_eq!(
        center.resync_members(QUEUE, &empty),
        [Change::Queue(QUEUE.into())]
    );
    assert!(center.queue(QUEUE).unwrap().members.is_empty());
    assert_eq!(center.resync_members(QUEUE, &empty), []);

    assert_eq!(tiers.names("queue"), [QUEUE]);
    assert!(matches!(
        ListTable::parse("-ERR no such command\n"),
        Err(ListError::Refused(_))
    ));
    assert_eq!(ListTable::parse("0\n"), Err(ListError::NotAList));
    assert_eq!(
        ListTable::parse("a|b\n1|2\n"),
        Err(ListError::NotAList),
        "no +OK: cut short"
    );
}

/// Lists as FreeSWITCH writes them at the edges: an empty one is `+OK` alone (and empties the
/// queue it lists); members it keeps after they gave up are not waiting; a caller's display
/// name with `|` in it cannot shift the columns (its row is dropped); a serving agent of
/// another tenant, or a row of another queue, is not taken; an agent listed as waiting has
/// no call.
#[test]
fn lists_at_their_edges() {
    let header = "queue|instance_id|uuid|session_uuid|cid_number|cid_name|system_epoch|joined_epoch|rejoined_epoch|bridge_epoch|abandoned_epoch|base_score|skill_score|serving_agent|serving_system|state|score";
    let row = |uuid: &str, name: &str, serving: &str, state: &str| {
        format!(
            "{QUEUE}|single_box|{uuid}|s-{uuid}|0909|{name}|1795458649|1795458650|0|1795458651|0|1|0|{serving}|single_box|{state}|2"
        )
    };
    let listed = ListTable::parse(&format!(
        "{header}\n{}\n{}\n{}\n{}\n{}\n{}\n+OK\n",
        row("waiting", "Customer", "", "Waiting"),
        row("talking", "Customer", "1001@acme", "Answered"),
        row("gave-up", "Customer", "", "Abandoned"),
        row(
            "shifted",
            "x|1|1|0|1700000000|0|0|0|1001@beta",
            "",
            "Waiting"
        ),
        row("stranger", "Customer", "1001@beta", "Answered"),
        row("waiting", "Customer", "", "Waiting").replace(QUEUE, "sales@acme"),
    ))
    .unwrap();
    let mut center = ContactCenter::default();
    center.resync_members(QUEUE, &listed);
    let queue = center.queue(QUEUE).unwrap();
    let ids: Vec<&str> = queue.members.iter().map(|m| m.uuid.as_str()).collect();
    assert_eq!(ids, ["waiting", "talking", "stranger"]);
    assert_eq!(queue.waiting().count(), 1);
    assert_eq!(queue.members[1].agent.as_deref(), Some("1001@acme"));
    assert_eq!(queue.members[1].answered_at, Some(1_795_458_651));
    assert_eq!(queue.members[2].agent, None, "beta's agent in acme's queue");

    let empty = ListTable::parse("+OK\n").unwrap();
    assert_eq!(
        center.resync_members(QUEUE, &empty),
        [Change::Queue(QUEUE.into())]
    );
    assert!(center.queue(QUEUE).unwrap().members.is_empty());

    // An agent on a call when the worker went away, waiting when it came back.
    for event in events("esl-callcenter-plain.raw")
        .iter()
        .take_while(|e| e.header("CC-Action").as_deref() != Some("bridge-agent-end"))
    {
        center.apply(event);
    }
    assert!(center.agent("1001@acme").unwrap().call.is_some());
    let agents = ListTable::parse(
        "name|status|state|calls_answered|talk_time\n1001@acme|Available|Waiting|1|3\n+OK\n",
    )
    .unwrap();
    center.resync_agents(&agents);
    assert_eq!(center.agent("1001@acme").unwrap().call, None);
}

/// The captured node's agents (1001 logged out, 1002) and tiers (support: 1001 at 1/1, 1002
/// at 1/2) against a store where 1002 was removed, 1001 made available and moved to position 3
/// and 1003 added while the node was away: the node is told exactly that, and nothing of a tenant the platform does not
/// have.
#[test]
fn a_node_that_missed_changes_is_told_them_on_reconnection() {
    use esl::api::{AgentStatus, CallCenterChange};
    use platform::store::{AgentRow, TierRow};

    let answers = list_answers("esl-callcenter-plain.raw");
    let [agents, tiers] = [2, 3].map(|i| ListTable::parse(&answers[i]).unwrap());
    let agent = |name: &str| AgentRow {
        tenant: "acme".into(),
        name: name.into(),
        contact: format!("loopback/7{}/agents", &name[1..]),
        status: "Available".into(),
    };
    let tier = |agent: &str, position| TierRow {
        tenant: "acme".into(),
        queue: "support".into(),
        agent: agent.into(),
        level: 1,
        position,
    };
    let changes = reconcile(
        &["acme".to_owned()],
        &[agent("1001"), agent("1003")],
        &[tier("1001", 3), tier("1003", 1)],
        &agents,
        &tiers,
    );
    let (q, a1, a2, a3) = (
        "support@acme".to_owned(),
        "1001@acme".to_owned(),
        "1002@acme".to_owned(),
        "1003@acme".to_owned(),
    );
    assert_eq!(
        changes,
        [
            CallCenterChange::AgentDel { agent: a2 },
            // Listed logged out; stored available (set while the node was away).
            CallCenterChange::AgentStatus {
                agent: a1.clone(),
                status: AgentStatus::Available
            },
            CallCenterChange::AgentAdd { agent: a3.clone() },
            CallCenterChange::AgentContact {
                agent: a3.clone(),
                contact: "loopback/7003/agents".into()
            },
            CallCenterChange::AgentStatus {
                agent: a3.clone(),
                status: AgentStatus::Available
            },
            CallCenterChange::TierLevel {
                queue: q.clone(),
                agent: a1.clone(),
                level: 1
            },
            CallCenterChange::TierPosition {
                queue: q.clone(),
                agent: a1,
                position: 3
            },
            CallCenterChange::TierAdd {
                queue: q,
                agent: a3,
                level: 1,
                position: 1
            },
        ]
    );
    // Another platform's tenant on the same node is not ours to change.
    assert_eq!(
        reconcile(&["beta".to_owned()], &[], &[], &agents, &tiers),
        []
    );
}

/// Only what mod_callcenter writes reaches the statistics: a member id that is no UUID (a NUL
/// byte the database refuses, a text without end), a queue that is no `name@tenant`, a time
/// out of range: no step. An agent status mod_callcenter does not name: none either.
#[test]
fn hostile_member_steps_are_not_stored() {
    use platform::contact_center::{MemberStep, agent_status, member_outcome};
    let uuid = "3507c0f1-0e7d-41fe-8ba1-dbe0b80c786a";
    let joined = |member: &str, queue: &str, time: &str| {
        member_outcome(&info(&[
            ("CC-Action", "member-queue-start"),
            ("CC-Queue", queue),
            ("CC-Member-UUID", member),
            ("CC-Member-Joined-Time", time),
        ]))
    };
    let good = joined(uuid, "support%40acme", "1795458650").unwrap();
    assert_eq!(good.step, MemberStep::Joined);
    let long = "a".repeat(10_000);
    for (member, queue, time) in [
        (
            "3507c0f1-0e7d-41fe-8ba1-dbe0b80c78%00",
            "support%40acme",
            "1795458650",
        ),
        (long.as_str(), "support%40acme", "1795458650"),
        ("m1", "support%40acme", "1795458650"),
        (uuid, "support", "1795458650"),
        (uuid, "support%40acme%20x", "1795458650"),
        (uuid, "support%40acme", "99999999999999999999"),
        (uuid, "support%40acme", "-5"),
    ] {
        assert_eq!(joined(member, queue, time), None, "{member} {queue} {time}");
    }
    let status = |value: &str| {
        agent_status(&info(&[
            ("CC-Action", "agent-status-change"),
            ("CC-Agent", "1001%40acme"),
            ("CC-Agent-Status", value),
        ]))
    };
    assert_eq!(
        status("On%20Break"),
        Some(("1001@acme".into(), "On Break".into()))
    );
    assert_eq!(status("Busy'%3B%20DROP"), None);
}
