//! IVR prompts: audio a tenant admin uploads (`PUT /api/prompts/{name}`, a PCM WAV) into the
//! recording store, under `prompts/<tenant>/<name>.wav`, and names in its menus and queues as
//! `prompt:NAME`. FreeSWITCH is given, for each, what it can play: a pre-signed URL of the
//! object behind `http_cache://` (mod_http_cache fetches and keeps it) when the store is S3, or
//! the file itself when the store is a local directory on FreeSWITCH's host.

use recording::Destination;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a prompt's pre-signed URL lives (a menu is read again on every call).
pub const URL_TTL: Duration = Duration::from_secs(24 * 3600);

/// Largest prompt, in bytes (about 4 minutes of 8 kHz 16-bit mono).
pub const PROMPT_MAX: usize = 4 << 20;

/// Most prompts a tenant has.
pub const PROMPTS_PER_TENANT: usize = 100;

/// Most signed URLs remembered (past it they are all signed anew).
const SIGNED_MAX: usize = 10_000;

/// The object key of `tenant`'s prompt `name` (both names, checked by the caller).
///
/// ```
/// assert_eq!(callcenter::prompts::key("acme", "welcome"), "prompts/acme/welcome.wav");
/// ```
pub fn key(tenant: &str, name: &str) -> String {
    format!("prompts/{tenant}/{name}.wav")
}

/// Where prompts are and how FreeSWITCH reaches them.
#[derive(Debug, Clone)]
pub struct Prompts {
    /// The recording store.
    pub destination: Destination,
    /// The store's directory when it is local (FreeSWITCH reads the file there).
    pub local_dir: Option<PathBuf>,
    /// Each prompt's URL, signed once for half its life: mod_http_cache keeps a prompt by its
    /// URL, and a URL signed anew for every call would be fetched anew for every call.
    signed: Arc<Mutex<HashMap<String, (String, Instant)>>>,
}

impl Prompts {
    /// Prompts in `destination` (`local_dir`: its directory, when it is local).
    pub fn new(destination: Destination, local_dir: Option<PathBuf>) -> Self {
        Prompts {
            destination,
            local_dir,
            signed: Arc::default(),
        }
    }

    /// The URL of `key`, signed at most once per half of [`URL_TTL`].
    async fn signed_url(&self, key: &str) -> Option<Result<String, recording::UploadError>> {
        let fresh = |at: &Instant| at.elapsed() < URL_TTL / 2;
        if let Some((url, at)) = self
            .signed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            && fresh(at)
        {
            return Some(Ok(url.clone()));
        }
        let signed = self.destination.signed_download(key, URL_TTL).await?;
        if let Ok(url) = &signed {
            let mut known = self.signed.lock().unwrap_or_else(|p| p.into_inner());
            if known.len() >= SIGNED_MAX {
                known.clear();
            }
            known.insert(key.to_owned(), (url.clone(), Instant::now()));
        }
        Some(signed)
    }

    /// What FreeSWITCH plays for `sound`: a `prompt:NAME` of `tenant` as its URL or file, any
    /// other sound as it is; `None` when the URL cannot be signed. The object is not looked
    /// up (a menu is read on every call): one never uploaded answers FreeSWITCH's fetch with
    /// 404, and it plays nothing.
    pub async fn playable(&self, tenant: &str, sound: &str) -> Option<String> {
        let Some(name) = sound.strip_prefix("prompt:") else {
            return Some(sound.to_owned());
        };
        let key = key(tenant, name);
        match self.signed_url(&key).await {
            Some(Ok(url)) => Some(format!("http_cache://{url}")),
            Some(Err(error)) => {
                tracing::warn!(%tenant, prompt = %name, %error, "cannot sign a prompt's URL");
                None
            }
            None => self
                .local_dir
                .as_ref()
                .map(|dir| dir.join(&key).display().to_string()),
        }
    }
}
