//! Typed requests and response documents for FreeSWITCH's `mod_xml_curl`.
//!
//! FreeSWITCH POSTs a form describing what it needs (a directory user, a dialplan for a call, a
//! configuration file) and blocks a SIP or channel thread until it has a document back. This
//! crate parses those forms into typed requests ([`Request`]) and builds documents that are
//! always well-formed: element and attribute names are the crate's own, and every value goes
//! through one escaper ([`escape_into`]), so no caller string can become markup. Documents are
//! serialised straight into a byte buffer; there is no DOM.
//!
//! - [`request`](Request): the form, with [`Request::directory`], [`Request::dialplan`] and
//!   [`Request::configuration_file`] views; limits and typed errors.
//! - Documents: [`NotFound`], [`Directory`], [`Dialplan`], [`CallCenter`], [`Ivr`], [`Acl`],
//!   [`Language`]; all implement [`Document`].
//! - Feature `axum`: an extractor for the request and a response type (module `axum`).
//!
//! ```
//! use xmlcurl::{Directory, Document, Domain, NotFound, Request, User};
//!
//! let body = b"section=directory&action=sip_auth&user=1000&domain=example.com";
//! let request = Request::parse(body)?;
//! let lookup = request.directory().expect("a directory request");
//! let answer = match (lookup.user(), lookup.domain()) {
//!     (Some("1000"), Some(domain)) => Directory::new()
//!         .domain(Domain::new(domain).user(User::new("1000").password("s3cret")))
//!         .to_xml(),
//!     _ => NotFound.to_xml(),
//! };
//! assert!(answer.starts_with(b"<?xml"));
//! # Ok::<(), xmlcurl::RequestError>(())
//! ```

#![warn(missing_docs)]

#[cfg(feature = "axum")]
pub mod axum;
mod configuration;
mod dialplan;
mod directory;
mod document;
mod languages;
mod request;
mod writer;

pub use configuration::{Acl, AclList, Agent, CallCenter, Ivr, Menu, Queue, Tier};
pub use dialplan::{Break, Condition, Context, Dialplan, Extension, RegexMode, Time};
pub use directory::{Directory, Domain, Gateway, Group, User, a1_hash};
pub use document::{Document, NotFound};
pub use languages::{Language, PhraseMacro};
pub use request::{
    DialplanRequest, DirectoryAction, DirectoryRequest, Limits, Request, RequestError, Section,
};
pub use writer::escape_into;
