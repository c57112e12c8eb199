//! Trunks reach running FreeSWITCH nodes over ESL: a new one by `sofia profile P rescan`, a
//! changed one by `killgw` then `rescan`, a removed one by `killgw`, an unchanged one not at
//! all; and a node that (re)connects rescans every profile a trunk uses, so a trunk added
//! while it was away reaches it without a restart.

mod common;

use billing::Ledger;
use callcenter::roles::esl_worker::{EslWorker, EslWorkerConfig, NodeConfig};
use common::{call, operator_login, platform};
use platform::cache::Cache;
use platform::events::Hub;
use platform::store::PlatformStore;
use platform::trunks::TrunkRow;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tests::node::{FakeNode, Session, event_frames};
use tokio::sync::Notify;

fn trunk(proxy: &str) -> Value {
    json!({
        "profile": "external",
        "proxy": proxy,
        "realm": null,
        "username": "acct-1",
        "password": "carrier-secret",
        "register": true,
        "from_domain": null,
        "caller_id_in_from": false,
        "expire_seconds": 3600,
        "retry_seconds": 30
    })
}

/// The sofia commands the node has seen.
fn sofia(node: &FakeNode) -> Vec<String> {
    node.log()
        .commands
        .into_iter()
        .filter(|c| c.starts_with("api sofia "))
        .collect()
}

/// The sofia commands of the node once there are `count` of them (10 s at most).
async fn sofia_within(node: &FakeNode, count: usize) -> Vec<String> {
    for _ in 0..500 {
        if sofia(node).len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sofia(node)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trunk_changes_reach_the_node_at_once() {
    let p = platform().await;
    let operator = operator_login(p.address).await;
    let path = "/api/operator/trunks/carrier";

    let (status, body) = call(
        p.address,
        "PUT",
        path,
        Some(&operator),
        Some(trunk("sip.carrier.example")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["nodes"], json!([{"node": "fs1", "applied": true}]));
    assert_eq!(sofia(&p.node), ["api sofia profile external rescan"]);

    // The same trunk again: the node keeps its gateway (and registration).
    let (status, _) = call(
        p.address,
        "PUT",
        path,
        Some(&operator),
        Some(trunk("sip.carrier.example")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(sofia(&p.node).len(), 1);

    // Changed: the old gateway goes, then the profile reads the new one.
    let (status, body) = call(
        p.address,
        "PUT",
        path,
        Some(&operator),
        Some(trunk("sip2.carrier.example")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        sofia(&p.node)[1..],
        [
            "api sofia profile external killgw carrier",
            "api sofia profile external rescan"
        ]
    );

    let (status, _) = call(p.address, "DELETE", path, Some(&operator), None).await;
    assert_eq!(status, 204);
    assert_eq!(
        sofia(&p.node).last().unwrap(),
        "api sofia profile external killgw carrier"
    );
    // Nothing of the trunk's password went to the node.
    assert!(
        !p.node
            .log()
            .commands
            .iter()
            .any(|c| c.contains("carrier-secret"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnected_node_rescans_the_trunks_profiles() {
    let dir = tests::fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "trunks-reconnect");
    let url = format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display());
    let ledger = Ledger::connect(&url).await.unwrap();
    let store = PlatformStore::open(ledger.pool().clone(), ledger.backend())
        .await
        .unwrap();
    // The first connection stays until the test lets it drop; the node is back on the second.
    let capture = std::fs::read(tests::fixture("esl/esl-plain.raw")).unwrap();
    let drop_now = Arc::new(Notify::new());
    let node = FakeNode::start(
        "ClueCon",
        vec![
            Session {
                events: event_frames(&capture)[..1].to_vec(),
                pause_before: vec![(0, drop_now.clone())],
                close_after: true,
                ..Session::idle()
            },
            // Back without the `external` profile: its rescan fails, `lan`'s is still sent.
            Session {
                api_replies: vec![(
                    "sofia profile external rescan".into(),
                    "Invalid Profile [external]\n".into(),
                )],
                ..Session::idle()
            },
        ],
    )
    .await;
    let put = |name: &'static str, profile: &'static str| {
        let store = store.clone();
        async move {
            let trunk = TrunkRow {
                name: name.into(),
                profile: profile.into(),
                proxy: "sip.carrier.example".into(),
                realm: None,
                username: None,
                password: None,
                register: false,
                from_domain: None,
                caller_id_in_from: false,
                expire_seconds: 3600,
                retry_seconds: 30,
            };
            store.put_trunk(&trunk).await.unwrap();
        }
    };
    put("local", "lan").await;
    let mut config = EslWorkerConfig::new(
        vec![NodeConfig {
            name: "fs1".into(),
            address: node.address(),
            password: "ClueCon".into(),
        }],
        dir.join("staging"),
    );
    config.backoff.initial = Duration::from_millis(50);
    let worker = EslWorker::start(
        config,
        ledger,
        Cache::new(store.clone(), Duration::from_secs(60)),
        Hub::new(16),
        None,
    );
    // On connecting, the node rescans the one trunk's profile.
    let lan = "api sofia profile lan rescan";
    let external = "api sofia profile external rescan";
    assert_eq!(sofia_within(&node, 1).await, [lan]);
    // Trunks are added while it is connected (through another process's API, say, whose
    // worker this node is not), then the connection drops: once back, it rescans both.
    put("carrier", "external").await;
    put("backup", "external").await;
    drop_now.notify_one();
    assert_eq!(sofia_within(&node, 3).await, [lan, external, lan]);
    assert_eq!(node.log().connections, 2);
    worker.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
