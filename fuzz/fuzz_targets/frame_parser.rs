//! The frame decoder on arbitrary streams, fed in arbitrary chunk sizes: it must never panic,
//! never grow past its limits, and frame the same bytes however they are split.

#![no_main]

use bytes::BytesMut;
use esl::proto::{Frame, FrameDecoder, Limits};
use libfuzzer_sys::fuzz_target;

const LIMITS_FRAME: usize = 64 * 1024;

fn decode(stream: &[u8], chunk: usize) -> (Vec<Frame>, Option<u64>) {
    let mut decoder = FrameDecoder::with_limits(
        Limits::default()
            .max_frame_size(LIMITS_FRAME)
            .max_headers(256),
    );
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for piece in stream.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    assert!(frame.as_bytes().len() <= LIMITS_FRAME);
                    assert!(frame.header_count() <= 256);
                    frames.push(frame);
                }
                Ok(None) => break,
                Err(err) => return (frames, Some(err.offset())),
            }
        }
        // Without a complete header block, no more than the limit is ever buffered.
        assert!(buf.len() <= LIMITS_FRAME + chunk);
    }
    (frames, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let (whole, whole_err) = decode(stream, stream.len());
    let (pieces, pieces_err) = decode(stream, usize::from(split) + 1);
    assert_eq!(whole.len(), pieces.len());
    assert_eq!(whole_err, pieces_err);
    for (a, b) in whole.iter().zip(&pieces) {
        assert_eq!(a.as_bytes(), b.as_bytes());
        let _ = a.headers().count();
        let _ = a.disconnect();
        let _ = a.channel_data().headers().count();
        if let Ok(event) = a.event() {
            let _ = event.headers().count();
        }
    }
});
