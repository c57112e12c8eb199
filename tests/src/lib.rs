//! Cross-crate integration tests: the daemons in `examples/` exercised end to end against real
//! PostgreSQL, Redis and an S3 server, fed with the real FreeSWITCH captures in `fixtures/`.
//!
//! The test files live in `tests/tests/`; this library only hosts what they share.
