//! Provisioning the contact center through the API: an admin's queues, agents, tiers, IVR
//! menus and DID routes are validated, kept to the admin's tenant, stored, and applied live on
//! the node with `callcenter_config` (the node's log is what FreeSWITCH would have been told).

mod common;

use common::*;
use platform::store::PlatformStore;
use serde_json::{Value, json};
use std::net::SocketAddr;

fn callcenter_commands(p: &Platform) -> Vec<String> {
    p.node
        .log()
        .commands
        .into_iter()
        .filter(|c| c.starts_with("api callcenter_config") && !c.ends_with(" list"))
        .map(|c| c["api ".len()..].to_owned())
        .collect()
}

async fn put(a: SocketAddr, token: &str, path: &str, body: Value) -> (u16, Value) {
    call(a, "PUT", path, Some(token), Some(body)).await
}

async fn store_of(p: &Platform) -> PlatformStore {
    PlatformStore::open(p.ledger.pool().clone(), p.ledger.backend())
        .await
        .unwrap()
}

// A PUT replaces the whole resource: each of these is a complete, valid body (with the values a
// test does not care about), which a test changes only in what it checks.

/// A queue: no dial name, the usual strategy, the default music, 20 s service level.
fn queue_body() -> Value {
    json!({
        "extension": null,
        "strategy": "longest-idle-agent",
        "moh_sound": null,
        "service_level_seconds": 20,
    })
}

/// An agent's place on a queue: first level, first position.
fn tier_body() -> Value {
    json!({"level": 1, "position": 1})
}

/// An IVR menu: no dial name, the standard sounds, no entries.
fn menu_body() -> Value {
    json!({
        "extension": null,
        "greet_long": "ivr/ivr-welcome.wav",
        "greet_short": null,
        "invalid_sound": "ivr/ivr-that_was_an_invalid_entry.wav",
        "exit_sound": "voicemail/vm-goodbye.wav",
        "timeout_ms": 10000,
        "max_failures": 3,
        "entries": {},
    })
}

/// A ring group: no dial name, everyone at once for 20 s, extension 1000 its only member.
fn ring_group_body() -> Value {
    json!({
        "extension": null,
        "strategy": "simultaneous",
        "ring_seconds": 20,
        "members": ["1000"],
    })
}

/// A schedule: no rules, every call to extension 1000.
fn schedule_body() -> Value {
    json!({"rules": [], "otherwise": "extension:1000"})
}

/// A refusal that a rule made, not the body's form: a body left incomplete would be refused
/// whatever the rule the test means to check.
fn not_for_a_missing_field(answer: &Value) {
    let error = answer["error"].as_str().unwrap_or_default();
    assert!(!error.contains("missing field"), "{answer}");
}

