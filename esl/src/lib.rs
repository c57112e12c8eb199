//! FreeSWITCH's Event Socket Layer (ESL).
//!
//! - [`proto`]: the sans-IO heart: an incremental, zero-copy frame parser over
//!   [`bytes::BytesMut`], one [`proto::Event`] type over the plain, JSON and XML event formats
//!   with headers decoded lazily, typed [`proto::EventName`] and [`proto::HangupCause`], an
//!   encoder for every command, and [`proto::Session`], the state machine that routes each
//!   reply, `bgapi` result and execution completion to the request it belongs to.
//! - [`api`]: API commands as typed values ([`api::Originate`], [`api::UuidKill`],
//!   [`api::SchedHangup`]...), each an [`api::ApiCommand`] that writes its own checked command
//!   line and reads its own result.
//! - `client` (feature `client`, default): the inbound client on tokio, driving a
//!   [`proto::Session`] over a socket: authentication, pipelined `api`/`bgapi` (`Client::run`
//!   and `Client::run_background` for any [`api::ApiCommand`]), subscriptions (typed or by
//!   name), a bounded event stream, executions with completion, reconnect; I/O errors keep
//!   their `std::io::ErrorKind`.
//! - `outbound` (feature `client`): the server for FreeSWITCH's `socket` application.
//!
//! ```
//! use bytes::BytesMut;
//! use esl::proto::FrameDecoder;
//!
//! let wire = "Content-Length: 41\nContent-Type: text/event-plain\n\n\
//!             Event-Name: HEARTBEAT\nEvent-Sequence: 7\n\n";
//! let mut buf = BytesMut::from(wire.as_bytes());
//! let frame = FrameDecoder::new().decode(&mut buf)?.expect("one frame");
//! let event = frame.event()?;
//! assert_eq!(event.name().as_deref(), Some("HEARTBEAT"));
//! assert_eq!(event.sequence(), Some(7));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod api;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod outbound;
pub mod proto;
