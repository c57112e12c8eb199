//! Our client against `freeswitch-esl-tokio`'s, side by side in one run, on loopback TCP from
//! the replay server: events/s of a flood of real events (esl-plain.raw repeated), and
//! pipelined `bgapi` commands/s on one connection (each result received).
//! Peak memory per client is reported by the `esl-client-load` binary instead, one process each.

use benches::client_load::{
    Contender, bgapi_server, flood_server, pipelined_bgapi, receive_events,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;

const EVENTS: usize = 50_000;
const JOBS: usize = 10_000;

fn side_by_side(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let contenders = [Contender::Esl, Contender::FreeswitchEslTokio];

    let mut group = c.benchmark_group("esl_client_events");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(EVENTS as u64));
    for contender in contenders {
        group.bench_function(contender.name(), |b| {
            b.iter_custom(|iterations| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        let server = flood_server(EVENTS).await;
                        total += receive_events(contender, &server, EVENTS).await;
                    }
                    total
                })
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("esl_client_bgapi");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(JOBS as u64));
    for contender in contenders {
        group.bench_function(contender.name(), |b| {
            b.iter_custom(|iterations| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        let server = bgapi_server().await;
                        total += pipelined_bgapi(contender, &server, JOBS, 256).await;
                    }
                    total
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, side_by_side);
criterion_main!(benches);
