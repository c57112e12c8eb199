//! Uploading a finished MP3 to an object store (a local directory, S3, MinIO, Garage) and
//! proving it arrived: the object's size, and its content by a checksum the store validated on
//! write, by an ETag equal to the content's MD5, or by reading it back.
//!
//! An ETag is never taken as a proof against the content: with SSE-KMS or SSE-C encryption S3
//! answers an ETag of 32 hex digits that is not the MD5 of the content, and other stores
//! answer what they like. Only an ETag *equal* to the MD5 computed here proves the content (a
//! coincidence is out of reach); any other ETag proves nothing, and the object is read back.

use crate::Tags;
use bytes::Bytes;
use md5::{Digest as _, Md5};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::Sha256;
use std::path::Path;
use std::sync::Arc;
use tokio::io::AsyncReadExt;

/// Why an upload failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// Reading the local file failed.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The store refused or failed (down, credentials, missing bucket, ...).
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// The object is there but is not what was sent.
    #[error("verification of {key} failed: {reason}")]
    Mismatch {
        /// The object's key.
        key: String,
        /// What differed.
        reason: String,
    },
    /// The key template produced an unusable key.
    #[error("object key: {0}")]
    Key(String),
}

/// Where objects go: `{tenant}/{yyyy}/{mm}/{dd}/{uuid}.mp3` by default. Placeholders: `{tenant}`,
/// `{uuid}`, `{yyyy}`, `{mm}`, `{dd}`, `{hh}` (UTC, from the call's start, else the upload's
/// time). Each placeholder's value is one path segment: a `/` in a value cannot climb or nest.
///
/// ```
/// use recording::{KeyLayout, Tags};
///
/// let tags = Tags {
///     call_uuid: "0e11178b".into(),
///     tenant: "acme".into(),
///     start_epoch: Some(1_700_000_000),
///     ..Tags::default()
/// };
/// assert_eq!(KeyLayout::default().key(&tags).unwrap().as_ref(), "acme/2023/11/14/0e11178b.mp3");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLayout {
    template: String,
}

impl Default for KeyLayout {
    fn default() -> Self {
        KeyLayout {
            template: "{tenant}/{yyyy}/{mm}/{dd}/{uuid}.mp3".into(),
        }
    }
}

impl KeyLayout {
    /// A layout from a template; it must name `{uuid}` so that calls never share a key.
    pub fn new(template: &str) -> Result<Self, UploadError> {
        if !template.contains("{uuid}") {
            return Err(UploadError::Key(format!(
                "the key template {template:?} must contain {{uuid}}"
            )));
        }
        Ok(KeyLayout {
            template: template.to_owned(),
        })
    }

    /// The key for a recording.
    pub fn key(&self, tags: &Tags) -> Result<ObjectPath, UploadError> {
        let when = tags
            .start_epoch
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .unwrap_or_else(chrono::Utc::now);
        let segment = |value: &str| -> String {
            let cleaned: String = value
                .chars()
                .map(|c| if c == '/' || c.is_control() { '_' } else { c })
                .collect();
            match cleaned.as_str() {
                "" => "_".into(),
                "." | ".." => cleaned.replace('.', "_"),
                _ => cleaned,
            }
        };
        let key = self
            .template
            .replace("{tenant}", &segment(&tags.tenant))
            .replace("{uuid}", &segment(&tags.call_uuid))
            .replace("{yyyy}", &when.format("%Y").to_string())
            .replace("{mm}", &when.format("%m").to_string())
            .replace("{dd}", &when.format("%d").to_string())
            .replace("{hh}", &when.format("%H").to_string());
        ObjectPath::parse(&key).map_err(|e| UploadError::Key(e.to_string()))
    }
}

/// A store and how to upload to it.
#[derive(Debug, Clone)]
pub struct Destination {
    store: Arc<dyn ObjectStore>,
    /// How uploads here are proven.
    proof: Proof,
    #[cfg(feature = "s3")]
    signer: Option<Arc<dyn object_store::signer::Signer>>,
    /// Files at least this large go up in parts. Default 16 MiB.
    pub multipart_threshold: u64,
    /// Size of each part (S3 wants at least 5 MiB but for the last). Default 8 MiB.
    pub part_size: usize,
}

/// Where recordings are stored, as a configuration names it.
///
/// ```
/// let scratch = std::env::temp_dir().join(format!("target-doc-{}", std::process::id()));
/// let target = recording::Target::Directory(scratch.clone());
/// let _destination = target.destination()?; // creates the directory
/// assert!(scratch.is_dir());
/// # std::fs::remove_dir_all(scratch).ok();
/// # Ok::<(), recording::UploadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// A local directory.
    Directory(std::path::PathBuf),
    /// An S3-compatible bucket.
    #[cfg(feature = "s3")]
    S3(S3Config),
}

