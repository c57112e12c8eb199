//! Value encodings FreeSWITCH uses: URL encoding (plain and XML events, frame headers), XML
//! entities (XML events) and JSON string escapes (JSON events). Decoding borrows whenever the
//! input needs no change.

use std::borrow::Cow;

/// The value FreeSWITCH writes for a header whose value is empty.
pub(crate) const UNDEF: &[u8] = b"_undef_";
/// The prefix of a serialised array value; items are separated by `|:`.
pub(crate) const ARRAY_PREFIX: &str = "ARRAY::";
/// The separator between array items.
pub(crate) const ARRAY_SEPARATOR: &str = "|:";

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` sequences. A `%` not followed by two hex digits is kept as it is, like
/// FreeSWITCH's own decoder; `+` stays `+`.
pub(crate) fn url_decode(raw: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr::memchr(b'%', raw) else {
        return Cow::Borrowed(raw);
    };
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    let mut next = Some(first);
    while let Some(at) = next {
        // Copy the run before the `%` in one go, then decode or keep the escape.
        out.extend_from_slice(&rest[..at]);
        let escape = &rest[at..];
        match (
            escape.get(1).copied().and_then(hex_value),
            escape.get(2).copied().and_then(hex_value),
        ) {
            (Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                rest = &escape[3..];
            }
            _ => {
                out.push(b'%');
                rest = &escape[1..];
            }
        }
        next = memchr::memchr(b'%', rest);
    }
    out.extend_from_slice(rest);
    Cow::Owned(out)
}

/// Bytes FreeSWITCH's URL encoder escapes, besides control and non-ASCII bytes.
fn needs_url_encoding(b: u8) -> bool {
    !(0x20..0x7f).contains(&b) || b" \"#%&+:;<=>?@[\\]^`{|}".contains(&b)
}

/// URL-encodes a value the way FreeSWITCH serialises plain events. Unlike FreeSWITCH it always
/// encodes `%`, so that decoding is an exact inverse.
pub(crate) fn url_encode_into(value: &[u8], dst: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value {
        if needs_url_encoding(b) {
            dst.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        } else {
            dst.push(b);
        }
    }
}

/// Bytes as text, borrowed when valid UTF-8 (the common case, checked by the fast validator),
/// with invalid sequences replaced otherwise.
///
/// ```
/// use std::borrow::Cow;
/// assert!(matches!(esl::proto::text(b"+OK"), Cow::Borrowed("+OK")));
/// assert_eq!(esl::proto::text(b"a\xffb"), "a\u{fffd}b");
/// ```
pub fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Turns decoded bytes into text, replacing invalid UTF-8 rather than failing.
pub(crate) fn into_text(bytes: Cow<'_, [u8]>) -> Cow<'_, str> {
    match bytes {
        Cow::Borrowed(b) => text(b),
        Cow::Owned(v) => match String::from_utf8(v) {
            Ok(s) => Cow::Owned(s),
            Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        },
    }
}

/// Unescapes XML character and entity references; malformed references are kept as written.
pub(crate) fn xml_unescape(raw: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr(b'&', raw).is_none() {
        return Cow::Borrowed(raw);
    }
    let text = String::from_utf8_lossy(raw);
    match quick_xml::escape::unescape(&text) {
        Ok(unescaped) => Cow::Owned(unescaped.into_owned().into_bytes()),
        Err(_) => Cow::Owned(text.into_owned().into_bytes()),
    }
}

/// Unescapes the inside of a JSON string (the bytes between its quotes).
pub(crate) fn json_unescape(inner: &[u8]) -> Cow<'_, str> {
    if memchr::memchr(b'\\', inner).is_none() {
        return text(inner);
    }
    let mut quoted = Vec::with_capacity(inner.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(inner);
    quoted.push(b'"');
    match serde_json::from_slice::<String>(&quoted) {
        Ok(s) => Cow::Owned(s),
        // The scanner only hands over well-delimited strings; a bad escape inside one is
        // shown as written rather than dropped.
        Err(_) => Cow::Owned(String::from_utf8_lossy(inner).into_owned()),
    }
}

/// The items of a JSON array of strings (other scalars are given as their JSON text).
pub(crate) fn json_array_items(raw: &[u8]) -> Vec<String> {
    match serde_json::from_slice::<Vec<serde_json::Value>>(raw) {
        Ok(items) => items
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        Err(_) => vec![String::from_utf8_lossy(raw).into_owned()],
    }
}

/// Splits a decoded `ARRAY::a|:b` value into its items; `None` if it is not an array.
pub(crate) fn split_array(decoded: &str) -> Option<impl Iterator<Item = &str>> {
    decoded
        .strip_prefix(ARRAY_PREFIX)
        .map(|items| items.split(ARRAY_SEPARATOR))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_decode_borrows_when_nothing_to_decode() {
        assert!(matches!(url_decode(b"plain-value"), Cow::Borrowed(_)));
    }

    #[test]
    fn url_decode_decodes_and_keeps_invalid_sequences() {
        assert_eq!(
            &*url_decode(b"2026-11-21%2011%3A36%3A55"),
            b"2026-11-21 11:36:55"
        );
        assert_eq!(&*url_decode(b"100%"), b"100%");
        assert_eq!(&*url_decode(b"%zz%4"), b"%zz%4");
        assert_eq!(&*url_decode(b"%2BOK%0A"), b"+OK\n");
        assert_eq!(&*url_decode(b"a+b"), b"a+b");
    }

    #[test]
    fn url_encode_matches_freeswitch_for_common_characters() {
        let mut out = Vec::new();
        url_encode_into(b"{a=1,b}x/y &playback(%;", &mut out);
        assert_eq!(out, b"%7Ba%3D1,b%7Dx/y%20%26playback(%25%3B");
    }

    #[test]
    fn url_encode_then_decode_is_identity() {
        let input: Vec<u8> = (0..=255u8).collect();
        let mut out = Vec::new();
        url_encode_into(&input, &mut out);
        assert_eq!(&*url_decode(&out), &input[..]);
    }

    #[test]
    fn xml_and_json_unescape() {
        assert_eq!(&*xml_unescape(b"a &amp; b &lt;c&gt; &#65;"), b"a & b <c> A");
        assert_eq!(&*xml_unescape(b"broken &nope; ref"), b"broken &nope; ref");
        assert_eq!(
            json_unescape(br#"line\nnext \"q\" \u00e9"#),
            "line\nnext \"q\" \u{e9}"
        );
        assert_eq!(json_array_items(br#"["a","b|c",1]"#), vec!["a", "b|c", "1"]);
    }

    #[test]
    fn arrays_split_on_their_separator() {
        let items: Vec<_> = split_array("ARRAY::one|:two|:three").unwrap().collect();
        assert_eq!(items, ["one", "two", "three"]);
        assert!(split_array("one|:two").is_none());
    }
}
