//! Uploads against a real S3 server (Garage on 127.0.0.1, started by `.ci/garage`) and a local
//! directory: single and multipart, verification, and the errors of a store that refuses.

// The recording crate's own WAV and MP3 helpers, shared rather than copied.
#[path = "../../recording/tests/common/mod.rs"]
mod common;

use object_store::ObjectStoreExt;
use recording::{Destination, KeyLayout, Tags, UploadError, Verification};

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

#[tokio::test]
async fn single_and_multipart_uploads_to_s3_are_verified_by_etag() {
    let config = tests::recordings::require_s3();
    let dir = common::scratch("s3");
    let mut destination = Destination::s3(&config).unwrap();
    destination.multipart_threshold = 6 << 20;
    destination.part_size = 5 << 20;
    for (name, len) in [("small", 300_000usize), ("large", (13 << 20) + 12345)] {
        let file = dir.join(format!("{name}.mp3"));
        let content = noise(len, len as u64);
        std::fs::write(&file, &content).unwrap();
        let key = KeyLayout::default().key(&tags(&unique(name))).unwrap();
        let uploaded = destination.upload(&file, &key).await.unwrap();
        assert_eq!(uploaded.size, len as u64);
        assert_eq!(uploaded.verified_by, Verification::ETag, "{name}");
        assert!(uploaded.key.starts_with("acme/2023/11/14/"));
        let stored = destination
            .store()
            .get(&key)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(stored == content, "{name}: stored bytes differ");
        // Uploading again (a retried job) leaves one object with the same content.
        destination.upload(&file, &key).await.unwrap();
        assert_eq!(
            destination.store().head(&key).await.unwrap().size,
            len as u64
        );
    }
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