impl Target {
    /// The destination to upload to.
    pub fn destination(&self) -> Result<Destination, UploadError> {
        match self {
            Target::Directory(dir) => Destination::local(dir),
            #[cfg(feature = "s3")]
            Target::S3(config) => Destination::s3(config),
        }
    }
}

/// A verified object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// Where it is.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// How it was verified.
    pub verified_by: Verification,
}

/// How an upload was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Size, and the store accepted the write with the content's SHA-256
    /// (`x-amz-checksum-sha256`), which it checks before it keeps the object
    /// ([`Proof::Checksum`]).
    Checksum,
    /// Size, and an ETag equal to the MD5 computed here (of the whole object, or of the parts'
    /// MD5s for a multipart upload).
    ETag,
    /// Size, and the object read back (streamed) and hashed.
    ReadBack,
}

/// How uploads to a store are proven, as its configuration says.
///
/// ```
/// let proof: recording::Proof = serde_json::from_str("\"checksum\"").unwrap();
/// assert_eq!(proof, recording::Proof::Checksum);
/// assert_eq!(recording::Proof::default(), recording::Proof::ReadBack);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    /// Every write carries the content's SHA-256 (`x-amz-checksum-sha256`, each part's on a
    /// multipart upload) and the store refuses a write whose content does not match it: the
    /// write's success and the object's size prove the upload. For stores that validate the
    /// S3 checksum headers: AWS S3, and Garage 2.5 (measured: `InvalidDigest` on a mismatch).
    Checksum,
    /// The object's size, then its content read back and hashed (streamed), unless its ETag
    /// is the content's MD5. Holds on every store; costs a download where the ETag is not an
    /// MD5 (SSE-KMS, SSE-C, most non-AWS stores).
    #[default]
    ReadBack,
}