/// `base` with the fields of `changes` set.
fn with(mut base: Value, changes: Value) -> Value {
    for (field, value) in changes.as_object().unwrap() {
        base[field] = value.clone();
    }
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_builds_a_queue_and_the_node_is_told_each_change_live() {
    let p = platform().await;
    let a = p.address;
    let admin = login(a, "acme", "admin").await;

    let (code, body) = put(a, &admin, "/api/agents/1000", json!({})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "agent": {"name": "1000", "contact": "user/1000@acme.example", "status": "Logged Out"},
            "nodes": [{"node": "fs1", "applied": true}],
        })
    );
    let queue = with(
        queue_body(),
        json!({"extension": "8000", "strategy": "ring-all", "service_level_seconds": 30}),
    );
    let (code, body) = put(a, &admin, "/api/queues/support", queue.clone()).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["nodes"], json!([{"node": "fs1", "applied": true}]));
    let (code, _) = put(a, &admin, "/api/queues/support", queue).await;
    assert_eq!(code, 200, "a second write reloads the queue");
    let tier = json!({"level": 2, "position": 3});
    let (code, body) = put(a, &admin, "/api/queues/support/agents/1000", tier).await;
    assert_eq!(code, 200, "{body}");

    let agent = login(a, "acme", "agent").await;
    let (code, body) = call(a, "GET", "/api/queues", Some(&agent), None).await;
    assert_eq!(code, 200);
    assert_eq!(
        body,
        json!({"queues": [{
            "name": "support", "extension": "8000", "strategy": "ring-all", "moh_sound": null,
            "service_level_seconds": 30,
            "agents": [{"agent": "1000", "level": 2, "position": 3}],
        }]})
    );
    let (code, _) = put(a, &agent, "/api/queues/sales", queue_body()).await;
    assert_eq!(code, 403, "agents do not provision");

    for path in ["/api/queues/support/agents/1000", "/api/agents/1000"] {
        let (code, body) = call(a, "DELETE", path, Some(&admin), None).await;
        assert_eq!(code, 200, "{path}: {body}");
    }
    let (code, _) = call(a, "DELETE", "/api/queues/support", Some(&admin), None).await;
    assert_eq!(code, 200);
    let (code, _) = call(a, "DELETE", "/api/queues/support", Some(&admin), None).await;
    assert_eq!(code, 404);

    assert_eq!(
        callcenter_commands(&p),
        [
            "callcenter_config agent add 1000@acme callback",
            "callcenter_config agent set contact 1000@acme user/1000@acme.example",
            "callcenter_config agent set status 1000@acme 'Logged Out'",
            "callcenter_config queue load support@acme",
            "callcenter_config queue reload support@acme",
            "callcenter_config tier add support@acme 1000@acme 2 3",
            "callcenter_config tier set level support@acme 1000@acme 2",
            "callcenter_config tier set position support@acme 1000@acme 3",
            "callcenter_config tier del support@acme 1000@acme",
            "callcenter_config agent del 1000@acme",
            "callcenter_config queue unload support@acme",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_stays_in_the_admins_tenant_and_refuses_what_breaks_a_rule() {
    let p = platform().await;
    let a = p.address;
    let acme = login(a, "acme", "admin").await;
    let beta = login(a, "beta", "admin").await;
    assert_eq!(put(a, &acme, "/api/agents/1000", json!({})).await.0, 200);
    assert_eq!(
        put(a, &acme, "/api/queues/support", queue_body()).await.0,
        200
    );
    assert_eq!(
        put(a, &beta, "/api/queues/support", queue_body()).await.0,
        200
    );
    let sent_before = callcenter_commands(&p).len();

    let refused: [(&str, &str, Value); 10] = [
        // Beta has no agent 1000 yet: acme's is not beta's to put on a queue.
        ("beta", "/api/queues/support/agents/1000", tier_body()),
        // An agent is one of the tenant's extensions; its contact is the platform's to write.
        ("acme", "/api/agents/1999", json!({})),
        (
            "acme",
            "/api/agents/1000",
            json!({"contact": "sofia/gateway/trunk/0044123"}),
        ),
        ("acme", "/api/agents/1000", json!({"status": "Busy"})),
        // Names reach FreeSWITCH as name@tenant: no second @, no blank.
        ("acme", "/api/queues/sales@beta", queue_body()),
        ("acme", "/api/queues/sales%20x", queue_body()),
        (
            "acme",
            "/api/queues/sales",
            with(queue_body(), json!({"strategy": "everyone"})),
        ),
        (
            "acme",
            "/api/queues/sales",
            with(queue_body(), json!({"moh_sound": "${system(id)}"})),
        ),
        (
            "acme",
            "/api/queues/sales",
            with(queue_body(), json!({"service_level_seconds": 0})),
        ),
        (
            "acme",
            "/api/queues/support/agents/1000",
            with(tier_body(), json!({"level": 0})),
        ),
    ];
    for (tenant, path, body) in refused {
        let token = if tenant == "acme" { &acme } else { &beta };
        let (code, answer) = put(a, token, path, body.clone()).await;
        assert_eq!(code, 400, "{tenant} {path} {body}: {answer}");
        assert!(answer["error"].is_string(), "{answer}");
        not_for_a_missing_field(&answer);
    }
    assert_eq!(
        callcenter_commands(&p).len(),
        sent_before,
        "nothing refused reached the node"
    );
    // Beta cannot see nor remove acme's agent.
    let (_, agents) = call(a, "GET", "/api/agents", Some(&beta), None).await;
    assert_eq!(agents, json!({"agents": []}));
    let (code, _) = call(a, "DELETE", "/api/agents/1000", Some(&beta), None).await;
    assert_eq!(code, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn menus_are_typed_their_targets_checked_and_nothing_in_use_is_removed() {
    let p = platform().await;
    let a = p.address;
    let store = store_of(&p).await;
    store.put_did("02873001234", "acme").await.unwrap();
    store.put_did("02873009999", "beta").await.unwrap();
    let acme = login(a, "acme", "admin").await;
    let queue = with(queue_body(), json!({"extension": "8000"}));
    assert_eq!(put(a, &acme, "/api/queues/support", queue).await.0, 200);

    let menu = with(
        menu_body(),
        json!({
            "extension": "7000",
            "greet_long": "ivr/ivr-welcome.wav",
            "timeout_ms": 5000,
            "entries": {"1": "queue:support", "2": "extension:1000", "9": "repeat", "0": "hangup"},
        }),
    );
    let (code, body) = put(a, &acme, "/api/menus/main", menu).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["greet_short"], "ivr/ivr-welcome.wav");
    assert_eq!(
        body["entries"],
        json!({"0": "hangup", "1": "queue:support", "2": "extension:1000", "9": "repeat"})
    );
    let route = json!({"route": "menu:main"});
    let (code, body) = put(a, &acme, "/api/dids/02873001234", route).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body,
        json!({"number": "02873001234", "route": "menu:main", "destination": "7000"})
    );

    let greeting = |entries: Value| {
        with(
            menu_body(),
            json!({"greet_long": "ivr/hello.wav", "entries": entries}),
        )
    };
    let refused = [
        // Raw FreeSWITCH actions are not actions.
        greeting(json!({"1": "menu-exec-app:bridge sofia/gateway/trunk/0044123"})),
        // Targets must be the tenant's and reachable.
        greeting(json!({"1": "queue:nosuch"})),
        greeting(json!({"1": "extension:1999"})),
        greeting(json!({"1": "did:02873009999"})),
        greeting(json!({"1": "menu:nosuch"})),
        greeting(json!({"12345": "hangup"})),
        greeting(json!({"a": "hangup"})),
        with(
            menu_body(),
            json!({"greet_long": "/etc/freeswitch/tls/agent.pem"}),
        ),
        with(menu_body(), json!({"greet_long": "../../other/prompt.wav"})),
        with(
            menu_body(),
            json!({"greet_long": "ivr/hello.wav", "timeout_ms": 0}),
        ),
    ];
    for body in refused {
        let (code, answer) = put(a, &acme, "/api/menus/other", body.clone()).await;
        assert_eq!(code, 400, "{body}: {answer}");
        not_for_a_missing_field(&answer);
    }
    // A submenu may be the menu itself; a DID target must be routed.
    let (code, body) = put(
        a,
        &acme,
        "/api/menus/other",
        greeting(json!({"1": "menu:other", "2": "did:02873001234", "3": "menu:main"})),
    )
    .await;
    assert_eq!(code, 200, "{body}");

    // What still sends calls somewhere keeps it.
    let (code, body) = call(a, "DELETE", "/api/queues/support", Some(&acme), None).await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["error"], "menu main still uses it; change that first");
    let (code, body) = call(a, "DELETE", "/api/menus/main", Some(&acme), None).await;
    assert_eq!(code, 409, "{body}");
    let (code, _) = call(a, "DELETE", "/api/menus/other", Some(&acme), None).await;
    assert_eq!(code, 204);

    // Another tenant's DID is not found; beta sees neither acme's menus nor its DIDs.
    let beta = login(a, "beta", "admin").await;
    let route = json!({"route": "extension:1000"});
    assert_eq!(
        put(a, &acme, "/api/dids/02873009999", route.clone())
            .await
            .0,
        404
    );
    let (_, menus) = call(a, "GET", "/api/menus", Some(&beta), None).await;
    assert_eq!(menus, json!({"menus": []}));
    let (_, dids) = call(a, "GET", "/api/dids", Some(&beta), None).await;
    assert_eq!(
        dids,
        json!({"dids": [{"number": "02873009999", "route": null, "destination": null}]})
    );
    assert_eq!(put(a, &beta, "/api/dids/02873009999", route).await.0, 200);
}

/// A PUT replaces the whole queue or menu: one that leaves out a field is refused naming it,
/// and what is stored (and what the node was told) stays as it was, not reset to a default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_that_leaves_out_a_field_is_refused_naming_it_and_changes_nothing() {
    let p = platform().await;
    let a = p.address;
    let admin = login(a, "acme", "admin").await;

    let queue = with(
        queue_body(),
        json!({"extension": "8000", "strategy": "ring-all", "moh_sound": "local_stream://moh",
            "service_level_seconds": 30}),
    );
    assert_eq!(put(a, &admin, "/api/queues/support", queue).await.0, 200);
    let (code, queues_before) = call(a, "GET", "/api/queues", Some(&admin), None).await;
    assert_eq!(code, 200);
    assert_eq!(
        queues_before["queues"][0]["moh_sound"],
        "local_stream://moh"
    );
    let told_before = callcenter_commands(&p);
    // Each field left out of a body that would otherwise change every one of them.
    let changed = json!({"extension": "8001", "strategy": "longest-idle-agent",
        "moh_sound": null, "service_level_seconds": 45});
    for field in changed.as_object().unwrap().keys() {
        let mut partial = changed.clone();
        partial.as_object_mut().unwrap().remove(field);
        let (code, answer) = put(a, &admin, "/api/queues/support", partial).await;
        assert_eq!(code, 400, "queue without {field}: {answer}");
        let missing = format!("invalid JSON body: missing field `{field}`");
        assert!(
            answer["error"].as_str().unwrap().starts_with(&missing),
            "{answer}"
        );
        let (_, queues_after) = call(a, "GET", "/api/queues", Some(&admin), None).await;
        assert_eq!(queues_after, queues_before, "queue without {field}");
    }
    assert_eq!(
        callcenter_commands(&p),
        told_before,
        "the node was told nothing"
    );

    let menu = with(
        menu_body(),
        json!({"extension": "7000", "greet_short": "ivr/ivr-short.wav", "timeout_ms": 5000,
            "max_failures": 5, "entries": {"0": "hangup"}}),
    );
    assert_eq!(put(a, &admin, "/api/menus/main", menu).await.0, 200);
    let (code, menu_before) = call(a, "GET", "/api/menus/main", Some(&admin), None).await;
    assert_eq!(code, 200, "{menu_before}");
    assert_eq!(menu_before["greet_short"], "ivr/ivr-short.wav");
    let changed = json!({
        "extension": "7001",
        "greet_long": "ivr/hello.wav",
        "greet_short": null,
        "invalid_sound": "ivr/invalid.wav",
        "exit_sound": "ivr/exit.wav",
        "timeout_ms": 10000,
        "max_failures": 3,
        "entries": {"1": "repeat"},
    });
    for field in changed.as_object().unwrap().keys() {
        let mut partial = changed.clone();
        partial.as_object_mut().unwrap().remove(field);
        let (code, answer) = put(a, &admin, "/api/menus/main", partial).await;
        assert_eq!(code, 400, "menu without {field}: {answer}");
        let missing = format!("invalid JSON body: missing field `{field}`");
        assert!(
            answer["error"].as_str().unwrap().starts_with(&missing),
            "{answer}"
        );
        let (_, menu_after) = call(a, "GET", "/api/menus/main", Some(&admin), None).await;
        assert_eq!(menu_after, menu_before, "menu without {field}");
    }
    // The whole body is taken.
    let (code, body) = put(a, &admin, "/api/menus/main", changed).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["greet_short"], "ivr/hello.wav");
}

