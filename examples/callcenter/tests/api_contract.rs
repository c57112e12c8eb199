//! One API contract on every route: JSON errors with a code and the request id (extractor
//! rejections, unknown routes and methods included), PUT replaces and PATCH changes, unknown
//! fields refused, amounts in the currency's decimals, conflicting idempotency keys 409,
//! ISO 8601 times, and the referential rules said in the answer.

mod common;

use common::*;
use serde_json::{Value, json};
use tests::http::{request, send};

/// Every error the contract promises: a message, a code, the request id (also the header).
fn assert_error(status: u16, body: &Value, expected: u16, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(
        body["request_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_methods_and_parameters_that_do_not_exist_are_json_errors() {
    let p = platform().await;
    let a = p.address;
    let admin = login(a, "acme", "admin").await;
    let (status, body) = call(a, "GET", "/api/nothing-here", Some(&admin), None).await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = call(a, "DELETE", "/api/cdrs", Some(&admin), None).await;
    assert_error(status, &body, 405, "method_not_allowed");
    let (status, body) = call(a, "GET", "/api/cdrs?limit=many", Some(&admin), None).await;
    assert_error(status, &body, 400, "invalid_request");
    let (status, body) = call(a, "GET", "/api/cdrs?colour=blue", Some(&admin), None).await;
    assert_error(status, &body, 400, "invalid_request");
    let (status, body) = call(a, "GET", "/api/recordings/x/first", Some(&admin), None).await;
    assert_error(status, &body, 400, "invalid_request");
    let (status, body) = call(a, "GET", "/api/cdrs", Some("not-a-token"), None).await;
    assert_error(status, &body, 401, "unauthorized");
    assert!(
        !body["error"].as_str().unwrap().contains("InvalidToken"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_id_is_the_callers_when_sane_and_in_the_header() {
    let p = platform().await;
    let ask = |id: &'static str| request("GET", "/api/nothing-here", &[("X-Request-Id", id)], b"");
    let response = send(p.address, &ask("support-ticket-42")).await.unwrap();
    let body: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(body["request_id"], "support-ticket-42");
    assert_eq!(response.header("x-request-id"), Some("support-ticket-42"));
    // An id that could forge log lines is replaced by one of ours.
    let response = send(p.address, &ask("x\" level=ERROR msg=\"forged"))
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(&response.body).unwrap();
    let id = body["request_id"].as_str().unwrap();
    assert_eq!(id.len(), 16, "{body}");
    assert_eq!(response.header("x-request-id"), Some(id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_replaces_patch_changes_and_unknown_fields_are_refused() {
    let p = platform().await;
    let a = p.address;
    let admin = login(a, "acme", "admin").await;
    let path = "/api/extensions/2000";
    let whole = json!({"password": "long-enough", "caller_id_name": "Desk",
        "caller_id_number": null, "record_calls": true});
    assert_eq!(call(a, "PUT", path, Some(&admin), Some(whole)).await.0, 200);
    // A PUT that forgets a field is refused, not read as "false".
    let (status, body) = call(
        a,
        "PUT",
        path,
        Some(&admin),
        Some(json!({"caller_id_name": "Desk"})),
    )
    .await;
    assert_error(status, &body, 400, "invalid_request");
    // A typo is refused, not ignored.
    let typo = json!({"caller_id_name": "Desk", "caller_id_number": null, "record_call": false, "record_calls": true});
    let (status, body) = call(a, "PUT", path, Some(&admin), Some(typo)).await;
    assert_error(status, &body, 400, "invalid_request");
    assert!(
        body["error"].as_str().unwrap().contains("record_call"),
        "{body}"
    );
    // PATCH changes what it names only.
    let (status, body) = call(
        a,
        "PATCH",
        path,
        Some(&admin),
        Some(json!({"caller_id_name": "Front desk"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, now) = call(a, "GET", path, Some(&admin), None).await;
    assert_eq!(now["caller_id_name"], "Front desk");
    assert_eq!(now["record_calls"], true, "kept");
    assert_eq!(now["has_password"], true, "kept");
    let (status, body) = call(
        a,
        "PATCH",
        path,
        Some(&admin),
        Some(json!({"caller_id_name": null})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["caller_id_name"], Value::Null);
    let (status, body) = call(
        a,
        "PATCH",
        "/api/extensions/2999",
        Some(&admin),
        Some(json!({"record_calls": true})),
    )
    .await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = call(
        a,
        "PATCH",
        path,
        Some(&admin),
        Some(json!({"recordcalls": true})),
    )
    .await;
    assert_error(status, &body, 400, "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amounts_are_the_currencys_and_a_reference_is_one_amount() {
    let p = platform().await;
    let a = p.address;
    let ops = operator_login(a).await;
    let top_up = |amount: &str, reference: &str| json!({"tenant": "acme", "amount": amount, "reference": reference});
    for bad in ["0.001", "1e3", "-5", " 5", "1,000", "NaN", ""] {
        let (status, body) = call(
            a,
            "POST",
            "/api/topups",
            Some(&ops),
            Some(top_up(bad, "r-bad")),
        )
        .await;
        assert_error(status, &body, 400, "invalid_request");
    }
    let (status, body) = call(
        a,
        "POST",
        "/api/topups",
        Some(&ops),
        Some(top_up("10.50", "pay-1")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["balance"], "10.50");
    // The same payment again adds nothing; the same reference for another amount is a
    // conflict to look at.
    let (status, body) = call(
        a,
        "POST",
        "/api/topups",
        Some(&ops),
        Some(top_up("10.50", "pay-1")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["balance"], "10.50");
    let (status, body) = call(
        a,
        "POST",
        "/api/topups",
        Some(&ops),
        Some(top_up("99.00", "pay-1")),
    )
    .await;
    assert_error(status, &body, 409, "conflict");
    assert!(body["error"].as_str().unwrap().contains("10.5"), "{body}");
    let (_, balance) = call(
        a,
        "GET",
        "/api/balance",
        Some(&login(a, "acme", "admin").await),
        None,
    )
    .await;
    assert_eq!(balance["balance"], "10.50");
    let (status, body) = call(
        a,
        "POST",
        "/api/topups",
        Some(&ops),
        Some(json!({"tenant": "nobody", "amount": "1", "reference": "x"})),
    )
    .await;
    assert_error(status, &body, 404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdr_times_are_unix_seconds_or_iso_8601() {
    let p = platform().await;
    let a = p.address;
    let agent = login(a, "acme", "agent").await;
    record_three_acme_calls_and_one_beta_call(&p).await;
    let (_, all) = call(a, "GET", "/api/cdrs", Some(&agent), None).await;
    let count = all["cdrs"].as_array().unwrap().len();
    assert!(count > 0);
    for (from, to) in [
        ("0", "4102444800"),
        ("1970-01-01T00:00:00Z", "2100-01-01T00:00:00%2B01:00"),
    ] {
        let (status, page) = call(
            a,
            "GET",
            &format!("/api/cdrs?from={from}&to={to}"),
            Some(&agent),
            None,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["cdrs"].as_array().unwrap().len(), count, "{from} {to}");
    }
    let (status, page) = call(
        a,
        "GET",
        "/api/cdrs?from=2100-01-01T00:00:00Z",
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["cdrs"], json!([]));
    let (status, body) = call(a, "GET", "/api/cdrs?from=yesterday", Some(&agent), None).await;
    assert_error(status, &body, 400, "invalid_request");
    assert!(
        body["error"].as_str().unwrap().contains("ISO 8601"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_what_something_still_uses_is_a_conflict_that_names_it() {
    let p = platform().await;
    let a = p.address;
    let admin = login(a, "acme", "admin").await;
    // The agent user is bound to extension 1000.
    let (status, body) = call(a, "DELETE", "/api/extensions/1000", Some(&admin), None).await;
    assert_error(status, &body, 409, "conflict");
    assert_eq!(body["error"], "user agent still uses it; change that first");
    let (_, still) = call(a, "GET", "/api/extensions/1000", Some(&admin), None).await;
    assert_eq!(still["extension"], "1000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cdrs_are_searched_by_caller_destination_and_outcome_and_exported_as_csv() {
    let p = platform().await;
    let a = p.address;
    let agent = login(a, "acme", "agent").await;
    record_three_acme_calls_and_one_beta_call(&p).await;
    let uuids = |page: &Value| -> Vec<String> {
        page["cdrs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["uuid"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, page) = call(
        a,
        "GET",
        "/api/cdrs?destination=4420&outcome=charged",
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(uuids(&page), ["acme-call-0", "acme-call-1", "acme-call-2"]);
    assert_eq!(page["cdrs"][0]["destination"], "442079460000");
    // `_` and `%` are themselves, not wildcards.
    let (_, none) = call(a, "GET", "/api/cdrs?destination=44_0", Some(&agent), None).await;
    assert_eq!(none["cdrs"], json!([]));
    let (_, none) = call(a, "GET", "/api/cdrs?destination=33", Some(&agent), None).await;
    assert_eq!(none["cdrs"], json!([]));
    let (_, none) = call(
        a,
        "GET",
        "/api/cdrs?outcome=part_of_call",
        Some(&agent),
        None,
    )
    .await;
    assert_eq!(none["cdrs"], json!([]));
    for bad in ["outcome=paid", "destination=%25", "caller="] {
        let (status, body) = call(a, "GET", &format!("/api/cdrs?{bad}"), Some(&agent), None).await;
        assert_error(status, &body, 400, "invalid_request");
    }

    let auth = format!("Bearer {agent}");
    let export = send(
        a,
        &request(
            "GET",
            "/api/cdrs/export?destination=44",
            &[("Authorization", &auth)],
            b"",
        ),
    )
    .await
    .unwrap();
    assert_eq!(export.status, 200);
    assert_eq!(
        export.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    let text = String::from_utf8(export.body).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "id,uuid,leg,start,billsec,caller,destination,hangup_cause,outcome,amount"
    );
    assert_eq!(lines.len(), 4, "acme's three calls only: {text}");
    assert!(lines[1].contains(",acme-call-0,"), "{text}");
    assert!(
        lines[1].contains(",2026-11-21T11:36:40.000000Z,"),
        "an ISO 8601 start: {text}"
    );
    assert!(lines[1].ends_with(",442079460000,,charged,0.60"), "{text}");
    assert!(!text.contains("beta-call"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_admin_manages_its_users_and_not_itself_away() {
    let p = platform().await;
    let a = p.address;
    let admin = login(a, "acme", "admin").await;
    let agent = login(a, "acme", "agent").await;
    let (status, listed) = call(a, "GET", "/api/users", Some(&admin), None).await;
    assert_eq!(status, 200, "{listed}");
    let names: Vec<&str> = listed["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "agent", "roamer"]);
    assert!(
        !listed.to_string().contains("argon2"),
        "no hashes: {listed}"
    );
    // Agents manage nobody; another tenant's users are not listed.
    let (status, _) = call(a, "GET", "/api/users", Some(&agent), None).await;
    assert_eq!(status, 403);
    let user = json!({"role": "agent", "extension": "1000", "password": "new-agent-pw"});
    let (status, body) = call(a, "PUT", "/api/users/desk", Some(&admin), Some(user)).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = call(
        a,
        "POST",
        "/api/login",
        None,
        Some(json!({"tenant": "acme", "username": "desk", "password": "new-agent-pw"})),
    )
    .await;
    assert_eq!(status, 200);
    // Another tenant's extension, a missing field, a weak password: refused.
    for bad in [
        json!({"role": "agent", "extension": "9999", "password": "new-agent-pw"}),
        json!({"role": "agent", "password": "new-agent-pw"}),
        json!({"role": "agent", "extension": null, "password": "short"}),
        json!({"role": "operator", "extension": null, "password": "new-agent-pw"}),
    ] {
        let (status, body) =
            call(a, "PUT", "/api/users/desk", Some(&admin), Some(bad.clone())).await;
        assert_error(status, &body, 400, "invalid_request");
    }
    // The admin cannot lock the tenant out by removing or demoting themselves.
    let (status, body) = call(a, "DELETE", "/api/users/admin", Some(&admin), None).await;
    assert_error(status, &body, 409, "conflict");
    let demoted = json!({"role": "agent", "extension": null, "password": "acme-admin-pw"});
    let (status, body) = call(a, "PUT", "/api/users/admin", Some(&admin), Some(demoted)).await;
    assert_error(status, &body, 409, "conflict");
    let (status, _) = call(a, "DELETE", "/api/users/desk", Some(&admin), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(a, "DELETE", "/api/users/desk", Some(&admin), None).await;
    assert_eq!(status, 404);
}
