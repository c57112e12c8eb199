//! Rating against a 100k-prefix plan, one core: longest-prefix match, period choice, increments
//! and exact decimal arithmetic with rounding, per call. Also prepaid authorisation.

use billing::{Currency, Decimal, Destination, Rate, RatePlan, Rounding};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// SplitMix64: deterministic prefixes and destinations.
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn digits(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b'0' + (self.next() % 10) as u8))
            .collect()
    }
}

fn plan(prefixes: usize) -> (RatePlan, Vec<String>) {
    let mut numbers = Numbers(42);
    let mut plan = RatePlan::new(
        "wholesale",
        Currency::new("EUR", 4).unwrap(),
        Rounding::HalfUp,
    );
    let mut destinations = Vec::new();
    while plan.len() < prefixes {
        let len = 3 + (numbers.next() % 7) as usize;
        let prefix = numbers.digits(len);
        let per_milli = 1 + (numbers.next() % 2000) as i64;
        plan.add(Destination {
            prefix: prefix.clone(),
            name: format!("dest {prefix}"),
            free: false,
            rates: vec![Rate {
                per_minute: Decimal::new(per_milli, 4),
                connect_fee: Decimal::new((numbers.next() % 100) as i64, 4),
                initial_increment: [1, 30, 60][(numbers.next() % 3) as usize],
                subsequent_increment: [1, 6, 60][(numbers.next() % 3) as usize],
                minimum_seconds: 0,
                period: None,
            }],
        })
        .unwrap();
        if destinations.len() < 10_000 {
            let suffix = numbers.digits(12 - len.min(11));
            destinations.push(format!("{prefix}{suffix}"));
        }
    }
    (plan, destinations)
}

fn bench(c: &mut Criterion) {
    let (plan, destinations) = plan(100_000);
    let mut group = c.benchmark_group("billing");
    group.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    group.bench_function("rate_call_100k_prefixes", |b| {
        b.iter(|| {
            i = (i + 1) % destinations.len();
            let duration_ms = 1_000 + (i as u64 * 7_919) % 600_000;
            let charge = plan
                .rate_call(
                    black_box(&destinations[i]),
                    Some(1_795_261_109),
                    duration_ms,
                )
                .unwrap();
            black_box(charge.amount.amount)
        })
    });
    let available: Decimal = "12.50".parse().unwrap();
    group.bench_function("authorize_100k_prefixes", |b| {
        b.iter(|| {
            i = (i + 1) % destinations.len();
            black_box(
                plan.authorize(black_box(&destinations[i]), 1_795_261_109, available)
                    .unwrap(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
