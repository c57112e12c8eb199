//! Criterion benchmarks over the real captures in `fixtures/`; run them with
//! `cargo bench -p benches`. Each bench file in `benches/benches/` measures one real path.
//!
//! [`client_load`] holds the client scenarios shared by the `esl_client` bench and the
//! `esl-client-load` binary (which reports peak memory, one client per process).

pub mod client_load;
