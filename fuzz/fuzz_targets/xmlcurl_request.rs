//! The mod_xml_curl request parser on arbitrary bodies: it must never panic, must respect its
//! limits, and every view must work on whatever it accepted. What it accepts is then echoed
//! into a document, which must still be well-formed (every value escaped).

#![no_main]

use libfuzzer_sys::fuzz_target;
use xmlcurl::{Condition, Context, Dialplan, Document, Extension, Limits, Request};

fuzz_target!(|body: &[u8]| {
    let limits = Limits::default().max_body(64 * 1024).max_fields(256);
    let Ok(request) = Request::parse_with(body, limits) else {
        return;
    };
    assert!(request.fields().count() <= 256);
    let _ = (
        request.hostname(),
        request.key_value(),
        request.configuration_file(),
    );
    if let Some(directory) = request.directory() {
        let _ = (
            directory.action(),
            directory.user(),
            directory.domain(),
            directory.sip_auth("realm"),
        );
    }
    let mut condition = Condition::new("destination_number", "^x$");
    for (name, value) in request.fields() {
        condition = condition.action_owned(name.to_owned(), value.to_owned());
    }
    if let Some(dialplan) = request.dialplan() {
        let _ = (
            dialplan.context(),
            dialplan.destination(),
            dialplan.variables().count(),
            dialplan.hunt().count(),
        );
    }
    let xml = Dialplan::new()
        .context(Context::new("fuzz").extension(Extension::new("echo").condition(condition)))
        .to_xml();
    // Well-formed: every `<` opens markup we wrote, so counts of opening and closing tags match.
    let text = std::str::from_utf8(&xml).expect("documents are UTF-8");
    assert_eq!(text.matches("<action ").count(), request.fields().count());
});
