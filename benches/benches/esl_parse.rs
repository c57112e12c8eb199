//! ESL parsing throughput on the real captures, in MB/s and events/s:
//! (a) `indexed`: framing plus event parse, headers indexed and values left encoded;
//! (b) `decoded`: the same with every header value (and the body) decoded.

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use esl::proto::FrameDecoder;
use std::hint::black_box;
use std::time::Duration;

const CAPTURES: [(&str, &str); 3] = [
    ("plain", "esl-plain.raw"),
    ("json", "esl-json.raw"),
    ("xml", "esl-xml.raw"),
];

fn capture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../fixtures/freeswitch/esl/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// Frames the whole stream and parses every event; with `decode`, reads every value too.
/// Returns a checksum so nothing is optimised away.
fn parse_stream(buf: &mut BytesMut, decode: bool) -> usize {
    let mut decoder = FrameDecoder::new();
    let mut total = 0;
    while let Some(frame) = decoder.decode(buf).expect("capture frames cleanly") {
        if !frame.is_event() {
            continue;
        }
        let event = frame.event().expect("capture events parse");
        total += event.len();
        if decode {
            for (name, value) in event.headers() {
                total += name.len() + value.len();
            }
            total += event.body().map_or(0, <[u8]>::len);
        }
    }
    total
}

fn count_events(stream: &[u8]) -> u64 {
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::from(stream);
    let mut events = 0;
    while let Some(frame) = decoder.decode(&mut buf).expect("capture frames cleanly") {
        events += u64::from(frame.is_event());
    }
    events
}

fn bench(c: &mut Criterion, unit: &str) {
    for (mode, decode) in [("indexed", false), ("decoded", true)] {
        let mut group = c.benchmark_group(format!("esl_{mode}_{unit}"));
        group.measurement_time(Duration::from_secs(4));
        for (format, file) in CAPTURES {
            let stream = capture(file);
            group.throughput(match unit {
                "bytes" => Throughput::Bytes(stream.len() as u64),
                _ => Throughput::Elements(count_events(&stream)),
            });
            group.bench_function(format, |b| {
                b.iter_batched_ref(
                    || BytesMut::from(&stream[..]),
                    |buf| black_box(parse_stream(buf, decode)),
                    BatchSize::SmallInput,
                )
            });
        }
        group.finish();
    }
}

fn throughput_bytes(c: &mut Criterion) {
    bench(c, "bytes");
}

fn throughput_events(c: &mut Criterion) {
    bench(c, "events");
}

criterion_group!(benches, throughput_bytes, throughput_events);
criterion_main!(benches);
