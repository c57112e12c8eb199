//! The real mod_xml_curl requests parse; the documents served to them are rebuilt with the
//! builders and match structurally.

mod common;

use common::{http_body, parse};
use xmlcurl::{
    Condition, Context, Dialplan, Directory, Document, Domain, Group, NotFound, Request, Section,
    User,
};

#[test]
fn every_fixture_request_parses() {
    let cases = [
        ("001_fsapi_directory.http", "2000", "switch_xml_locate_user"),
        ("002_fsapi_directory.http", "1000", "switch_xml_locate_user"),
        ("003_fsapi_directory.http", "1000", "user_data_function"),
        ("004_fsapi_directory.http", "2000", "user_data_function"),
    ];
    for (file, user, function) in cases {
        let body = http_body(file);
        let request = Request::parse(&body).unwrap();
        assert_eq!(request.section(), &Section::Directory, "{file}");
        assert_eq!(request.hostname(), Some("vm"));
        assert_eq!(request.tag_name(), Some("domain"));
        assert_eq!(request.key_name(), Some("name"));
        assert_eq!(request.key_value(), Some("127.0.0.1"));
        assert_eq!(request.field("Event-Calling-Function"), Some(function));
        assert_eq!(
            request.field("Event-Date-Local"),
            Some("2026-11-21 11:38:44")
        );
        let directory = request.directory().unwrap();
        assert_eq!(directory.user(), Some(user), "{file}");
        assert_eq!(directory.domain(), Some("127.0.0.1"));
        assert_eq!(directory.action(), None, "user lookups carry no action");
    }
    for (file, destination, uuid) in [
        (
            "005_fsapi_dialplan.http",
            "7777",
            "5fb64482-cf92-420a-8fa8-de69f86686d9",
        ),
        (
            "006_fsapi_dialplan.http",
            "9995",
            "6ff5be90-dfd8-4c17-a715-dda221da9aea",
        ),
    ] {
        let body = http_body(file);
        let request = Request::parse(&body).unwrap();
        assert_eq!(request.section(), &Section::Dialplan, "{file}");
        let dialplan = request.dialplan().unwrap();
        assert_eq!(dialplan.destination(), Some(destination));
        assert_eq!(dialplan.context(), Some("default"));
        assert_eq!(dialplan.caller_id_number(), Some("0000000000"));
        assert_eq!(dialplan.unique_id(), Some(uuid));
        assert_eq!(dialplan.variable("loopback_leg"), Some("B"));
        assert_eq!(dialplan.variable("direction"), Some("inbound"));
        assert!(dialplan.variables().count() >= 10);
        assert_eq!(
            dialplan
                .hunt()
                .find(|(n, _)| *n == "Callee-ID-Name")
                .map(|(_, v)| v),
            Some("Outbound Call")
        );
        assert!(request.fields().count() > 100);
    }
}

fn served(file: &str) -> common::Node {
    parse(&http_body(file)).unwrap()
}

#[test]
fn directory_answer_is_rebuilt_by_the_builder() {
    let built = Directory::new()
        .domain(
            Domain::new("127.0.0.1")
                .param("dial-string", "error/user_not_registered")
                .group(
                    Group::new("default").user(
                        User::new("2000")
                            .password("curlpass")
                            .variable("user_context", "default")
                            .variable("effective_caller_id_name", "Curl User 2000"),
                    ),
                ),
        )
        .to_xml();
    let built = parse(&built).unwrap();
    assert_eq!(built, served("001_fsapi_directory.response.http"));
    assert_eq!(built, served("004_fsapi_directory.response.http"));
}

#[test]
fn dialplan_answer_is_rebuilt_by_the_builder() {
    let built = Dialplan::new()
        .description("xml_curl served dialplan")
        .context(
            Context::new("default").extension(
                xmlcurl::Extension::new("curl_7777").condition(
                    Condition::new("destination_number", "^7777$")
                        .action("answer", None)
                        .action("playback", Some("tone_stream://%(500,500,480);loops=2"))
                        .action("hangup", Some("NORMAL_CLEARING")),
                ),
            ),
        )
        .to_xml();
    assert_eq!(
        parse(&built).unwrap(),
        served("005_fsapi_dialplan.response.http")
    );
}

#[test]
fn not_found_answers_match() {
    let built = parse(&NotFound.to_xml()).unwrap();
    for file in [
        "002_fsapi_directory.response.http",
        "003_fsapi_directory.response.http",
        "006_fsapi_dialplan.response.http",
    ] {
        assert_eq!(built, served(file), "{file}");
    }
}
