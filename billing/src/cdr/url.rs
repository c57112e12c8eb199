//! FreeSWITCH's URL encoding (`switch_url_encode`, used by mod_json_cdr for the whole document
//! and, with `encode-values`, for each variable value) and percent-decoding.
//!
//! The encoder escapes control characters, bytes above `~`, and `\r\n #%&+:;<=>?@[\]^`{|}"`
//! (so `,`, `/`, `-`, `.`, `=`... stay as they are), with uppercase hex, and leaves a `%` that
//! already starts an uppercase `%XX` alone. That last rule is why its output cannot always be
//! decoded back: a value holding the text `%22` and a value holding `"` encode alike.

/// The characters FreeSWITCH escapes besides control and non-ASCII bytes.
const UNSAFE: &[u8] = b"\r\n #%&+:;<=>?@[\\]^`{|}\"";

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn is_upper_hex(byte: u8) -> bool {
    byte.is_ascii_digit() || (b'A'..=b'F').contains(&byte)
}

/// Whether `text[at..]` starts with `%` and two uppercase hex digits, which FreeSWITCH keeps.
fn starts_escape(text: &[u8], at: usize) -> bool {
    text.len() >= at + 3
        && text[at] == b'%'
        && is_upper_hex(text[at + 1])
        && is_upper_hex(text[at + 2])
}

/// Whether FreeSWITCH escapes this byte.
fn is_unsafe(byte: u8) -> bool {
    !(b' '..=b'~').contains(&byte) || UNSAFE.contains(&byte)
}

/// Appends `text` to `out` encoded as `switch_url_encode` does, into the buffer mod_json_cdr
/// gives it: three bytes per input byte, one of them the terminating NUL. So when every byte
/// needs escaping the last escape does not fit and is dropped (a value of one space becomes
/// empty), as FreeSWITCH itself does.
pub(crate) fn freeswitch_encode(text: &[u8], out: &mut Vec<u8>) {
    let room = (text.len() * 3).saturating_sub(1);
    let start = out.len();
    out.reserve(text.len());
    for (at, &byte) in text.iter().enumerate() {
        let written = out.len() - start;
        if written >= room {
            break;
        }
        if is_unsafe(byte) && !starts_escape(text, at) {
            if written + 3 > room {
                break;
            }
            out.extend_from_slice(&[
                b'%',
                HEX_UPPER[usize::from(byte >> 4)],
                HEX_UPPER[usize::from(byte & 0x0f)],
            ]);
        } else {
            out.push(byte);
        }
    }
}

/// Whether `text` could be the output of [`freeswitch_encode`]: nothing it would have escaped,
/// and `%` only as the start of an uppercase `%XX`.
pub(crate) fn is_freeswitch_encoded(text: &[u8]) -> bool {
    text.iter()
        .enumerate()
        .all(|(at, &byte)| !is_unsafe(byte) || starts_escape(text, at))
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// The byte a `%XX` (either case) at `text[at..]` stands for.
pub(crate) fn escaped_byte(text: &[u8], at: usize) -> Option<u8> {
    if text.get(at) != Some(&b'%') {
        return None;
    }
    let high = hex_value(*text.get(at + 1)?)?;
    let low = hex_value(*text.get(at + 2)?)?;
    Some(high << 4 | low)
}

/// Percent-decodes `%XX` in either case; a `%` that starts no escape stays. With
/// `plus_is_space`, `+` is a space, as in a form (FreeSWITCH itself never writes a bare `+`).
pub(crate) fn percent_decode(text: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut at = 0;
    while at < text.len() {
        if let Some(byte) = escaped_byte(text, at) {
            out.push(byte);
            at += 3;
        } else {
            out.push(if plus_is_space && text[at] == b'+' {
                b' '
            } else {
                text[at]
            });
            at += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str) -> String {
        let mut out = Vec::new();
        freeswitch_encode(text.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn encodes_as_the_capture_shows() {
        // From json_cdr_bridged/enc_true_values_true: the caller ID name's encoding.
        assert_eq!(
            encode(r#"Nguyễn "Boss" 100% <VIP> & co"#),
            "Nguy%E1%BB%85n%20%22Boss%22%20100%25%20%3CVIP%3E%20%26%20co"
        );
        assert_eq!(
            encode("0=1;1=1,a/b-c.d"),
            "0%3D1%3B1%3D1,a/b-c.d",
            "comma, slash, dash and dot stay"
        );
    }

    #[test]
    fn keeps_an_uppercase_escape_and_escapes_a_lowercase_one() {
        assert_eq!(encode("%22"), "%22");
        assert_eq!(encode("%2c"), "%252c");
        assert_eq!(encode("%2"), "%252");
        assert_eq!(encode("100%"), "100%25");
    }

    #[test]
    fn drops_the_last_escape_when_every_byte_needs_one() {
        assert_eq!(encode(" "), "");
        assert_eq!(encode("@@"), "%40");
        assert_eq!(encode("a@@"), "a%40%40");
    }

    #[test]
    fn decodes_either_case_and_leaves_a_stray_percent() {
        assert_eq!(percent_decode(b"%2c%2C%zz%4", false), b",,%zz%4");
        assert_eq!(percent_decode(b"a+b", true), b"a b");
        assert_eq!(percent_decode(b"a+b", false), b"a+b");
    }

    #[test]
    fn recognises_its_own_output() {
        assert!(is_freeswitch_encoded(b"2026-11-23%2018%3A27%3A13"));
        assert!(!is_freeswitch_encoded(b"2026-11-23 18:27:13"));
        assert!(!is_freeswitch_encoded(b"100%"));
    }
}
