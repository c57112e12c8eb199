//! The sans-IO protocol layer: bytes in, [`Frame`]s and [`Event`]s out; [`Command`]s in, bytes
//! out; a [`Session`] that says which pending request each reply, job result or execution
//! completion belongs to. Nothing here touches a socket, so it is tested and fuzzed on byte
//! slices.
//!
//! ```
//! use bytes::BytesMut;
//! use esl::proto::{Command, ContentType, FrameDecoder};
//!
//! let mut decoder = FrameDecoder::new();
//! let mut input = BytesMut::from(&b"Content-Type: auth/request\n\n"[..]);
//! let frame = decoder.decode(&mut input)?.expect("a whole frame");
//! assert_eq!(frame.content_type(), ContentType::AuthRequest);
//!
//! let reply = Command::Auth { password: "ClueCon" }.to_bytes()?;
//! assert_eq!(&reply[..], b"auth ClueCon\n\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod command;
mod decode;
mod event;
mod event_name;
mod frame;
mod hangup_cause;
mod header_block;
mod json;
mod reply;
mod session;
mod span;
mod wire_name;
mod xml;

pub use command::{Body, CallCommand, Command, EncodeError, LogLevel, SendMsg, write_plain_event};
pub use decode::text;
pub use event::{AnswerState, ChannelState, Event, EventError, EventFormat};
pub use event_name::EventName;
pub use frame::{ContentType, Disconnect, Frame, FrameDecoder, FrameError, Limits};
pub use hangup_cause::HangupCause;
pub use reply::reports_failure;
pub use session::{RequestId, Routed, Session};
