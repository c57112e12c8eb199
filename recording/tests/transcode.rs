//! WAV → MP3 on the real FreeSWITCH recordings and on generated WAVs: every supported layout,
//! damaged sizes, truncation, and the inputs we refuse.

mod common;

use common::{decode_mp3, fixture_recordings, header, scratch, wav};
use recording::wav::WavError;
use recording::{Channels, EncodeOptions, Rate, Tags, TranscodeError, transcode_file};
use std::path::Path;

/// One MPEG frame of samples at this rate: the tolerance when LAME writes its tag.
fn frame(rate: u32) -> f64 {
    let samples = if rate >= 32_000 { 1152.0 } else { 576.0 };
    samples / f64::from(rate)
}

fn transcode_bytes(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    options: &EncodeOptions,
) -> Result<recording::Transcoded, TranscodeError> {
    let input = dir.join(format!("{name}.wav"));
    std::fs::write(&input, bytes).unwrap();
    transcode_file(&input, &dir.join(format!("{name}.mp3")), options)
}

#[test]
fn real_recordings_decode_back_to_their_duration_with_tags() {
    let dir = scratch("real");
    for (i, input) in fixture_recordings().iter().enumerate() {
        let output = dir.join(format!("{i}.mp3"));
        let tags = Tags {
            call_uuid: input.file_stem().unwrap().to_string_lossy().into_owned(),
            tenant: "acme".into(),
            caller: "1000".into(),
            callee: "442079460000".into(),
            start_epoch: Some(1_700_000_000),
        };
        let options = EncodeOptions {
            tags: Some(tags.clone()),
            ..EncodeOptions::default()
        };
        let done = transcode_file(input, &output, &options).unwrap();
        assert_eq!(done.input.sample_rate, 8000);
        assert_eq!(done.input.frames(), 18080, "{input:?}");
        assert_eq!(done.bytes, std::fs::metadata(&output).unwrap().len());
        assert_eq!(done.bitrate_kbps, 32);
        assert_eq!(done.sha256.len(), 64);
        let decoded = decode_mp3(&output);
        assert_eq!(decoded.sample_rate, 8000);
        assert_eq!(decoded.channels, usize::from(done.input.channels));
        let error = (decoded.seconds() - done.duration.as_secs_f64()).abs();
        assert!(error <= frame(8000), "{input:?}: off by {error} s");
        for wanted in [&tags.call_uuid, "acme", "1000", "2023"] {
            assert!(
                decoded.tags.iter().any(|t| t.contains(wanted)),
                "{wanted} missing from {:?}",
                decoded.tags
            );
        }
        assert!(
            decoded
                .tags
                .iter()
                .any(|t| t.contains("callee=442079460000"))
        );
    }
}

#[test]
fn every_rate_and_channel_count_keeps_its_duration() {
    let dir = scratch("rates");
    for rate in recording::wav::SAMPLE_RATES {
        for channels in [1u16, 2] {
            let frames = rate * 3 / 2; // about 1.5 s
            let name = format!("{rate}-{channels}");
            let options = EncodeOptions {
                rate: Rate::Cbr(if rate >= 32_000 { 64 } else { 32 }),
                ..EncodeOptions::default()
            };
            let done = transcode_bytes(&dir, &name, &wav(rate, channels, frames), &options)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let decoded = decode_mp3(&dir.join(format!("{name}.mp3")));
            assert_eq!(decoded.sample_rate, rate, "{name}");
            assert_eq!(decoded.channels, usize::from(channels), "{name}");
            let seconds = f64::from(frames) / f64::from(rate);
            let error = (decoded.seconds() - seconds).abs();
            // Without room for its tag (16 kHz at 32 kbit/s, say) LAME's padding stays in.
            assert!(error <= frame(rate).max(0.1), "{name}: off by {error} s");
            assert!((done.duration.as_secs_f64() - seconds).abs() < 1e-9);
        }
    }
}

#[test]
fn vbr_and_mono_downmix() {
    let dir = scratch("vbr");
    let stereo = wav(16_000, 2, 32_000);
    let options = EncodeOptions {
        rate: Rate::Vbr(4),
        channels: Channels::Mono,
        ..EncodeOptions::default()
    };
    let done = transcode_bytes(&dir, "vbr", &stereo, &options).unwrap();
    let decoded = decode_mp3(&dir.join("vbr.mp3"));
    assert_eq!(decoded.channels, 1);
    assert!((decoded.seconds() - 2.0).abs() <= 0.1);
    assert!(done.bitrate_kbps > 0 && done.bitrate_kbps < 128);
}

