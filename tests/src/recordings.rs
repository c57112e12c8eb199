//! Recordings for tests and benches: the S3 server the tests use, and WAVs of any length made
//! from the real FreeSWITCH recordings.

use recording::wav::WavLayout;

/// The S3 server of `.ci/garage` (Garage on 127.0.0.1:3900, bucket `recordings`), unless
/// `RECORDING_TEST_S3_{ENDPOINT,BUCKET,REGION,ACCESS_KEY_ID,SECRET_ACCESS_KEY}` say otherwise.
pub fn s3_config() -> recording::S3Config {
    let var = |name: &str, default: &str| {
        std::env::var(format!("RECORDING_TEST_S3_{name}")).unwrap_or_else(|_| default.into())
    };
    recording::S3Config {
        endpoint: Some(var("ENDPOINT", "http://127.0.0.1:3900")),
        bucket: var("BUCKET", "recordings"),
        region: var("REGION", "us-east-1"),
        access_key_id: var("ACCESS_KEY_ID", "GK0123456789abcdef01234567"),
        secret_access_key: var(
            "SECRET_ACCESS_KEY",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ),
        // Garage 2.5 validates the S3 checksum headers (tests/tests/recording_upload.rs).
        proof: recording::Proof::Checksum,
    }
}

/// [`s3_config`], failing (never skipping) when the server does not answer.
pub fn require_s3() -> recording::S3Config {
    let config = s3_config();
    if std::net::TcpStream::connect(s3_address(&config)).is_err() {
        panic!(
            "the S3 server must be running at {}: run .ci/garage",
            s3_address(&config)
        );
    }
    config
}

/// The S3 server's address as `host:port` (what a [`crate::relay::Relay`] to it takes).
pub fn s3_address(config: &recording::S3Config) -> String {
    config
        .endpoint
        .as_deref()
        .unwrap_or_default()
        .trim_start_matches("http://")
        .to_owned()
}

/// `config` reaching the server through `relay` (a relay to [`s3_address`]).
pub fn through(config: &recording::S3Config, relay: &crate::relay::Relay) -> recording::S3Config {
    recording::S3Config {
        endpoint: Some(format!("http://127.0.0.1:{}", relay.port)),
        ..config.clone()
    }
}

/// The samples of the real recording whose file name starts with `prefix` (`mono_`,
/// `stereo_`), and its layout.
pub fn fixture_samples(prefix: &str) -> (Vec<u8>, WavLayout) {
    let path = std::fs::read_dir(crate::fixture("recordings"))
        .expect("the recordings fixtures")
        .map(|e| e.expect("a directory entry").path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .unwrap_or_else(|| panic!("no recording named {prefix}*"));
    let bytes = std::fs::read(path).expect("a readable recording");
    let layout = WavLayout::parse(&bytes, bytes.len() as u64)
        .expect("a valid recording")
        .expect("a whole header");
    let start = layout.data_offset as usize;
    (
        bytes[start..start + layout.data_len as usize].to_vec(),
        layout,
    )
}

/// A WAV of `seconds` seconds: `samples` (16-bit, `channels` interleaved) looped, at `rate`.
pub fn looped_wav(samples: &[u8], rate: u32, channels: u16, seconds: u32) -> Vec<u8> {
    looped_wav_frames(
        samples,
        rate,
        channels,
        u64::from(rate) * u64::from(seconds),
    )
}

/// A WAV of `frames` frames (a frame: one 16-bit sample per channel): `samples` looped, at
/// `rate`; for lengths that are not whole seconds.
pub fn looped_wav_frames(samples: &[u8], rate: u32, channels: u16, frames: u64) -> Vec<u8> {
    let len = (frames * u64::from(channels) * 2) as usize;
    let header = WavLayout {
        sample_rate: rate,
        channels,
        data_offset: 44,
        data_len: len as u64,
        repaired: false,
    }
    .canonical_header();
    let mut wav = Vec::with_capacity(44 + len);
    wav.extend_from_slice(&header);
    // Whole copies of the samples, then the part of one that is left.
    if !samples.is_empty() {
        while wav.len() + samples.len() <= 44 + len {
            wav.extend_from_slice(samples);
        }
        wav.extend_from_slice(&samples[..44 + len - wav.len()]);
    }
    wav.resize(44 + len, 0);
    wav
}
