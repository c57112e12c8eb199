//! Two operator tools over the `esl` crate, linking nothing else of the platform:
//!
//! - [`decode`] (`esl-decode`): turns a raw ESL byte stream into JSON lines, one per frame.
//! - [`console`] (`esl-console`): runs an api command, or streams events as JSON lines, like
//!   `fs_cli`.
//! - [`json`]: how both print frames and events.

#![warn(missing_docs)]

pub mod console;
pub mod decode;
pub mod json;
