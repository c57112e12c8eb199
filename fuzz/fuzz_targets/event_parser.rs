//! The event parser on arbitrary bodies in all three formats (the first byte picks the format):
//! it must never panic, and every accessor must work on whatever it accepted.

#![no_main]

use bytes::Bytes;
use esl::proto::{Event, EventFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let format = match selector % 3 {
        0 => EventFormat::Plain,
        1 => EventFormat::Json,
        _ => EventFormat::Xml,
    };
    let Ok(event) = Event::parse(Bytes::copy_from_slice(body), format, 512) else {
        return;
    };
    assert!(event.len() <= 512);
    assert_eq!(event.headers().count(), event.len());
    // Names that are text can be looked up; others are only reachable by iteration.
    let names: Vec<String> = event
        .headers_raw()
        .zip(event.headers())
        .filter(|((raw, _), _)| std::str::from_utf8(raw).is_ok())
        .map(|(_, (decoded, _))| decoded.into_owned())
        .collect();
    for name in &names {
        assert!(event.header(name).is_some(), "{name:?}");
        let _ = event.header_array(name);
        let _ = event.header_raw(name);
    }
    let _ = event.variables().count();
    let _ = (
        event.name(),
        event.sequence(),
        event.channel_state(),
        event.answer_state(),
    );
    let _ = (
        event.caller_id_number(),
        event.variable("billsec"),
        event.body_text(),
    );
});