#[test]
fn sizes_left_by_a_dead_writer_are_repaired() {
    let dir = scratch("dead");
    let mut file = wav(8000, 1, 16_000); // 2 s
    // Both sizes 0, as a writer killed before closing leaves them.
    file[4..8].copy_from_slice(&0u32.to_le_bytes());
    file[40..44].copy_from_slice(&0u32.to_le_bytes());
    let done = transcode_bytes(&dir, "zero", &file, &EncodeOptions::default()).unwrap();
    assert!(done.input.repaired);
    assert_eq!(done.input.frames(), 16_000);
    // Stale sizes claiming far more than the file holds.
    file[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    let done = transcode_bytes(&dir, "stale", &file, &EncodeOptions::default()).unwrap();
    assert_eq!(done.input.frames(), 16_000);
    let decoded = decode_mp3(&dir.join("stale.mp3"));
    assert!((decoded.seconds() - 2.0).abs() <= frame(8000));
}

#[test]
fn a_truncated_data_chunk_yields_what_is_there() {
    let dir = scratch("truncated");
    let file = wav(8000, 2, 16_000);
    // Cut one second and one byte in: the half frame is dropped.
    let cut = &file[..44 + 8000 * 4 + 1];
    let done = transcode_bytes(&dir, "cut", cut, &EncodeOptions::default()).unwrap();
    assert_eq!(done.input.frames(), 8000);
    assert!(done.input.repaired);
    let decoded = decode_mp3(&dir.join("cut.mp3"));
    assert!((decoded.seconds() - 1.0).abs() <= frame(8000));
    // A header and no samples at all is an empty recording, not an error.
    let done = transcode_bytes(&dir, "empty", &file[..44], &EncodeOptions::default()).unwrap();
    assert_eq!(done.input.frames(), 0);
}

#[test]
fn unsupported_and_corrupt_inputs_are_typed_errors() {
    let dir = scratch("refused");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "mulaw",
            [header(7, 1, 8000, 8, 800), vec![0xff; 800]].concat(),
        ),
        (
            "alaw",
            [header(6, 1, 8000, 8, 800), vec![0xd5; 800]].concat(),
        ),
        (
            "float",
            [header(3, 1, 8000, 32, 800), vec![0; 800]].concat(),
        ),
        (
            "24bit",
            [header(1, 1, 8000, 24, 900), vec![0; 900]].concat(),
        ),
    ];
    for (name, bytes) in cases {
        let error = transcode_bytes(&dir, name, &bytes, &EncodeOptions::default()).unwrap_err();
        assert!(
            matches!(
                error,
                TranscodeError::Wav(WavError::UnsupportedEncoding { .. })
            ),
            "{name}: {error}"
        );
        assert!(error.is_permanent());
    }
    let mut garbage = wav(8000, 1, 100);
    garbage[0..4].copy_from_slice(b"OggS");
    let error = transcode_bytes(&dir, "garbage", &garbage, &EncodeOptions::default()).unwrap_err();
    assert!(matches!(error, TranscodeError::Wav(WavError::NotWav)));
    let mut corrupt = wav(8000, 1, 100);
    corrupt[16..20].copy_from_slice(&100_000u32.to_le_bytes()); // fmt runs past the end
    let error = transcode_bytes(&dir, "corrupt", &corrupt, &EncodeOptions::default()).unwrap_err();
    assert!(
        matches!(error, TranscodeError::Wav(WavError::Corrupt(_))),
        "{error}"
    );
    let error = transcode_bytes(
        &dir,
        "short",
        &wav(8000, 1, 100)[..30],
        &EncodeOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(error, TranscodeError::Wav(_)), "{error}");
    let bad_rate = EncodeOptions {
        rate: Rate::Cbr(33),
        ..EncodeOptions::default()
    };
    let error = transcode_bytes(&dir, "rate", &wav(8000, 1, 100), &bad_rate).unwrap_err();
    assert!(matches!(error, TranscodeError::Encoder(_)), "{error}");
    let missing = transcode_file(
        &dir.join("missing.wav"),
        &dir.join("missing.mp3"),
        &EncodeOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(missing, TranscodeError::Io(_)) && !missing.is_permanent());
}
