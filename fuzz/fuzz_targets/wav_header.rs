//! The WAV header reader on arbitrary bytes, as if they were a whole file or the start of a
//! longer one: it must never panic, never claim samples beyond the file, only whole frames, and
//! its canonical header must read back to the same layout.

#![no_main]

use libfuzzer_sys::fuzz_target;
use recording::wav::WavLayout;

fuzz_target!(|input: (u16, &[u8])| {
    let (extra, bytes) = input;
    for file_len in [bytes.len() as u64, bytes.len() as u64 + u64::from(extra)] {
        let Ok(Some(layout)) = WavLayout::parse(bytes, file_len) else {
            continue;
        };
        assert!(layout.data_offset + layout.data_len <= file_len);
        assert_eq!(layout.data_len % (u64::from(layout.channels) * 2), 0);
        let header = layout.canonical_header();
        let again = WavLayout::parse(&header, 44 + layout.data_len)
            .expect("a canonical header parses")
            .expect("a canonical header is complete");
        assert_eq!(
            (
                again.sample_rate,
                again.channels,
                again.data_len,
                again.repaired
            ),
            (layout.sample_rate, layout.channels, layout.data_len, false)
        );
    }
});
