//! Transcode speed, in audio seconds per wall second, of our streaming transcoder and of the
//! `lame` CLI (3.100, the LAME version `recording/mp3lame-sys` builds), side by side in one run,
//! on the same 60-second WAVs with the same settings: CBR 32 kbit/s, mono or joint stereo, at
//! LAME quality 7 (our default, LAME's "fast") and 5 (the `lame` CLI's default).
//! Both read a WAV file and write an MP3 file; `lame` also pays for starting its process and
//! runs with its other defaults (ReplayGain analysis on).
//!
//! The WAVs are the real FreeSWITCH recordings looped to 60 s (8 kHz mono, 8 kHz stereo), and
//! the mono one with every sample doubled for 16 kHz. Needs `lame` on the PATH
//! (`apt-get install lame`).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use recording::{EncodeOptions, Rate, transcode_file};
use std::path::{Path, PathBuf};
use std::process::Command;
use tests::recordings::{fixture_samples, looped_wav};

const SECONDS: u32 = 60;

/// `samples` looped to `SECONDS` seconds, written to `<dir>/<name>.wav`.
fn looped(dir: &Path, name: &str, samples: &[u8], rate: u32, channels: u16) -> PathBuf {
    let path = dir.join(format!("{name}.wav"));
    std::fs::write(&path, looped_wav(samples, rate, channels, SECONDS)).unwrap();
    path
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("recording-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mono, _) = fixture_samples("mono_");
    let (stereo, _) = fixture_samples("stereo_");
    let doubled: Vec<u8> = mono.chunks(2).flat_map(|s| [s, s].concat()).collect();
    let inputs = [
        ("8k_mono", looped(&dir, "8k_mono", &mono, 8000, 1), "m"),
        (
            "8k_stereo",
            looped(&dir, "8k_stereo", &stereo, 8000, 2),
            "j",
        ),
        (
            "16k_mono",
            looped(&dir, "16k_mono", &doubled, 16_000, 1),
            "m",
        ),
    ];
    let output = dir.join("out.mp3");
    let mut group = c.benchmark_group("recording_transcode");
    group.throughput(Throughput::Elements(u64::from(SECONDS)));
    group.sample_size(30);
    for quality in [7u8, 5] {
        let options = EncodeOptions {
            rate: Rate::Cbr(32),
            quality,
            ..EncodeOptions::default()
        };
        let q = quality.to_string();
        for (name, wav, mode) in &inputs {
            group.bench_function(format!("ours/q{quality}/{name}"), |b| {
                b.iter(|| transcode_file(wav, &output, &options).unwrap())
            });
            group.bench_function(format!("lame_cli/q{quality}/{name}"), |b| {
                b.iter(|| {
                    let status = Command::new("lame")
                        .args(["--quiet", "--cbr", "-b", "32", "-q", &q, "-m", mode])
                        .arg(wav)
                        .arg(&output)
                        .status()
                        .expect("the lame CLI (apt-get install lame)");
                    assert!(status.success());
                })
            });
        }
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
