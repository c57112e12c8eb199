//! The sans-IO session on arbitrary interleavings of what the client sends (commands, bgapi
//! jobs, executions, cancellations) and what FreeSWITCH answers (any byte stream): it must
//! never panic, route only to requests that were sent, resolve each reply once, and hold
//! nothing after a disconnect.
//!
//! Input: `[ops_len, ops..., wire...]`. Each op byte: `% 6` picks the action, `/ 6 % 4` the
//! Job-UUID or Application-UUID (a few, so that the wire's ids can match them).

#![no_main]

use bytes::BytesMut;
use esl::proto::{FrameDecoder, Limits, RequestId, Routed, Session};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

const IDS: [&str; 4] = [
    "7f4de4bc-17d7-11dd-b7a0-db4edd065621",
    "ae1f0c1c-0b5a-4b0f-9a38-3d0a3b5f3e11",
    "a0",
    "j1",
];

fuzz_target!(|data: &[u8]| {
    let Some((&ops_len, rest)) = data.split_first() else {
        return;
    };
    let (ops, wire) = rest.split_at(usize::from(ops_len).min(rest.len()));
    let limits = Limits::default().max_frame_size(64 * 1024).max_headers(256);
    let mut decoder = FrameDecoder::with_limits(limits);
    let mut session = Session::new(limits);
    session.connected();
    let mut buf = BytesMut::from(wire);
    let mut sent: HashSet<u64> = HashSet::new();
    let mut replied: HashSet<u64> = HashSet::new();
    let mut next = 0u64;
    let mut new_id = |sent: &mut HashSet<u64>| {
        next += 1;
        sent.insert(next);
        RequestId::new(next)
    };
    for &op in ops {
        let id = IDS[usize::from(op / 6 % 4)];
        match op % 6 {
            0 => session.sent_command(new_id(&mut sent)),
            1 => session.sent_bgapi(new_id(&mut sent), id),
            2 => session.sent_execute(new_id(&mut sent), id),
            3 => session.cancel(RequestId::new(u64::from(op))),
            _ => {
                let frame = match decoder.decode(&mut buf) {
                    Ok(Some(frame)) => frame,
                    Ok(None) | Err(_) => break,
                };
                match session.handle_frame(frame) {
                    Routed::Reply { request, .. }
                    | Routed::JobAccepted { request }
                    | Routed::JobRefused { request, .. } => {
                        assert!(
                            sent.contains(&request.get()),
                            "a reply for a request never sent"
                        );
                        assert!(replied.insert(request.get()), "two replies for one request");
                    }
                    Routed::JobResult { request, .. }
                    | Routed::ExecutionComplete { request, .. } => {
                        assert!(
                            sent.contains(&request.get()),
                            "a result for a request never sent"
                        );
                    }
                    _ => {}
                }
            }
        }
        assert!(session.pending_replies() <= sent.len());
        assert!(session.pending_results() <= sent.len());
    }
    let pending = session.disconnected();
    let unique: HashSet<u64> = pending.iter().map(|r| r.get()).collect();
    assert_eq!(unique.len(), pending.len(), "a request failed twice");
    assert!(unique.iter().all(|id| sent.contains(id)));
    assert_eq!(
        (session.pending_replies(), session.pending_results()),
        (0, 0)
    );
});
