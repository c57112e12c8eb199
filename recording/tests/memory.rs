//! Memory does not grow with the recording: a 30-minute stereo WAV transcodes within a small,
//! fixed budget. Alone in its own test binary, so the process's peak RSS is this test's.

mod common;

use recording::{EncodeOptions, transcode_file};
use std::io::Write;

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn peak_memory_does_not_grow_with_the_recording() {
    let dir = common::scratch("memory");
    let input = dir.join("long.wav");
    let (rate, channels, seconds) = (8000u32, 2u16, 30 * 60u32);
    let frames = rate * seconds;
    {
        // Written a second at a time, so the test itself stays small too.
        let mut file = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        file.write_all(&common::header(1, channels, rate, 16, frames * 4))
            .unwrap();
        let second = &common::wav(rate, channels, rate)[44..];
        for _ in 0..seconds {
            file.write_all(second).unwrap();
        }
    }
    let before = peak_rss_kib();
    let done = transcode_file(&input, &dir.join("long.mp3"), &EncodeOptions::default()).unwrap();
    let growth_mib = (peak_rss_kib() - before) / 1024;
    assert_eq!(done.input.frames(), u64::from(frames));
    assert!(
        growth_mib < 16,
        "peak RSS grew by {growth_mib} MiB for a {} MiB WAV",
        std::fs::metadata(&input).unwrap().len() >> 20
    );
}