impl Destination {
    /// Uploads into `store`.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Destination {
            store,
            proof: Proof::ReadBack,
            #[cfg(feature = "s3")]
            signer: None,
            multipart_threshold: 16 << 20,
            part_size: 8 << 20,
        }
    }

    /// A local directory (created if missing).
    pub fn local(dir: &Path) -> Result<Self, UploadError> {
        std::fs::create_dir_all(dir).map_err(|source| UploadError::Read {
            path: dir.display().to_string(),
            source,
        })?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)?;
        Ok(Self::new(Arc::new(store)))
    }

    /// An S3-compatible bucket. `endpoint` is for MinIO or Garage (path-style requests, plain
    /// HTTP allowed); `None` means AWS.
    #[cfg(feature = "s3")]
    pub fn s3(config: &S3Config) -> Result<Self, UploadError> {
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_retry(object_store::RetryConfig {
                max_retries: 3,
                retry_timeout: std::time::Duration::from_secs(30),
                ..Default::default()
            });
        if config.proof == Proof::Checksum {
            builder = builder.with_checksum_algorithm(object_store::aws::Checksum::SHA256);
        }
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(true)
                .with_virtual_hosted_style_request(false);
        }
        let s3 = Arc::new(builder.build()?);
        Ok(Destination {
            signer: Some(s3.clone()),
            proof: config.proof,
            ..Self::new(s3)
        })
    }

    /// A pre-signed URL anyone may GET the object at `key` with, for `expires_in`; `None` for
    /// stores that do not sign (a local directory: read it through [`Destination::store`]).
    pub async fn signed_download(
        &self,
        key: &str,
        expires_in: std::time::Duration,
    ) -> Option<Result<String, UploadError>> {
        #[cfg(feature = "s3")]
        {
            let signer = self.signer.as_ref()?;
            let path = match ObjectPath::parse(key) {
                Ok(path) => path,
                Err(e) => return Some(Err(UploadError::Key(e.to_string()))),
            };
            let method = object_store::signer::Method::GET;
            Some(
                signer
                    .signed_url(method, &path, expires_in)
                    .await
                    .map(|url| url.to_string())
                    .map_err(UploadError::from),
            )
        }
        #[cfg(not(feature = "s3"))]
        {
            let _ = (key, expires_in);
            None
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// How uploads here are proven.
    pub fn proof(&self) -> Proof {
        self.proof
    }

    /// Uploads `file` to `key` and verifies it; one attempt (see [`crate::Pipeline`] for
    /// retries). Uploading the same file to the same key again is harmless.
    pub async fn upload(&self, file: &Path, key: &ObjectPath) -> Result<Uploaded, UploadError> {
        let read_error = |source| UploadError::Read {
            path: file.display().to_string(),
            source,
        };
        let mut input = tokio::fs::File::open(file).await.map_err(read_error)?;
        let size = input.metadata().await.map_err(read_error)?.len();
        // The local digests are computed while the file streams out: one read of the file.
        let mut whole_md5 = Md5::new();
        let mut whole_sha = Sha256::new();
        let mut part_md5s = Vec::new();
        if size < self.multipart_threshold {
            let mut bytes = Vec::with_capacity(size as usize);
            input.read_to_end(&mut bytes).await.map_err(read_error)?;
            whole_md5.update(&bytes);
            whole_sha.update(&bytes);
            self.store
                .put(key, PutPayload::from(Bytes::from(bytes)))
                .await?;
        } else {
            let upload = self.store.put_multipart(key).await?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
            let mut part = vec![0u8; self.part_size];
            loop {
                let n = read_full(&mut input, &mut part).await.map_err(read_error)?;
                if n == 0 {
                    break;
                }
                whole_sha.update(&part[..n]);
                part_md5s.push(Md5::digest(&part[..n]));
                writer.wait_for_capacity(2).await?;
                writer.write(&part[..n]);
            }
            writer.finish().await?;
        }
        let meta = self.store.head(key).await?;
        let mismatch = |reason: String| UploadError::Mismatch {
            key: key.to_string(),
            reason,
        };
        if meta.size != size {
            return Err(mismatch(format!("{} bytes stored, {size} sent", meta.size)));
        }
        let expected_etag = if part_md5s.is_empty() {
            hex(&whole_md5.finalize())
        } else {
            let mut of_parts = Md5::new();
            for digest in &part_md5s {
                of_parts.update(digest);
            }
            format!("{}-{}", hex(&of_parts.finalize()), part_md5s.len())
        };
        let etag = meta
            .e_tag
            .as_deref()
            .map(|e| e.trim_matches('"').to_ascii_lowercase());
        let verified_by = if self.proof == Proof::Checksum {
            Verification::Checksum
        } else if etag.as_deref() == Some(expected_etag.as_str()) {
            Verification::ETag
        } else {
            let (read, digest) = self.read_back(key).await?;
            if read != size {
                return Err(mismatch(format!("{read} bytes read back, {size} sent")));
            }
            if digest != whole_sha.finalize().as_slice() {
                return Err(mismatch("content read back differs".into()));
            }
            Verification::ReadBack
        };
        Ok(Uploaded {
            key: key.to_string(),
            size,
            verified_by,
        })
    }
}

impl Destination {
    /// Reads the object at `key` back a chunk at a time (memory bounded by the store's chunk,
    /// whatever the object's size); returns its length and SHA-256.
    async fn read_back(&self, key: &ObjectPath) -> Result<(u64, Vec<u8>), UploadError> {
        use futures_util::StreamExt as _;
        let mut stream = self.store.get(key).await?.into_stream();
        let mut digest = Sha256::new();
        let mut read = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            read += chunk.len() as u64;
            digest.update(&chunk);
        }
        Ok((read, digest.finalize().to_vec()))
    }
}

/// An S3 bucket's address and credentials. Its `Debug` hides the secret.
#[cfg(feature = "s3")]
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
pub struct S3Config {
    /// `http://127.0.0.1:3900` for a local MinIO or Garage; `None` for AWS.
    pub endpoint: Option<String>,
    /// The bucket.
    pub bucket: String,
    /// The region the server expects (MinIO and Garage: usually `us-east-1`).
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key (may be left out of a configuration file and given separately).
    #[serde(default)]
    pub secret_access_key: String,
    /// How uploads are proven: `read_back` (default, holds on every store) or `checksum`
    /// (the store validates `x-amz-checksum-sha256`: AWS S3, Garage 2.5).
    #[serde(default)]
    pub proof: Proof,
}

#[cfg(feature = "s3")]
impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<hidden>")
            .field("proof", &self.proof)
            .finish()
    }
}

/// Reads until `buffer` is full or the file ends.
async fn read_full(input: &mut tokio::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let n = input.read(&mut buffer[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_cannot_escape_their_segment() {
        let tags = Tags {
            call_uuid: "../../etc/passwd".into(),
            tenant: "..".into(),
            start_epoch: Some(0),
            ..Tags::default()
        };
        let key = KeyLayout::default().key(&tags).unwrap();
        assert_eq!(key.as_ref(), "__/1970/01/01/.._.._etc_passwd.mp3");
        assert!(KeyLayout::new("{tenant}/x.mp3").is_err());
    }
}
