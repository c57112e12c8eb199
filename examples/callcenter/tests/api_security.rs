//! The API attacked (the login flood is `login_flood.rs`, alone in its process so that its
//! memory is its own): a 64 MiB WebSocket message, sockets per token, tokens of
//! users whose credentials changed, an agent without an extension calling, caller-ID spoofing,
//! a stale SIP credential, extensions shadowing emergency numbers. Each scenario is an exploit
//! that worked before the limits and rules it checks.

mod common;

use callcenter::api::{ApiUser, REVOCATION_DELAY, Role, Users};
use common::*;
use futures_util::{SinkExt, StreamExt};
use platform::store::PlatformStore;
use serde_json::json;
use std::time::Duration;
use tests::http::{request, send};
use tokio_tungstenite::tungstenite::Message;

async fn store(p: &Platform) -> PlatformStore {
    PlatformStore::open(p.ledger.pool().clone(), p.ledger.backend())
        .await
        .unwrap()
}

/// The status of `PUT /api/extensions/2000` announcing a body of `length` bytes, of which
/// none is sent.
async fn status_of_a_large_put(a: std::net::SocketAddr, token: &str, length: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(a).await.unwrap();
    let head = format!(
        "PUT /api/extensions/2000 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0; 512];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("an answer without the body")
        .unwrap();
    String::from_utf8_lossy(&answer[..read])[9..12]
        .parse()
        .unwrap()
}

/// A login from a loopback address of our choosing (127.0.0.0/8 is all ours).
async fn login_from(a: std::net::SocketAddr, from: [u8; 4], user: &str, password: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind((std::net::Ipv4Addr::from(from), 0).into())
        .unwrap();
    let mut stream = socket.connect(a).await.unwrap();
    let body = json!({"tenant": "acme", "username": user, "password": password}).to_string();
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer)[9..12].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_from_one_address_lock_that_address_out_not_the_user() {
    let p = platform().await;
    let a = p.address;
    let attacker = [127, 0, 0, 2];
    for _ in 0..5 {
        assert_eq!(login_from(a, attacker, "admin", "guess").await, 401);
    }
    // The attacker is refused even with the right password...
    assert_eq!(login_from(a, attacker, "admin", "acme-admin-pw").await, 429);
    // ...and the admin, elsewhere, logs in.
    assert_eq!(
        login_from(a, [127, 0, 0, 3], "admin", "acme-admin-pw").await,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_websocket_message_closes_the_socket_without_being_read() {
    let p = platform().await;
    let a = p.address;
    let token = login(a, "acme", "agent").await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{a}/ws?token={token}"))
        .await
        .unwrap();
    assert_eq!(next_text(&mut ws).await["type"], "snapshot");
    // The send may fail part-way: the server stops reading at the frame's header.
    let _ = ws.send(Message::Binary(vec![b'x'; 64 << 20].into())).await;
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the socket stayed open");
    // The server is unharmed.
    let (status, _) = call(a, "GET", "/api/calls", Some(&token), None).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_opens_a_few_sockets_at_most_whatever_their_tokens() {
    let p = platform().await;
    let a = p.address;
    let first_token = login(a, "acme", "agent").await;
    // A second login, a second after, gives a second token: the count is the user's.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second_token = login(a, "acme", "agent").await;
    assert_ne!(first_token, second_token);
    let url = format!("ws://{a}/ws?token={first_token}");
    let second = format!("ws://{a}/ws?token={second_token}");
    let mut open = Vec::new();
    for n in 0..8 {
        let url = if n % 2 == 0 { &url } else { &second };
        open.push(tokio_tungstenite::connect_async(url).await.unwrap().0);
    }
    let ninth = tokio_tungstenite::connect_async(&second).await;
    assert!(ninth.is_err(), "a ninth socket opened");
    // A socket closed frees its place.
    let mut first = open.remove(0);
    first.close(None).await.unwrap();
    drop(first);
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok((socket, _)) = tokio_tungstenite::connect_async(&url).await {
            reopened = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reopened.is_some(), "the freed place was never given back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_credentials_revoke_tokens_and_close_their_sockets() {
    let p = platform().await;
    let a = p.address;
    let agent = login(a, "acme", "agent").await;
    let admin = login(a, "acme", "admin").await;
    let roamer = login(a, "acme", "roamer").await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{a}/ws?token={agent}"))
        .await
        .unwrap();
    assert_eq!(next_text(&mut ws).await["type"], "snapshot");
    // Through another process's users (the CLI's): seen within the revocation delay.
    let users = Users::new(p.ledger.pool().clone());
    let acme = |username: &str, role, extension: Option<&str>| ApiUser {
        tenant: "acme".into(),
        username: username.into(),
        role,
        extension: extension.map(Into::into),
    };
    users
        .put(&acme("agent", Role::Agent, Some("1000")), "a-new-password")
        .await
        .unwrap();
    users
        .put(&acme("admin", Role::Agent, None), "acme-admin-pw")
        .await
        .unwrap();
    assert!(users.delete("acme", "roamer").await.unwrap());
    tokio::time::sleep(REVOCATION_DELAY + Duration::from_millis(500)).await;
    for (who, token) in [
        ("password changed", &agent),
        ("demoted", &admin),
        ("removed", &roamer),
    ] {
        let (status, body) = call(a, "GET", "/api/balance", Some(token), None).await;
        assert_eq!(status, 401, "{who}: {body}");
        assert_eq!(body["error"], "token revoked");
    }
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
                None | Some(Err(_)) | Some(Ok(Message::Close(None))) => return 0,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .expect("the socket of a revoked token stays open");
    assert_eq!(closed, 4003);
    // The new password works.
    let body = json!({"tenant": "acme", "username": "agent", "password": "a-new-password"});
    assert_eq!(call(a, "POST", "/api/login", None, Some(body)).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_is_read_in_any_case() {
    let p = platform().await;
    let token = login(p.address, "acme", "agent").await;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let auth = format!("{scheme} {token}");
        let response = send(
            p.address,
            &request(
                "GET",
                "/api/balance",
                &[("Authorization", auth.as_str())],
                b"",
            ),
        )
        .await
        .unwrap();
        assert_eq!(response.status, 200, "{scheme}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_without_an_extension_cannot_click_to_call() {
    let p = platform().await;
    let roamer = login(p.address, "acme", "roamer").await;
    for body in [
        json!({"to": "442079460000"}),
        json!({"to": "442079460000", "from": "1000"}),
    ] {
        let (status, answer) =
            call(p.address, "POST", "/api/calls", Some(&roamer), Some(body)).await;
        assert_eq!(status, 403, "{answer}");
    }
    assert_eq!(originates(&p), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn click_to_call_refuses_every_dial_string_injection() {
    let p = platform().await;
    let admin = login(p.address, "acme", "admin").await;
    for hostile in [
        "0800,loopback/9995/default",
        "0901|sofia/gateway/x/1",
        "{x=y}0901",
        "[x=y]0901",
        "${system(id)}",
        "&system(id)",
        "0901\\",
    ] {
        for body in [
            json!({"to": hostile, "from": "1000"}),
            json!({"to": "0800", "from": hostile}),
        ] {
            let (status, answer) =
                call(p.address, "POST", "/api/calls", Some(&admin), Some(body)).await;
            assert_eq!(status, 400, "{hostile}: {answer}");
        }
    }
    assert_eq!(originates(&p), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_presents_only_numbers_its_tenant_owns() {
    let p = platform().await;
    let a = p.address;
    let admin = login(a, "acme", "admin").await;
    let store = store(&p).await;
    store.put_did("+442079460000", "acme").await.unwrap();
    store.put_did("+33123456789", "beta").await.unwrap();
    assert!(
        store.put_did("123456", "acme").await.is_err(),
        "a DID is longer than any extension"
    );
    assert!(
        store.put_did("+33123456789", "acme").await.is_err(),
        "a DID is one tenant's"
    );
    let put = |body: serde_json::Value| {
        let admin = admin.clone();
        async move { call(a, "PUT", "/api/extensions/2000", Some(&admin), Some(body)).await }
    };
    for (number, expected) in [
        ("+33123456789", 400), // beta's DID
        ("112", 400),          // an emergency number
        ("+15550100", 400),    // nobody's
        ("1000,loopback/1", 400),
        ("+442079460000", 200), // acme's DID
        ("1000", 200),          // acme's extension
        ("2000", 200),          // its own name
    ] {
        let (status, body) =
            put(json!({"password": "long-enough", "caller_id_name": null, "caller_id_number": number, "record_calls": false})).await;
        assert_eq!(status, expected, "{number}: {body}");
    }
    for name in [
        "Bob\r\nX-Evil: 1",
        "${system(id)}",
        "\"quoted\"",
        &"x".repeat(65),
    ] {
        let (status, body) = put(json!({"password": "long-enough", "caller_id_name": name, "caller_id_number": null, "record_calls": false})).await;
        assert_eq!(status, 400, "{name:?}: {body}");
    }
    // An extension named like another tenant's DID would present it: numbers longer than six
    // digits are DIDs, the operator's to give.
    let (status, body) = call(
        a,
        "PUT",
        "/api/extensions/33123456789",
        Some(&admin),
        Some(json!({"password": "long-enough", "caller_id_name": null, "caller_id_number": null, "record_calls": false})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // A 2 MB caller ID name is not even read: the 413 comes from the announced length, before
    // any of the body is sent.
    assert_eq!(status_of_a_large_put(a, &admin, 2 << 20).await, 413);
    let stored = store.extension("acme", "2000").await.unwrap().unwrap();
    assert_eq!(stored.caller_id_number.as_deref(), Some("2000"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_replaces_the_stored_hash_and_no_password_is_kept() {
    let p = platform().await;
    let a = p.address;
    let admin = login(a, "acme", "admin").await;
    let store = store(&p).await;
    for password in ["first-password", "second-password"] {
        let (status, body) = call(
            a,
            "PUT",
            "/api/extensions/2000",
            Some(&admin),
            Some(json!({"password": password, "caller_id_name": null, "caller_id_number": null, "record_calls": false})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let stored = store.extension("acme", "2000").await.unwrap().unwrap();
    assert_eq!(stored.password, None, "a SIP password is kept in plain");
    assert_eq!(
        stored.a1_hash.as_deref(),
        Some(platform::identity::a1_hash("2000", "acme.example", "second-password").as_str()),
        "the old credential still works"
    );
    // Without a password, the stored hash stays.
    let (status, _) = call(
        a,
        "PUT",
        "/api/extensions/2000",
        Some(&admin),
        Some(json!({"caller_id_name": null, "caller_id_number": null, "record_calls": true})),
    )
    .await;
    assert_eq!(status, 200);
    let kept = store.extension("acme", "2000").await.unwrap().unwrap();
    assert_eq!(kept.a1_hash, stored.a1_hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extensions_cannot_shadow_emergency_numbers() {
    let p = platform().await;
    let admin = login(p.address, "acme", "admin").await;
    for number in ["112", "911", "999", "000", "1000x"] {
        let path = format!("/api/extensions/{number}");
        let (status, body) = call(
            p.address,
            "PUT",
            &path,
            Some(&admin),
            Some(json!({"password": "long-enough", "caller_id_name": null, "caller_id_number": null, "record_calls": false})),
        )
        .await;
        // The list is configurable (`reserved_extensions`); other names are fine.
        let expected = if number == "1000x" { 200 } else { 400 };
        assert_eq!(status, expected, "{number}: {body}");
    }
}
