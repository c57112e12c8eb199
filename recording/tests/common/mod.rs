//! WAVs made for tests, and reading MP3s back.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A fresh directory under the target's temporary directory.
pub fn scratch(label: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{label}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The shared recordings captured from FreeSWITCH.
pub fn fixture_recordings() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/freeswitch/recordings");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    files.sort();
    files
}

/// A 16-bit PCM WAV of `frames` frames: a tone per channel, sizes as a finished writer leaves
/// them.
pub fn wav(sample_rate: u32, channels: u16, frames: u32) -> Vec<u8> {
    let data_len = frames * u32::from(channels) * 2;
    let mut file = header(1, channels, sample_rate, 16, data_len);
    file.reserve(data_len as usize);
    for i in 0..frames {
        for channel in 0..channels {
            let hz = 440.0 * f64::from(channel + 1);
            let t = f64::from(i) / f64::from(sample_rate);
            let sample = (f64::sin(2.0 * std::f64::consts::PI * hz * t) * 8000.0) as i16;
            file.extend_from_slice(&sample.to_le_bytes());
        }
    }
    file
}

/// A canonical 44-byte WAV header with the given fields.
pub fn header(format_tag: u16, channels: u16, rate: u32, bits: u16, data_len: u32) -> Vec<u8> {
    let align = channels * bits / 8;
    let mut file = Vec::with_capacity(44);
    file.extend_from_slice(b"RIFF");
    file.extend_from_slice(&(36 + data_len).to_le_bytes());
    file.extend_from_slice(b"WAVEfmt ");
    file.extend_from_slice(&16u32.to_le_bytes());
    file.extend_from_slice(&format_tag.to_le_bytes());
    file.extend_from_slice(&channels.to_le_bytes());
    file.extend_from_slice(&rate.to_le_bytes());
    file.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
    file.extend_from_slice(&align.to_le_bytes());
    file.extend_from_slice(&bits.to_le_bytes());
    file.extend_from_slice(b"data");
    file.extend_from_slice(&data_len.to_le_bytes());
    file
}

/// What an MP3 decodes to: frames per channel, sample rate, channels, and its ID3 text tags.
pub struct Decoded {
    pub frames: u64,
    pub sample_rate: u32,
    pub channels: usize,
    pub tags: Vec<String>,
}

impl Decoded {
    pub fn seconds(&self) -> f64 {
        self.frames as f64 / f64::from(self.sample_rate)
    }
}

/// Decodes an MP3 whole with symphonia (gapless: the LAME tag's delay and padding trimmed).
pub fn decode_mp3(path: &Path) -> Decoded {
    use symphonia::core::codecs::audio::AudioDecoderOptions;
    use symphonia::core::formats::probe::Hint;
    use symphonia::core::formats::{FormatOptions, TrackType};
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;

    let file = std::fs::File::open(path).unwrap();
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("mp3");
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            stream,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .unwrap();
    let mut tags = Vec::new();
    if let Some(revision) = format.metadata().current() {
        for tag in revision.media.tags.iter() {
            tags.push(format!("{}", tag.raw.value));
        }
    }
    let track = format.default_track(TrackType::Audio).unwrap();
    let params = track
        .codec_params
        .as_ref()
        .unwrap()
        .audio()
        .unwrap()
        .clone();
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .unwrap();
    let (mut frames, mut sample_rate, mut channels) = (0u64, 0u32, 0usize);
    while let Some(packet) = format.next_packet().unwrap() {
        let audio = decoder.decode(&packet).unwrap();
        frames += audio.frames() as u64;
        sample_rate = audio.spec().rate();
        channels = audio.spec().channels().count();
    }
    Decoded {
        frames,
        sample_rate,
        channels,
        tags,
    }
}
