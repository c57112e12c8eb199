//! Criterion benchmarks over the real captures in `fixtures/`; run them with
//! `cargo bench -p benches`. Each bench file in `benches/benches/` measures one real path.
