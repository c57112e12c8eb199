//! Uploads against a real S3 server (Garage on 127.0.0.1, started by `.ci/garage`) and a local
//! directory: single and multipart, each way of verifying (the store's checksum, an ETag equal
//! to the MD5, reading back), an ETag that is not an MD5 (as S3 answers with SSE-KMS), and the
//! errors of a store that refuses.

// The recording crate's own WAV and MP3 helpers, shared rather than copied.
#[path = "../../recording/tests/common/mod.rs"]
mod common;

use object_store::ObjectStoreExt;
use recording::{Destination, KeyLayout, Proof, S3Config, Tags, UploadError, Verification};
use tests::recordings::s3_address;

fn tags(uuid: &str) -> Tags {
    Tags {
        call_uuid: uuid.into(),
        tenant: "acme".into(),
        start_epoch: Some(1_700_000_000),
        ..Tags::default()
    }
}

fn unique(label: &str) -> String {
    format!(
        "{label}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// Pseudo-random bytes, so that no layer can compress or dedupe them away.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Uploads a small and a multipart-sized file to `config`'s store and checks each is proven
/// by `expected`, stored whole, and that uploading it again leaves one object.
async fn upload_both_sizes(config: &S3Config, label: &str, expected: Verification) {
    let dir = common::scratch(label);
    let mut destination = Destination::s3(config).unwrap();
    destination.multipart_threshold = 6 << 20;
    destination.part_size = 5 << 20;
    for (name, len) in [("small", 300_000usize), ("large", (13 << 20) + 12345)] {
        let file = dir.join(format!("{name}.mp3"));
        let content = noise(len, len as u64);
        std::fs::write(&file, &content).unwrap();
        let key = KeyLayout::default().key(&tags(&unique(name))).unwrap();
        let uploaded = destination.upload(&file, &key).await.unwrap();
        assert_eq!(uploaded.size, len as u64);
        assert_eq!(uploaded.verified_by, expected, "{label} {name}");
        assert!(uploaded.key.starts_with("acme/2023/11/14/"));
        let stored = destination
            .store()
            .get(&key)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(stored == content, "{label} {name}: stored bytes differ");
        // Uploading again (a retried job) leaves one object with the same content.
        destination.upload(&file, &key).await.unwrap();
        assert_eq!(
            destination.store().head(&key).await.unwrap().size,
            len as u64
        );
    }
}

#[tokio::test]
async fn uploads_to_s3_are_verified_by_the_store_s_checksum() {
    let config = tests::recordings::require_s3();
    assert_eq!(config.proof, Proof::Checksum);
    upload_both_sizes(&config, "checksum", Verification::Checksum).await;
}

#[tokio::test]
async fn read_back_uploads_whose_etag_is_the_md5_need_no_download() {
    let config = S3Config {
        proof: Proof::ReadBack,
        ..tests::recordings::require_s3()
    };
    upload_both_sizes(&config, "etag", Verification::ETag).await;
}

#[tokio::test]
async fn an_etag_that_is_not_the_md5_is_never_a_mismatch() {
    let config = tests::recordings::require_s3();
    // S3 with SSE-KMS or SSE-C: 32 hex digits that are not the content's MD5.
    let relay = tests::relay::Relay::rewriting_etags(&s3_address(&config)).await;
    let through_relay = tests::recordings::through(&config, &relay);
    // Read back where the ETag proves nothing; the store's checksum needs no ETag at all.
    upload_both_sizes(
        &S3Config {
            proof: Proof::ReadBack,
            ..through_relay.clone()
        },
        "etag-rewritten",
        Verification::ReadBack,
    )
    .await;
    upload_both_sizes(
        &through_relay,
        "etag-rewritten-checksum",
        Verification::Checksum,
    )
    .await;
}

#[tokio::test]
async fn garage_refuses_a_write_whose_checksum_is_not_its_content_s() {
    use object_store::signer::{SignedUrlOptions, Signer};
    let config = tests::recordings::require_s3();
    let s3 = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(&config.bucket)
        .with_region(&config.region)
        .with_access_key_id(&config.access_key_id)
        .with_secret_access_key(&config.secret_access_key)
        .with_endpoint(config.endpoint.clone().unwrap())
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .build()
        .unwrap();
    let key = object_store::path::Path::from(unique("checksum-probe").as_str());
    // base64(SHA-256("hello world")), sent with other content.
    let checksum = "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=";
    let options = SignedUrlOptions::default().with_signed_header(
        http::HeaderName::from_static("x-amz-checksum-sha256"),
        http::HeaderValue::from_static(checksum),
    );
    let url = s3
        .signed_url_opts(
            http::Method::PUT,
            &key,
            std::time::Duration::from_secs(60),
            &options,
        )
        .await
        .unwrap();
    let target = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let address: std::net::SocketAddr = s3_address(&config).parse().unwrap();
    let host = s3_address(&config);
    for (body, refused) in [(&b"hello world"[..], false), (&b"tampered"[..], true)] {
        // The Host the URL was signed for (tests::http::request names another).
        let mut request = format!(
            "PUT {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\
             x-amz-checksum-sha256: {checksum}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        let answer = tests::http::send(address, &request).await.unwrap();
        let text = String::from_utf8_lossy(&answer.body);
        if refused {
            assert_eq!(answer.status, 400, "{text}");
            assert!(text.contains("InvalidDigest"), "{text}");
        } else {
            assert_eq!(answer.status, 200, "{text}");
        }
    }
    s3.delete(&key).await.unwrap();
}

#[tokio::test]
async fn local_directory_uploads_are_verified_by_reading_back() {
    let dir = common::scratch("local");
    let destination = Destination::local(&dir.join("store")).unwrap();
    let file = dir.join("a.mp3");
    std::fs::write(&file, noise(100_000, 7)).unwrap();
    let key = KeyLayout::default().key(&tags("call-1")).unwrap();
    let uploaded = destination.upload(&file, &key).await.unwrap();
    assert_eq!(uploaded.verified_by, Verification::ReadBack);
    let stored = std::fs::read(dir.join("store/acme/2023/11/14/call-1.mp3")).unwrap();
    assert_eq!(stored, std::fs::read(&file).unwrap());
}

#[tokio::test]
async fn a_refusing_store_is_an_error() {
    let config = tests::recordings::require_s3();
    let dir = common::scratch("refused");
    let file = dir.join("a.mp3");
    std::fs::write(&file, b"not much").unwrap();
    let key = KeyLayout::default().key(&tags("refused")).unwrap();

    let mut wrong_secret = config.clone();
    wrong_secret.secret_access_key = "f".repeat(64);
    let error = Destination::s3(&wrong_secret)
        .unwrap()
        .upload(&file, &key)
        .await
        .unwrap_err();
    assert!(matches!(error, UploadError::Store(_)), "{error}");

    let mut no_bucket = config.clone();
    no_bucket.bucket = "no-such-bucket".into();
    let error = Destination::s3(&no_bucket)
        .unwrap()
        .upload(&file, &key)
        .await
        .unwrap_err();
    assert!(matches!(error, UploadError::Store(_)), "{error}");

    let error = Destination::s3(&config)
        .unwrap()
        .upload(&dir.join("missing.mp3"), &key)
        .await
        .unwrap_err();
    assert!(matches!(error, UploadError::Read { .. }), "{error}");
}