/// What the review of the provisioning found: an extension that an agent is cannot be removed
/// (whoever is given its name next would take the queue's calls); names differing only in
/// case are refused (FreeSWITCH finds them ignoring case); a write of an agent without a status
/// keeps the one the agent set; the standard music on hold is a sound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_in_use_stays_and_case_twins_are_refused() {
    let p = platform().await;
    let a = p.address;
    let admin = login(a, "acme", "admin").await;
    assert_eq!(put(a, &admin, "/api/agents/1000", json!({})).await.0, 200);
    let (code, body) = call(a, "DELETE", "/api/extensions/1000", Some(&admin), None).await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["error"], "agent 1000 still uses it; change that first");

    let queue = with(queue_body(), json!({"moh_sound": "local_stream://moh"}));
    assert_eq!(put(a, &admin, "/api/queues/support", queue).await.0, 200);
    let (code, body) = put(a, &admin, "/api/queues/Support", queue_body()).await;
    assert_eq!(code, 409, "{body}");
    not_for_a_missing_field(&body);

    let agent = login(a, "acme", "agent").await;
    let on_break = json!({"status": "On Break"});
    assert_eq!(
        put(a, &agent, "/api/agents/1000/status", on_break).await.0,
        200
    );
    let (code, body) = put(a, &admin, "/api/agents/1000", json!({})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["agent"]["status"], "On Break");
    assert_eq!(
        store_of(&p)
            .await
            .agent("acme", "1000")
            .await
            .unwrap()
            .unwrap()
            .status,
        "On Break"
    );
    let (code, _) = call(a, "DELETE", "/api/agents/1000", Some(&admin), None).await;
    assert_eq!(code, 200);
    // Still the extension of user `agent`: its token would ring whoever gets the name next.
    let (code, body) = call(a, "DELETE", "/api/extensions/1000", Some(&admin), None).await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["error"], "user agent still uses it; change that first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ring_groups_are_provisioned_by_admins_from_their_own_extensions() {
    let p = platform().await;
    let a = p.address;
    let admin = login(a, "acme", "admin").await;
    let extension = json!({"password": "long-enough", "caller_id_name": null,
        "caller_id_number": null, "record_calls": false});
    assert_eq!(
        put(a, &admin, "/api/extensions/1001", extension).await.0,
        200
    );
    let group = json!({"extension": "7100", "strategy": "sequential", "ring_seconds": 15, "members": ["1000", "1001"]});
    let (code, body) = put(a, &admin, "/api/ring-groups/sales", group).await;
    assert_eq!(code, 200, "{body}");
    let (_, listed) = call(a, "GET", "/api/ring-groups", Some(&admin), None).await;
    assert_eq!(
        listed,
        json!({"ring_groups": [{"name": "sales", "extension": "7100", "strategy": "sequential", "ring_seconds": 15, "members": ["1000", "1001"]}]})
    );
    for (bad, expected) in [
        (
            with(ring_group_body(), json!({"members": ["1000", "9999"]})),
            400,
        ),
        (with(ring_group_body(), json!({"strategy": "random"})), 400),
        (with(ring_group_body(), json!({"ring_seconds": 1})), 400),
        // A dial name taken by an extension: the state refuses it.
        (with(ring_group_body(), json!({"extension": "1001"})), 409),
        // A field that is not the group's.
        (
            with(
                ring_group_body(),
                json!({"contact": "sofia/gateway/trunk/0044"}),
            ),
            400,
        ),
    ] {
        let (code, answer) = put(a, &admin, "/api/ring-groups/other", bad.clone()).await;
        assert_eq!(code, expected, "{bad}: {answer}");
        not_for_a_missing_field(&answer);
    }
    let agent = login(a, "acme", "agent").await;
    let (code, _) = put(a, &agent, "/api/ring-groups/x", ring_group_body()).await;
    assert_eq!(code, 403);
    let beta = login(a, "beta", "admin").await;
    let (_, theirs) = call(a, "GET", "/api/ring-groups", Some(&beta), None).await;
    assert_eq!(theirs, json!({"ring_groups": []}));
    let (code, _) = call(a, "DELETE", "/api/ring-groups/sales", Some(&beta), None).await;
    assert_eq!(code, 404);
    let (code, _) = call(a, "DELETE", "/api/ring-groups/sales", Some(&admin), None).await;
    assert_eq!(code, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_are_written_by_admins_and_route_dids_by_the_time_of_day() {
    let p = platform().await;
    let a = p.address;
    let store = store_of(&p).await;
    store.put_did("02873001234", "acme").await.unwrap();
    let admin = login(a, "acme", "admin").await;
    assert_eq!(
        put(
            a,
            &admin,
            "/api/queues/support",
            with(queue_body(), json!({"extension": "8000"}))
        )
        .await
        .0,
        200
    );
    let hours = with(
        schedule_body(),
        json!({"rules": [{"days": "mon-fri", "from": "09:00", "to": "17:30", "route": "queue:support"}]}),
    );
    let (code, body) = put(a, &admin, "/api/schedules/hours", hours).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body,
        json!({"name": "hours", "rules": [{"days": "mon,tue,wed,thu,fri", "from": "09:00", "to": "17:30", "route": "queue:support"}], "otherwise": "extension:1000"})
    );
    let (code, body) = put(
        a,
        &admin,
        "/api/dids/02873001234",
        json!({"route": "schedule:hours"}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["route"], "schedule:hours");
    let rule = |days: &str, from: &str, to: &str, route: &str| {
        with(
            schedule_body(),
            json!({"rules": [{"days": days, "from": from, "to": to, "route": route}]}),
        )
    };
    for bad in [
        rule("weekdays", "09:00", "17:00", "queue:support"),
        rule("mon", "9:00", "17:00", "queue:support"),
        rule("mon", "17:00", "09:00", "queue:support"),
        rule("mon", "09:00", "25:00", "queue:support"),
        rule("mon", "09:00", "17:00", "schedule:hours"),
        rule("mon", "09:00", "17:00", "queue:nosuch"),
        rule("mon", "09:00", "17:00", "bridge:sofia/gateway/x/1"),
    ] {
        let (code, answer) = put(a, &admin, "/api/schedules/other", bad.clone()).await;
        assert_eq!(code, 400, "{bad}: {answer}");
        not_for_a_missing_field(&answer);
    }
    let (code, _) = call(a, "DELETE", "/api/schedules/hours", Some(&admin), None).await;
    assert_eq!(code, 409, "a DID routes to it");
    // What a schedule sends calls to stays while it does.
    let (code, body) = call(a, "DELETE", "/api/queues/support", Some(&admin), None).await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(
        body["error"],
        "schedule hours still uses it; change that first"
    );
    let (code, body) = call(a, "DELETE", "/api/extensions/1000", Some(&admin), None).await;
    assert_eq!(code, 409, "{body}");
    let beta = login(a, "beta", "admin").await;
    let (_, theirs) = call(a, "GET", "/api/schedules", Some(&beta), None).await;
    assert_eq!(theirs, json!({"schedules": []}));
}

/// Prompts: an admin uploads a mono PCM WAV (a real recording), names it in a menu as
/// `prompt:NAME`; anything else is refused; another tenant sees none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_are_uploaded_as_wav_and_named_in_menus() {
    let p = platform().await;
    let a = p.address;
    let admin = login(a, "acme", "admin").await;
    let (samples, layout) = tests::recordings::fixture_samples("mono_");
    let wav = tests::recordings::looped_wav(&samples, layout.sample_rate, 1, 2);
    let upload = |token: String, name: &'static str, body: Vec<u8>| async move {
        let auth = format!("Bearer {token}");
        let request = tests::http::request(
            "PUT",
            &format!("/api/prompts/{name}"),
            &[
                ("Authorization", auth.as_str()),
                ("Content-Type", "audio/wav"),
            ],
            &body,
        );
        let response = tests::http::send(a, &request).await.unwrap();
        let json: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        (response.status, json)
    };
    let (code, body) = upload(admin.clone(), "welcome", wav.clone()).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["sound"], "prompt:welcome");
    assert_eq!(body["seconds"], 2.0);
    let (stereo, stereo_layout) = tests::recordings::fixture_samples("stereo_");
    let stereo = tests::recordings::looped_wav(&stereo, stereo_layout.sample_rate, 2, 1);
    for (name, bad) in [
        ("stereo", stereo),
        ("text", b"not a wav at all".to_vec()),
        ("cut", wav[..wav.len() / 2].to_vec()),
    ] {
        let (code, answer) = upload(admin.clone(), name, bad).await;
        assert_eq!(code, 400, "{name}: {answer}");
    }
    let agent = login(a, "acme", "agent").await;
    assert_eq!(upload(agent, "mine", wav.clone()).await.0, 403);

    let (_, listed) = call(a, "GET", "/api/prompts", Some(&admin), None).await;
    assert_eq!(
        listed,
        json!({"prompts": [{"name": "welcome", "bytes": wav.len()}]})
    );
    let menu = with(
        menu_body(),
        json!({"greet_long": "prompt:welcome", "entries": {"0": "hangup"}}),
    );
    let (code, body) = put(a, &admin, "/api/menus/main", menu).await;
    assert_eq!(code, 200, "{body}");
    let hostile = with(menu_body(), json!({"greet_long": "prompt:../beta/welcome"}));
    assert_eq!(put(a, &admin, "/api/menus/other", hostile).await.0, 400);

    let beta = login(a, "beta", "admin").await;
    let (_, theirs) = call(a, "GET", "/api/prompts", Some(&beta), None).await;
    assert_eq!(theirs, json!({"prompts": []}));
    let (code, _) = call(a, "DELETE", "/api/prompts/welcome", Some(&beta), None).await;
    assert_eq!(code, 404);
    // Played by a menu: kept; a queue's music cannot be a prompt (its URL would expire under
    // the loaded queue); over the size limit: a JSON 413.
    let (code, body) = call(a, "DELETE", "/api/prompts/welcome", Some(&admin), None).await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["error"], "menu main still uses it; change that first");
    let moh = with(queue_body(), json!({"moh_sound": "prompt:welcome"}));
    assert_eq!(put(a, &admin, "/api/queues/support", moh).await.0, 400);
    let (code, body) = upload(admin.clone(), "huge", vec![0; (4 << 20) + 1]).await;
    assert_eq!(code, 413, "{body}");
    assert!(body["error"].is_string(), "{body}");
    let plain = with(menu_body(), json!({"entries": {"0": "hangup"}}));
    assert_eq!(put(a, &admin, "/api/menus/main", plain).await.0, 200);
    let (code, _) = call(a, "DELETE", "/api/prompts/welcome", Some(&admin), None).await;
    assert_eq!(code, 204);
}
