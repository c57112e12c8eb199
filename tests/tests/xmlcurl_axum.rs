//! The axum glue of `xmlcurl`: a real FreeSWITCH request through a router, answered with the
//! right content type; bad bodies refused with the right status.

use axum::body::{Body, to_bytes};
use axum::http::{Request as HttpRequest, StatusCode, header};
use axum::{Router, routing::post};
use tower::ServiceExt;
use xmlcurl::axum::{XmlCurl, XmlResponse};
use xmlcurl::{Directory, Domain, Group, NotFound, User};

async fn fetch(XmlCurl(request): XmlCurl) -> XmlResponse {
    let Some(directory) = request.directory() else {
        return NotFound.into();
    };
    match (directory.user(), directory.domain()) {
        (Some("2000"), Some(domain)) => Directory::new()
            .domain(
                Domain::new(domain)
                    .group(Group::new("default").user(User::new("2000").password("curlpass"))),
            )
            .into(),
        _ => NotFound.into(),
    }
}

fn fixture_body(name: &str) -> Vec<u8> {
    let raw = std::fs::read(tests::fixture(&format!("xml_curl/{name}"))).unwrap();
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    raw[at..].to_vec()
}

async fn post_body(body: Vec<u8>) -> (StatusCode, Option<String>, String) {
    let app = Router::new().route("/fsapi", post(fetch));
    let response = app
        .oneshot(
            HttpRequest::post("/fsapi")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn real_requests_are_answered_as_text_xml() {
    let (status, content_type, body) = post_body(fixture_body("001_fsapi_directory.http")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("text/xml"));
    assert!(body.contains(r#"<user id="2000">"#), "{body}");
    let (status, _, body) = post_body(fixture_body("002_fsapi_directory.http")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"status="not found""#));
    let (_, _, body) = post_body(fixture_body("005_fsapi_dialplan.http")).await;
    assert!(body.contains(r#"status="not found""#));
}

#[tokio::test]
async fn bodies_that_are_not_requests_are_refused() {
    let (status, _, body) = post_body(b"user=1000&domain=example.com".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("no section"), "{body}");
    let (status, _, _) = post_body(vec![b'a'; 2 * 1024 * 1024]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}
