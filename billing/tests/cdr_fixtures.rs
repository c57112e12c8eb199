//! Every real mod_json_cdr post (raw JSON, URL-encoded, base64, and with encode-values) parses
//! to the same typed CDR fields, whatever its Content-Type claimed.

use billing::{Cdr, CdrError, CdrOptions, Leg};

fn post(name: &str) -> (String, Vec<u8>) {
    let path = format!(
        "{}/../fixtures/freeswitch/json_cdr/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let raw = std::fs::read(&path).unwrap();
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..at].to_vec()).unwrap();
    let uuid = head
        .split("uuid=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();
    (uuid, raw[at + 4..].to_vec())
}

#[test]
fn every_encoding_parses_to_the_same_fields() {
    let cases = [
        (
            "009_cdr_encode_false_uuid_0e11178b_0a91_4f66.http",
            Leg::A,
            1000,
            1_795_261_109_228_372,
        ),
        (
            "010_cdr_encode_false_uuid_ff55e9cb_4b5a_424c.http",
            Leg::B,
            1020,
            1_795_261_109_228_372,
        ),
        (
            "011_cdr_encode_true_uuid_b8225513_fc58_4ad4_.http",
            Leg::A,
            1000,
            1_795_261_112_288_373,
        ),
        (
            "012_cdr_encode_true_uuid_08a65048_6e32_4f9f_.http",
            Leg::B,
            1020,
            1_795_261_112_288_373,
        ),
        (
            "013_cdr_encode_base64_uuid_616b2281_b0ef_45d.http",
            Leg::A,
            1000,
            1_795_261_115_308_373,
        ),
        (
            "014_cdr_encode_base64_uuid_7ce1d573_b169_4b9.http",
            Leg::B,
            1020,
            1_795_261_115_308_373,
        ),
        (
            "015_cdr_encode_false_values_true_uuid_085644.http",
            Leg::A,
            1000,
            1_795_261_118_348_417,
        ),
        (
            "016_cdr_encode_false_values_true_uuid_9fb7a4.http",
            Leg::B,
            1020,
            1_795_261_118_348_417,
        ),
    ];
    for (file, leg, billmsec, answer_us) in cases {
        let (uuid, body) = post(file);
        let cdr =
            Cdr::parse(&body, &CdrOptions::default()).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(cdr.uuid, uuid, "{file}");
        assert_eq!(cdr.leg, leg, "{file}");
        assert_eq!(cdr.billsec, 1, "{file}");
        assert_eq!(cdr.billmsec, Some(billmsec), "{file}");
        assert_eq!(cdr.answer_us, Some(answer_us), "{file}");
        assert_eq!(cdr.answered_at(), Some(answer_us / 1_000_000));
        assert_eq!(
            cdr.hangup_cause,
            Some(esl::proto::HangupCause::NormalClearing),
            "{file}"
        );
        assert_eq!(cdr.destination.as_deref(), Some("9995"), "{file}");
        assert_eq!(
            cdr.core_uuid.as_deref(),
            Some("92cfd863-95cb-4f93-8b76-8f2ba2d08e4c")
        );
        assert_eq!(cdr.switchname.as_deref(), Some("vm"));
        assert!(cdr.end_us > cdr.answer_us);
        assert!(
            cdr.raw.starts_with('{') && cdr.raw.contains(&uuid),
            "{file}: raw JSON kept"
        );
    }
}

#[test]
fn the_tenant_comes_from_the_configured_variable() {
    let (_, body) = post("009_cdr_encode_false_uuid_0e11178b_0a91_4f66.http");
    let by_leg = CdrOptions {
        tenant_variable: "loopback_leg".into(),
    };
    assert_eq!(
        Cdr::parse(&body, &by_leg).unwrap().tenant.as_deref(),
        Some("B")
    );
    assert_eq!(
        Cdr::parse(&body, &CdrOptions::default()).unwrap().tenant,
        None
    );
}

#[test]
fn encode_values_are_decoded() {
    let (_, body) = post("015_cdr_encode_false_values_true_uuid_085644.http");
    let cdr = Cdr::parse(&body, &CdrOptions::default()).unwrap();
    let document: serde_json::Value = serde_json::from_str(&cdr.raw).unwrap();
    let stamp = document["variables"]["start_stamp"].as_str().unwrap();
    assert!(
        stamp.contains(' ') && !stamp.contains('%'),
        "the kept document holds every value as FreeSWITCH had it: {stamp}"
    );
    assert_eq!(cdr.uuid, "08564497-c92a-45c1-b1df-621c72c2d232");
}

#[test]
fn bad_input_is_a_typed_error() {
    let options = CdrOptions::default();
    assert_eq!(Cdr::parse(b"  ", &options), Err(CdrError::Empty));
    assert!(matches!(
        Cdr::parse(b"{not json", &options),
        Err(CdrError::NotJson(_))
    ));
    assert!(matches!(
        Cdr::parse(b"cdr=!!!notbase64", &options),
        Err(CdrError::NotJson(_))
    ));
    assert!(matches!(
        Cdr::parse(b"<xml/>", &options),
        Err(CdrError::NotJson(_))
    ));
    assert_eq!(
        Cdr::parse(br#"{"variables":{"billsec":"5"}}"#, &options),
        Err(CdrError::MissingUuid)
    );
    assert_eq!(
        Cdr::parse(br#"{"variables":{"uuid":"u","billsec":"-5"}}"#, &options),
        Err(CdrError::BadNumber {
            field: "billsec",
            value: "-5".into()
        })
    );
    assert_eq!(
        Cdr::parse(
            br#"{"variables":{"uuid":"u","billsec":"99999999"}}"#,
            &options
        ),
        Err(CdrError::Absurd {
            field: "billsec",
            value: 99_999_999
        })
    );
    assert!(matches!(
        Cdr::parse(b"[1,2]", &options),
        Err(CdrError::NotJson(_))
    ));
    // A uuid no channel has (too long for an index, or not its alphabet) is refused.
    let long = format!(r#"{{"variables":{{"uuid":"{}"}}}}"#, "a".repeat(3000));
    assert!(matches!(
        Cdr::parse(long.as_bytes(), &options),
        Err(CdrError::BadUuid(_))
    ));
    assert!(matches!(
        Cdr::parse(br#"{"variables":{"uuid":"u 1'"}}"#, &options),
        Err(CdrError::BadUuid(_))
    ));
}
