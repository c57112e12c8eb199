//! The daemons and tools that compose the crates into a FreeSWITCH platform. Each role is a
//! library function here; each binary in `src/bin/` is a thin `main` over it.
//!
//! - [`esl_decode`]: turns a raw ESL byte stream into JSON lines, one per frame.

pub mod esl_decode;
