//! The bridged outbound calls FreeSWITCH 1.10.12 posted through a trunk
//! (`fixtures/freeswitch/json_cdr_bridged/`), in every encoding and as its err-log-dir files:
//! each leg reads exactly, with its links, context and gateway.

use billing::{Cdr, CdrOptions, Encode, JsonCdrFormat, JsonCdrSettings, Values};
use serde_json::Value;
use std::path::{Path, PathBuf};

const CALLER_NAME: &str = r#"Nguyễn "Boss" 100% <VIP> & co"#;

fn folder(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/freeswitch/json_cdr_bridged")
        .join(name)
}

/// The files of a folder, sorted.
fn files(name: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder(name))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// The body of a saved request, or a whole err-log-dir file.
fn body(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    match bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) if bytes.starts_with(b"POST ") => bytes[at + 4..].to_vec(),
        _ => bytes,
    }
}

fn parse(path: &Path) -> Cdr {
    Cdr::parse(&body(path), &CdrOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn variables(cdr: &Cdr) -> serde_json::Map<String, Value> {
    let document: Value = serde_json::from_str(&cdr.raw).unwrap();
    document["variables"].as_object().unwrap().clone()
}

fn channel(cdr: &Cdr) -> String {
    variables(cdr)["channel_name"].as_str().unwrap().to_owned()
}

/// The three legs of one call, by their channel names.
struct Call {
    loop_a: Cdr,
    loop_b: Cdr,
    trunk: Cdr,
}

fn call(cdrs: Vec<Cdr>) -> Call {
    let mut loop_a = None;
    let mut loop_b = None;
    let mut trunk = None;
    for cdr in cdrs {
        match channel(&cdr).as_str() {
            "loopback/0901234567-a" => loop_a = Some(cdr),
            "loopback/0901234567-b" => loop_b = Some(cdr),
            "sofia/internal/0901234567" => trunk = Some(cdr),
            other => panic!("unexpected leg {other}"),
        }
    }
    Call {
        loop_a: loop_a.unwrap(),
        loop_b: loop_b.unwrap(),
        trunk: trunk.unwrap(),
    }
}

fn check_call(name: &str, call: &Call) {
    let Call {
        loop_a,
        loop_b,
        trunk,
    } = call;
    for cdr in [loop_a, loop_b, trunk] {
        assert_eq!(cdr.destination.as_deref(), Some("0901234567"), "{name}");
        assert_eq!(cdr.context.as_deref(), Some("demo"), "{name}");
        assert!(cdr.answer_us.is_some(), "{name}");
        assert!((4..=6).contains(&cdr.billsec), "{name}: {}", cdr.billsec);
    }
    assert_eq!(loop_a.tenant.as_deref(), Some("demo"), "{name}");
    assert_eq!(loop_b.tenant.as_deref(), Some("demo"), "{name}");
    assert_eq!(trunk.tenant, None, "{name}: the trunk leg names no tenant");
    assert_eq!(trunk.gateway.as_deref(), Some("trunk"), "{name}");
    assert!(trunk.reaches_outside(), "{name}");
    assert!(
        !loop_a.reaches_outside() && !loop_b.reaches_outside(),
        "{name}"
    );
    assert_eq!(loop_a.links, std::slice::from_ref(&loop_b.uuid), "{name}");
    assert_eq!(trunk.links, std::slice::from_ref(&loop_b.uuid), "{name}");
    let mut b_links = vec![loop_a.uuid.clone(), trunk.uuid.clone()];
    b_links.sort();
    assert_eq!(loop_b.links, b_links, "{name}");
    // Values exactly as FreeSWITCH had them, quotes, percent and non-ASCII included.
    assert_eq!(
        variables(loop_b)["origination_caller_id_name"],
        CALLER_NAME,
        "{name}"
    );
    assert_eq!(
        variables(trunk)["caller_id"],
        format!("\"{CALLER_NAME}\" <1000>"),
        "{name}"
    );
    let sdp = variables(loop_b)["switch_m_sdp"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        sdp.starts_with("v=0\r\no=FreeSWITCH ") && sdp.ends_with("a=ptime:20\r\n"),
        "{name}: {sdp:?}"
    );
}

#[test]
fn every_posted_encoding_reads_each_leg_exactly() {
    let cases = [
        ("enc_true_values_true", Encode::Url, Values::Encoded),
        ("enc_true_values_false", Encode::Url, Values::Unknown),
        ("enc_false_values_true", Encode::Json, Values::Encoded),
        ("enc_base64_values_true", Encode::Base64, Values::Encoded),
    ];
    for (name, encode, values) in cases {
        let cdrs: Vec<Cdr> = files(name).iter().map(|path| parse(path)).collect();
        for cdr in &cdrs {
            assert_eq!(cdr.format, Some(JsonCdrFormat { encode, values }), "{name}");
        }
        check_call(name, &call(cdrs));
    }
}

#[test]
fn every_err_log_dir_file_reads_each_leg_exactly() {
    for name in [
        "errdir_enc_true_values_true",
        "errdir_enc_false_values_true",
        "errdir_enc_base64_values_true",
    ] {
        let paths = files(name);
        let cdrs: Vec<Cdr> = paths.iter().map(|path| parse(path)).collect();
        // FreeSWITCH names the file after the leg, `a_` for A legs (prefix-a-leg).
        for (path, cdr) in paths.iter().zip(&cdrs) {
            let file = path.file_name().unwrap().to_str().unwrap();
            let uuid = file.trim_start_matches("a_").trim_end_matches(".cdr.json");
            assert_eq!(cdr.uuid, uuid, "{file}");
        }
        check_call(name, &call(cdrs));
    }
}

/// Each variable decoded, written again the way FreeSWITCH writes it, is found in the body
/// as FreeSWITCH wrote it: nothing was lost or changed by decoding.
#[test]
fn decoded_values_encode_back_to_the_captured_bytes() {
    let settings = JsonCdrSettings {
        encode: Encode::Url,
        encode_values: true,
    };
    for name in ["enc_true_values_true", "errdir_enc_true_values_true"] {
        for path in files(name) {
            let captured = String::from_utf8(body(&path)).unwrap();
            let cdr = parse(&path);
            let variables = variables(&cdr);
            assert!(variables.len() > 30, "{}", path.display());
            for (key, value) in &variables {
                let one = serde_json::json!({ "variables": { key: value } });
                let encoded = String::from_utf8(settings.err_log_file(&one)).unwrap();
                // %7B%22variables%22%3A%7B ... %7D%7D\n: the member in between.
                let member = &encoded["%7B%22variables%22%3A%7B".len()..encoded.len() - 7];
                assert!(
                    captured.contains(member),
                    "{}: {key} = {value:?} encodes as {member}",
                    path.display()
                );
            }
        }
    }
}
