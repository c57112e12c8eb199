//! The REST API and `/ws` over real HTTP: logins, tokens (expired, forged, tampered), roles,
//! and tenant isolation on every route; click-to-call through the ESL worker to a node.

mod common;

use callcenter::api::{ApiUser, Role, Tokens};
use common::*;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;
use tests::http::{request, send};
// Logins.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_unknown_user_or_wrong_tenant_get_the_same_401() {
    let p = platform().await;
    for (tenant, user, password) in [
        ("acme", "admin", "nope"),
        ("acme", "nobody", "acme-admin-pw"),
        ("beta", "admin", "acme-admin-pw"),
    ] {
        let (status, body) = call(
            p.address,
            "POST",
            "/api/login",
            None,
            Some(json!({"tenant": tenant, "username": user, "password": password})),
        )
        .await;
        assert_eq!(status, 401, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_login_is_a_400() {
    let p = platform().await;
    let (status, body) = call(
        p.address,
        "POST",
        "/api/login",
        None,
        Some(json!({"tenant": 1})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

// Active calls.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_calls_are_the_token_tenants_only() {
    let p = platform().await;
    let a = p.address;
    let acme_agent = login(a, "acme", "agent").await;
    let beta_admin = login(a, "beta", "admin").await;
    // The node's two legs are acme's.
    let (status, body) = call(a, "GET", "/api/calls", Some(&acme_agent), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["calls"].as_array().unwrap().len(), 2, "{body}");
    let (_, body) = call(a, "GET", "/api/calls", Some(&beta_admin), None).await;
    assert_eq!(body["calls"], json!([]));
}

// CDRs.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdrs_are_paginated_per_tenant() {
    let p = platform().await;
    let a = p.address;
    let acme_agent = login(a, "acme", "agent").await;
    let beta_admin = login(a, "beta", "admin").await;
    record_three_acme_calls_and_one_beta_call(&p).await;
    let (status, page) = call(a, "GET", "/api/cdrs?limit=2", Some(&acme_agent), None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["cdrs"].as_array().unwrap().len(), 2);
    let next = page["next"].as_i64().unwrap();
    let (_, rest) = call(
        a,
        "GET",
        &format!("/api/cdrs?limit=2&after={next}"),
        Some(&acme_agent),
        None,
    )
    .await;
    assert_eq!(rest["cdrs"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next"], Value::Null);
    let (_, beta) = call(a, "GET", "/api/cdrs", Some(&beta_admin), None).await;
    let uuids: Vec<&str> = beta["cdrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["uuid"].as_str().unwrap())
        .collect();
    assert_eq!(uuids, ["beta-call"]);
    assert_eq!(beta["cdrs"][0]["amount"], "0.30");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdrs_are_filtered_by_start_time() {
    let p = platform().await;
    let acme_agent = login(p.address, "acme", "agent").await;
    record_three_acme_calls_and_one_beta_call(&p).await;
    let (_, range) = call(
        p.address,
        "GET",
        "/api/cdrs?from=1795262000",
        Some(&acme_agent),
        None,
    )
    .await;
    assert_eq!(range["cdrs"], json!([]), "nothing that late");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_cdr_limit_is_refused() {
    let p = platform().await;
    let acme_agent = login(p.address, "acme", "agent").await;
    let (status, _) = call(
        p.address,
        "GET",
        "/api/cdrs?limit=0",
        Some(&acme_agent),
        None,
    )
    .await;
    assert_eq!(status, 400);
}

// Recordings.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_is_listed_and_streamed_to_its_tenant() {
    let p = platform().await;
    let a = p.address;
    let acme_agent = login(a, "acme", "agent").await;
    let key = store_a_recording_of_acme_call_0(&p).await;
    let (status, list) = call(
        a,
        "GET",
        "/api/recordings/acme-call-0",
        Some(&acme_agent),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["recordings"][0]["key"], key);
    let download = send(
        a,
        &request(
            "GET",
            "/api/recordings/acme-call-0/0",
            &[("Authorization", &format!("Bearer {acme_agent}"))],
            b"",
        ),
    )
    .await
    .unwrap();
    assert_eq!(download.status, 200);
    assert_eq!(download.header("content-type"), Some("audio/mpeg"));
    assert_eq!(download.body, b"ID3 not really an mp3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_of_another_tenant_is_not_found() {
    let p = platform().await;
    let a = p.address;
    let beta_admin = login(a, "beta", "admin").await;
    store_a_recording_of_acme_call_0(&p).await;
    // Another tenant's call does not exist for beta: 404, as for a call nobody had.
    let (status, list) = call(
        a,
        "GET",
        "/api/recordings/acme-call-0",
        Some(&beta_admin),
        None,
    )
    .await;
    assert_eq!(status, 404, "{list}");
    assert_eq!(list["code"], "not_found");
    let (status, _) = call(
        a,
        "GET",
        "/api/recordings/acme-call-0/0",
        Some(&beta_admin),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

// Extensions: admins write, agents read; tenants never see each other's.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_cannot_create_extensions() {
    let p = platform().await;
    let acme_agent = login(p.address, "acme", "agent").await;
    let (status, _) = call(
        p.address,
        "PUT",
        "/api/extensions/2000",
        Some(&acme_agent),
        Some(json!({"password": "long-enough"})),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_an_admin_creates_is_listed_to_agents() {
    let p = platform().await;
    let a = p.address;
    let acme_admin = login(a, "acme", "admin").await;
    let acme_agent = login(a, "acme", "agent").await;
    create_extension_2000(a, &acme_admin).await;
    let (_, list) = call(a, "GET", "/api/extensions", Some(&acme_agent), None).await;
    let names: Vec<&str> = list["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["extension"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["1000", "2000"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_extension_needs_a_password_and_a_valid_name() {
    let p = platform().await;
    let a = p.address;
    let acme_admin = login(a, "acme", "admin").await;
    let (status, _) = call(
        a,
        "PUT",
        "/api/extensions/2001",
        Some(&acme_admin),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 400, "a new extension needs a password");
    let (status, _) = call(
        a,
        "PUT",
        "/api/extensions/a%2Fb",
        Some(&acme_admin),
        Some(json!({"password": "long-enough"})),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenant_can_neither_read_nor_delete_an_extension() {
    let p = platform().await;
    let a = p.address;
    let acme_admin = login(a, "acme", "admin").await;
    let beta_admin = login(a, "beta", "admin").await;
    create_extension_2000(a, &acme_admin).await;
    let (status, _) = call(a, "GET", "/api/extensions/2000", Some(&beta_admin), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(a, "DELETE", "/api/extensions/2000", Some(&beta_admin), None).await;
    assert_eq!(status, 404, "beta cannot delete acme's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_delete_extensions() {
    let p = platform().await;
    let a = p.address;
    let acme_admin = login(a, "acme", "admin").await;
    let acme_agent = login(a, "acme", "agent").await;
    create_extension_2000(a, &acme_admin).await;
    let (status, _) = call(a, "DELETE", "/api/extensions/2000", Some(&acme_agent), None).await;
    assert_eq!(status, 403);
    // Still there for the admin to delete.
    let (status, _) = call(a, "DELETE", "/api/extensions/2000", Some(&acme_admin), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(a, "GET", "/api/extensions/2000", Some(&acme_admin), None).await;
    assert_eq!(status, 404);
}

// Balance and top-ups: the operator only, once per reference, to the tenant named.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_tenant_user_can_top_up_not_even_an_admin_their_own_tenant() {
    let p = platform().await;
    let a = p.address;
    let acme_admin = login(a, "acme", "admin").await;
    let acme_agent = login(a, "acme", "agent").await;
    let before = fetch_balance(a, &acme_admin).await;
    for token in [&acme_admin, &acme_agent] {
        for body in [
            json!({"amount": "25.00", "reference": "invoice-7"}),
            json!({"tenant": "acme", "amount": "1000000", "reference": "self"}),
        ] {
            let (status, answer) = call(a, "POST", "/api/topups", Some(token), Some(body)).await;
            assert_eq!(status, 403, "{answer}");
        }
    }
    assert_eq!(fetch_balance(a, &acme_admin).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_see_no_tenant_data() {
    let p = platform().await;
    let ops = operator_login(p.address).await;
    for path in ["/api/calls", "/api/cdrs", "/api/balance", "/api/extensions"] {
        let (status, body) = call(p.address, "GET", path, Some(&ops), None).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    let ws = tokio_tungstenite::connect_async(format!("ws://{}/ws?token={ops}", p.address)).await;
    assert!(ws.is_err(), "an operator's token opened a tenant's /ws");
    // Tenant users do not see the unassigned CDRs; the operator does.
    let acme_admin = login(p.address, "acme", "admin").await;
    let path = "/api/operator/unassigned-cdrs";
    let (status, _) = call(p.address, "GET", path, Some(&acme_admin), None).await;
    assert_eq!(status, 403);
    let (status, body) = call(p.address, "GET", path, Some(&ops), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cdrs"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_negative_or_oversized_top_up_is_refused() {
    let p = platform().await;
    let a = p.address;
    let ops = operator_login(a).await;
    let acme_admin = login(a, "acme", "admin").await;
    let before = fetch_balance(a, &acme_admin).await;
    for amount in ["-1", "0", "10000.01", "not money"] {
        let (status, body) = call(
            a,
            "POST",
            "/api/topups",
            Some(&ops),
            Some(json!({"tenant": "acme", "amount": amount, "reference": "x"})),
        )
        .await;
        assert_eq!(status, 400, "{amount}: {body}");
    }
    assert_eq!(fetch_balance(a, &acme_admin).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_top_up_is_added_once_per_reference_to_its_tenant_only() {
    let p = platform().await;
    let a = p.address;
    let ops = operator_login(a).await;
    let acme_agent = login(a, "acme", "agent").await;
    let beta_admin = login(a, "beta", "admin").await;
    record_three_acme_calls_and_one_beta_call(&p).await;
    let top_up = json!({"tenant": "acme", "amount": "25.00", "reference": "invoice-7"});
    for _ in 0..2 {
        let (status, body) = call(a, "POST", "/api/topups", Some(&ops), Some(top_up.clone())).await;
        assert_eq!(status, 200, "{body}");
    }
    let balance = fetch_balance(a, &acme_agent).await;
    // 25.00 added once, 3 minutes at 0.60 charged.
    assert_eq!(balance["balance"], "23.20", "{balance}");
    let (_, balance) = call(a, "GET", "/api/balance", Some(&beta_admin), None).await;
    assert_eq!(balance["balance"], "-0.30", "{balance}");
}

// Click-to-call: an agent from their own extension, through the tenant's context.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_calls_from_their_own_extension_only() {
    let p = platform().await;
    let acme_agent = login(p.address, "acme", "agent").await;
    let (status, _) = call(
        p.address,
        "POST",
        "/api/calls",
        Some(&acme_agent),
        Some(json!({"to": "442079460000", "from": "2000"})),
    )
    .await;
    assert_eq!(status, 403, "not the agent's extension");
    assert_eq!(originates(&p), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_is_not_a_number_is_refused() {
    let p = platform().await;
    let acme_agent = login(p.address, "acme", "agent").await;
    let (status, _) = call(
        p.address,
        "POST",
        "/api/calls",
        Some(&acme_agent),
        Some(json!({"to": "44 20; hangup"})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(originates(&p), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn click_to_call_rings_the_agents_extension_in_the_tenants_context() {
    let p = platform().await;
    let acme_agent = login(p.address, "acme", "agent").await;
    let (status, placed) = call(
        p.address,
        "POST",
        "/api/calls",
        Some(&acme_agent),
        Some(json!({"to": "442079460000"})),
    )
    .await;
    assert_eq!(status, 202, "{placed}");
    let uuid = placed["uuid"].as_str().unwrap();
    assert_eq!(uuid.len(), 36);
    let originate = originates_sent(&p).await.into_iter().next().unwrap();
    assert!(
        originate.contains(&format!("origination_uuid={uuid}")),
        "{originate}"
    );
    assert!(originate.contains("tenant_id=acme"), "{originate}");
    assert!(
        originate.ends_with("}user/1000@acme.example 442079460000 XML default"),
        "{originate}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_to_call_freeswitch_refuses_is_reported_with_its_cause() {
    // As a real FreeSWITCH answers an originate to a phone that is not registered.
    let p = platform_with(vec![(
        "originate".into(),
        "-ERR USER_NOT_REGISTERED\n".into(),
    )])
    .await;
    let a = p.address;
    let agent = login(a, "acme", "agent").await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{a}/ws?token={agent}"))
        .await
        .unwrap();
    assert_eq!(next_text(&mut ws).await["type"], "snapshot");
    let (status, placed) = call(
        a,
        "POST",
        "/api/calls",
        Some(&agent),
        Some(json!({"to": "1001"})),
    )
    .await;
    assert_eq!(status, 202, "{placed}");
    assert_eq!(placed["state"], "ringing");
    let uuid = placed["uuid"].as_str().unwrap().to_owned();
    let failed = next_text(&mut ws).await;
    assert_eq!(failed["type"], "call_failed", "{failed}");
    assert_eq!(failed["uuid"], uuid.as_str());
    assert_eq!(failed["cause"], "USER_NOT_REGISTERED");
    let (status, outcome) = call(a, "GET", &format!("/api/calls/{uuid}"), Some(&agent), None).await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(
        outcome,
        json!({"state": "failed", "cause": "USER_NOT_REGISTERED", "uuid": uuid})
    );
    // Another tenant's call, or none, does not exist.
    let beta = login(a, "beta", "admin").await;
    let (status, _) = call(a, "GET", &format!("/api/calls/{uuid}"), Some(&beta), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(
        a,
        "GET",
        "/api/calls/3f0c6a1e-0000-4000-8000-00000000dead",
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_in_progress_is_shown_by_its_uuid() {
    let p = platform().await;
    let a = p.address;
    let agent = login(a, "acme", "agent").await;
    let (_, calls) = call(a, "GET", "/api/calls", Some(&agent), None).await;
    let uuid = calls["calls"][0]["uuid"].as_str().unwrap().to_owned();
    let (status, shown) = call(a, "GET", &format!("/api/calls/{uuid}"), Some(&agent), None).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["state"], "active");
    assert_eq!(shown["call"]["uuid"], uuid.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_from_an_extension_the_tenant_lacks_is_refused() {
    let p = platform().await;
    // 2000 exists, but as acme's.
    create_extension_2000(p.address, &login(p.address, "acme", "admin").await).await;
    let beta_admin = login(p.address, "beta", "admin").await;
    let (status, _) = call(
        p.address,
        "POST",
        "/api/calls",
        Some(&beta_admin),
        Some(json!({"to": "1", "from": "2000"})),
    )
    .await;
    assert_eq!(status, 400, "2000 is acme's extension, not beta's");
    assert_eq!(originates(&p), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_forged_and_tampered_tokens_are_refused() {
    let p = platform().await;
    let a = p.address;
    let valid = login(a, "acme", "admin").await;
    let short = Tokens::new(SECRET, Duration::from_secs(1));
    let admin = ApiUser {
        tenant: "acme".into(),
        username: "admin".into(),
        role: Role::Admin,
        extension: None,
    };
    let (expired, _) = short.issue(&admin, 0);
    let (forged, _) =
        Tokens::new(b"somebody else's secret", Duration::from_secs(3600)).issue(&admin, 0);
    // Same signature, payload changed to another tenant.
    let parts: Vec<&str> = valid.split('.').collect();
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
    claims["tenant"] = json!("beta");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        engine.encode(claims.to_string()),
        parts[2]
    );
    let unsigned = format!(
        "{}.{}.",
        engine.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for (what, token) in [
        ("expired", expired.as_str()),
        ("forged", forged.as_str()),
        ("tampered", tampered.as_str()),
        ("unsigned", unsigned.as_str()),
        ("garbage", "not.a.token"),
    ] {
        for path in ["/api/calls", "/api/cdrs", "/api/balance", "/api/extensions"] {
            let (status, body) = call(a, "GET", path, Some(token), None).await;
            assert_eq!(status, 401, "{what} token on {path}: {body}");
        }
        let ws = tokio_tungstenite::connect_async(format!("ws://{a}/ws?token={token}")).await;
        assert!(ws.is_err(), "{what} token opened /ws");
    }
    let (status, _) = call(a, "GET", "/api/balance", None, None).await;
    assert_eq!(status, 401);
    let (status, _) = call(a, "GET", "/api/balance", Some(&valid), None).await;
    assert_eq!(status, 200);
    // The description is public and names every route.
    let (status, openapi) = call(a, "GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(openapi["openapi"], "3.1.0");
    for path in [
        "/api/login",
        "/api/calls",
        "/api/cdrs",
        "/api/recordings/{call_uuid}",
        "/api/recordings/{call_uuid}/{index}",
        "/api/extensions",
        "/api/extensions/{extension}",
        "/api/balance",
        "/api/contact-center",
        "/api/agents/{agent}/status",
        "/api/agents",
        "/api/agents/{agent}",
        "/api/queues",
        "/api/queues/{queue}",
        "/api/queues/{queue}/agents/{agent}",
        "/api/menus",
        "/api/menus/{menu}",
        "/api/dids",
        "/api/dids/{number}",
        "/api/contact-center/statistics",
        "/api/session",
        "/api/ring-groups",
        "/api/ring-groups/{group}",
        "/api/schedules",
        "/api/schedules/{schedule}",
        "/api/prompts",
        "/api/prompts/{prompt}",
        "/api/logout",
        "/api/contact-center/statistics",
        "/api/session",
        "/api/ring-groups",
        "/api/ring-groups/{group}",
        "/api/schedules",
        "/api/schedules/{schedule}",
        "/api/prompts",
        "/api/prompts/{prompt}",
        "/api/logout",
        "/api/topups",
        "/api/operator/unassigned-cdrs",
    ] {
        assert!(openapi["paths"].get(path).is_some(), "{path} undescribed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_clients_see_their_tenant_only() {
    let p = platform().await;
    let a = p.address;
    let acme = login(a, "acme", "agent").await;
    let beta = login(a, "beta", "agent").await;
    let (mut acme_ws, _) = tokio_tungstenite::connect_async(format!("ws://{a}/ws?token={acme}"))
        .await
        .unwrap();
    let (mut beta_ws, _) = tokio_tungstenite::connect_async(format!("ws://{a}/ws?token={beta}"))
        .await
        .unwrap();
    let snapshot = next_text(&mut acme_ws).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["calls"].as_array().unwrap().len(), 2);
    let snapshot = next_text(&mut beta_ws).await;
    assert_eq!(snapshot["calls"], json!([]));
    for i in 0..5 {
        p.hub.publish(&started("acme", &format!("acme-{i}")));
    }
    p.hub.publish(&started("beta", "beta-0"));
    for i in 0..5 {
        let event = next_text(&mut acme_ws).await;
        assert_eq!(event["call"]["uuid"], format!("acme-{i}"));
    }
    let event = next_text(&mut beta_ws).await;
    assert_eq!(event["call"]["uuid"], "beta-0");
    assert_eq!(event["seq"], 1);
    // Nothing else for beta: acme's events never reach it.
    let more = tokio::time::timeout(Duration::from_millis(300), beta_ws.next()).await;
    assert!(more.is_err(), "beta received {more:?}");
    acme_ws.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extensions_and_calls_are_listed_a_page_at_a_time() {
    let p = platform().await;
    let a = p.address;
    let admin = login(a, "acme", "admin").await;
    for extension in ["2000", "2001", "2002"] {
        let path = format!("/api/extensions/{extension}");
        let body = json!({"password": "long-enough", "caller_id_name": null,
            "caller_id_number": null, "record_calls": false});
        assert_eq!(call(a, "PUT", &path, Some(&admin), Some(body)).await.0, 200);
    }
    let (_, first) = call(a, "GET", "/api/extensions?limit=2", Some(&admin), None).await;
    let names = |page: &Value| -> Vec<String> {
        page["extensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["extension"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&first), ["1000", "2000"]);
    let path = format!(
        "/api/extensions?limit=2&after={}",
        first["next"].as_str().unwrap()
    );
    let (_, second) = call(a, "GET", &path, Some(&admin), None).await;
    assert_eq!(names(&second), ["2001", "2002"]);
    let (status, _) = call(a, "GET", "/api/extensions?limit=0", Some(&admin), None).await;
    assert_eq!(status, 400);
    // The node's two legs, one per page.
    let (_, calls) = call(a, "GET", "/api/calls?limit=1", Some(&admin), None).await;
    assert_eq!(calls["calls"].as_array().unwrap().len(), 1);
    let path = format!(
        "/api/calls?limit=1&after={}",
        calls["next"].as_str().unwrap()
    );
    let (_, rest) = call(a, "GET", &path, Some(&admin), None).await;
    assert_eq!(rest["calls"].as_array().unwrap().len(), 1);
    assert_ne!(rest["calls"][0]["uuid"], calls["calls"][0]["uuid"]);
}

/// An agent sets its own status (the agent named as its extension), an admin any agent of the
/// tenant; the status is stored and set on the node with `callcenter_config`, quoted. Another
/// agent's, another tenant's, an unknown status or field are refused, and reach no node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_set_their_own_status_and_admins_any_of_their_tenants() {
    let p = platform().await;
    let store = platform::store::PlatformStore::open(p.ledger.pool().clone(), p.ledger.backend())
        .await
        .unwrap();
    for name in ["1000", "1001"] {
        store
            .put_agent(&platform::store::AgentRow {
                tenant: "acme".into(),
                name: name.into(),
                contact: format!("user/{name}@acme.example"),
                status: "Available".into(),
            })
            .await
            .unwrap();
    }
    let a = p.address;
    let agent = login(a, "acme", "agent").await;
    let status = |s: &str| Some(json!({ "status": s }));
    let put = |token: String, path: &'static str, body: Option<Value>| async move {
        call(a, "PUT", path, Some(&token), body).await
    };
    let (code, body) = put(agent.clone(), "/api/agents/1000/status", status("On Break")).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body,
        json!({"agent": "1000", "status": "On Break", "nodes": [{"node": "fs1", "applied": true}]})
    );
    let (code, _) = put(agent.clone(), "/api/agents/1001/status", status("On Break")).await;
    assert_eq!(code, 403, "another agent's status");
    let roamer = login(a, "acme", "roamer").await;
    let (code, _) = put(roamer, "/api/agents/1000/status", status("Available")).await;
    assert_eq!(code, 403, "an agent without an extension");
    let (code, _) = put(agent.clone(), "/api/agents/1000/status", status("Busy")).await;
    assert_eq!(code, 400);
    let hostile = Some(json!({"status": "Available", "agent": "1001@acme"}));
    let (code, _) = put(agent.clone(), "/api/agents/1000/status", hostile).await;
    assert_eq!(code, 400, "unknown fields are refused");
    let admin = login(a, "acme", "admin").await;
    let (code, _) = put(admin, "/api/agents/1001/status", status("Logged Out")).await;
    assert_eq!(code, 200);
    let beta_admin = login(a, "beta", "admin").await;
    let (code, _) = put(beta_admin, "/api/agents/1001/status", status("Available")).await;
    assert_eq!(code, 404, "acme's agent is not beta's");

    let sent: Vec<String> = p
        .node
        .log()
        .commands
        .into_iter()
        .filter(|c| c.contains("callcenter_config agent set"))
        .collect();
    assert_eq!(
        sent,
        [
            "api callcenter_config agent set status 1000@acme 'On Break'",
            "api callcenter_config agent set status 1001@acme 'Logged Out'",
        ]
    );
    let stored = store.agent("acme", "1000").await.unwrap().unwrap();
    assert_eq!(stored.status, "On Break");
}
