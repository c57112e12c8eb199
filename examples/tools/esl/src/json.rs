//! How the tools print frames and events as JSON.

use esl::proto::Event;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Text as a JSON string, or `null` if it is not UTF-8.
pub fn text_or_null(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => Value::String(text.to_owned()),
        Err(_) => Value::Null,
    }
}

/// Headers as a JSON object in their order (a repeated name keeps its last value).
pub fn headers_json<'a>(headers: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Value {
    let map: Map<String, Value> = headers
        .map(|(name, value)| (name.into_owned(), Value::String(value.into_owned())))
        .collect();
    Value::Object(map)
}

/// An event's fields: `headers` (decoded), `event_name`, `body_len`, `body`.
///
/// ```
/// use bytes::Bytes;
/// use esl::proto::{Event, EventFormat};
///
/// let event = Event::parse(Bytes::from_static(b"Event-Name: HEARTBEAT\n\n"), EventFormat::Plain, 64)?;
/// let fields = esl_tools::json::event_fields(&event);
/// assert_eq!(fields["event_name"], "HEARTBEAT");
/// assert_eq!(fields["body_len"], 0);
/// # Ok::<(), esl::proto::EventError>(())
/// ```
pub fn event_fields(event: &Event) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("headers".into(), headers_json(event.headers()));
    let name = event
        .name()
        .map_or(Value::Null, |n| Value::String(n.into_owned()));
    fields.insert("event_name".into(), name);
    let body = event.body().unwrap_or_default();
    fields.insert("body_len".into(), body.len().into());
    fields.insert("body".into(), text_or_null(body));
    fields
}
