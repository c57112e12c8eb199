//! Side by side, in one run: our `esl` against `eslrs` (another Rust ESL library, a tokio codec
//! with a header multimap), both reading a real capture from an in-memory `AsyncRead` on a tokio
//! runtime to the end and parsing every event.
//!
//! - `plain`: eslrs indexes plain events without URL-decoding; compared with our `indexed` path.
//! - `json`: eslrs decodes JSON events into a `serde_json::Value`; compared with our path that
//!   decodes every value.

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use esl::proto::FrameDecoder;
use eslrs::event::{JsonEvent, PlainEvent};
use std::hint::black_box;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::runtime::Runtime;

fn capture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../fixtures/freeswitch/esl/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// Our stack: read into a `BytesMut` (8 KiB to start, as tokio-util's `Framed`), take frames
/// off it, parse events. Returns the number of events.
async fn ours(mut stream: &[u8], decode_values: bool) -> usize {
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let mut events = 0;
    loop {
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(8 * 1024);
        }
        let read = stream.read_buf(&mut buf).await.expect("in-memory read");
        while let Some(frame) = decoder.decode(&mut buf).expect("capture frames cleanly") {
            if !frame.is_event() {
                continue;
            }
            let event = frame.event().expect("capture events parse");
            if decode_values {
                for (name, value) in event.headers() {
                    black_box((name, value));
                }
            }
            black_box(event.name());
            events += 1;
        }
        if read == 0 {
            return events;
        }
    }
}

/// eslrs's stack through its public API: `ESLConnection::recv` until the stream ends.
async fn theirs(stream: &[u8], json: bool) -> usize {
    let io = tokio::io::join(stream, tokio::io::sink());
    let mut conn = eslrs::ESLConnection::new(io);
    let mut events = 0;
    while let Ok(event) = conn.recv().await {
        if json && event.is_json() {
            let value = JsonEvent::try_from(event).expect("capture events parse");
            black_box(value.get("Event-Name"));
            events += 1;
        } else if !json && event.is_plain_event() {
            let Ok(plain) = PlainEvent::try_from(event);
            black_box(plain.get_header("Event-Name"));
            events += 1;
        }
    }
    events
}

fn side_by_side(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let plain = capture("esl-plain.raw");
    let json = capture("esl-json.raw");
    // Both must see the same events for the comparison to mean anything.
    assert_eq!(block(&runtime, ours(&plain, false)), 64);
    assert_eq!(block(&runtime, theirs(&plain, false)), 64);
    assert_eq!(block(&runtime, ours(&json, true)), 64);
    assert_eq!(block(&runtime, theirs(&json, true)), 64);

    let mut group = c.benchmark_group("esl_vs_eslrs");
    group.measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Bytes(plain.len() as u64));
    group.bench_function("plain/esl", |b| {
        b.iter(|| block(&runtime, ours(&plain, false)))
    });
    group.bench_function("plain/eslrs", |b| {
        b.iter(|| block(&runtime, theirs(&plain, false)))
    });
    group.throughput(Throughput::Bytes(json.len() as u64));
    group.bench_function("json/esl", |b| {
        b.iter(|| block(&runtime, ours(&json, true)))
    });
    group.bench_function("json/eslrs", |b| {
        b.iter(|| block(&runtime, theirs(&json, true)))
    });
    group.finish();
}

fn block<F: Future>(runtime: &Runtime, future: F) -> F::Output {
    runtime.block_on(future)
}

criterion_group!(benches, side_by_side);
criterion_main!(benches);
