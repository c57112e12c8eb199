//! Helpers shared by the capture tests.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use bytes::BytesMut;
use esl::proto::{Frame, FrameDecoder};

/// A capture from `fixtures/freeswitch/esl/`.
pub fn capture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../fixtures/freeswitch/esl/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// Every frame of a stream fed in chunks of the given sizes (cycled); panics on an error or on
/// bytes left over.
pub fn decode_in_chunks(stream: &[u8], mut next_chunk: impl FnMut() -> usize) -> Vec<Frame> {
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut fed = 0;
    while fed < stream.len() {
        let take = next_chunk().clamp(1, stream.len() - fed);
        buf.extend_from_slice(&stream[fed..fed + take]);
        fed += take;
        while let Some(frame) = decoder.decode(&mut buf).expect("capture frames cleanly") {
            frames.push(frame);
        }
    }
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    assert_eq!(decoder.consumed(), stream.len() as u64);
    frames
}

/// Every frame of a stream fed at once.
pub fn decode_whole(stream: &[u8]) -> Vec<Frame> {
    decode_in_chunks(stream, || usize::MAX)
}

/// A small deterministic generator (SplitMix64) for chunk sizes.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A size from 1 to `max` inclusive.
    pub fn size(&mut self, max: usize) -> usize {
        1 + (self.next_u64() % max as u64) as usize
    }
}
