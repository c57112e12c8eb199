//! Indexes the flat JSON object of a `text/event-json` body: key and value ranges, no copies.

use super::span::{HeaderSpan, IndexError};
use std::ops::Range;

/// How deep arrays or objects inside a value may nest before we refuse the body.
const MAX_DEPTH: usize = 32;

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn fail<T>(&self, reason: &'static str) -> Result<T, IndexError> {
        Err(IndexError::Malformed {
            at: self.pos,
            reason,
        })
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.buf.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8, reason: &'static str) -> Result<(), IndexError> {
        self.skip_whitespace();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            self.fail(reason)
        }
    }

    /// A string starting at the current `"`: the range between the quotes and whether it holds
    /// escapes.
    fn string(&mut self) -> Result<(Range<usize>, bool), IndexError> {
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        loop {
            let Some(found) = memchr::memchr2(b'"', b'\\', &self.buf[self.pos..]) else {
                self.pos = self.buf.len();
                return self.fail("unterminated string");
            };
            self.pos += found;
            if self.buf[self.pos] == b'"' {
                self.pos += 1;
                return Ok((start..self.pos - 1, escaped));
            }
            escaped = true;
            self.pos += 2;
            if self.pos > self.buf.len() {
                self.pos = self.buf.len();
                return self.fail("unterminated string");
            }
        }
    }

    /// Skips any value, returning its range and span flags. Strings are returned without quotes.
    fn value(&mut self) -> Result<(Range<usize>, u8), IndexError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'"') => {
                let (range, escaped) = self.string()?;
                let flags = if escaped {
                    HeaderSpan::VALUE_ESCAPED
                } else {
                    0
                };
                Ok((range, flags))
            }
            Some(b'[' | b'{') => {
                let start = self.pos;
                self.skip_nested()?;
                Ok((start..self.pos, HeaderSpan::JSON_ARRAY))
            }
            Some(_) => {
                let start = self.pos;
                while let Some(b) = self.peek() {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.pos += 1;
                }
                if !is_scalar(&self.buf[start..self.pos]) {
                    self.pos = start;
                    return self.fail("expected a value");
                }
                Ok((start..self.pos, HeaderSpan::JSON_SCALAR))
            }
            None => self.fail("expected a value"),
        }
    }

    /// Skips a whole array or object, strings included, with bounded nesting.
    fn skip_nested(&mut self) -> Result<(), IndexError> {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b'[' | b'{' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return self.fail("nested too deeply");
                    }
                }
                b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        self.fail("unterminated array or object")
    }
}

/// `true`, `false`, `null` or a JSON number.
fn is_scalar(token: &[u8]) -> bool {
    if matches!(token, b"true" | b"false" | b"null") {
        return true;
    }
    let digits = token.strip_prefix(b"-").unwrap_or(token);
    digits.first().is_some_and(u8::is_ascii_digit)
        && digits
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
}

/// Indexes every `"key": value` pair of the object that makes up `buf`.
pub(crate) fn index_object(
    buf: &[u8],
    max_headers: usize,
    out: &mut Vec<HeaderSpan>,
) -> Result<(), IndexError> {
    let mut cur = Cursor { buf, pos: 0 };
    cur.expect(b'{', "expected '{'")?;
    cur.skip_whitespace();
    if cur.peek() == Some(b'}') {
        cur.pos += 1;
    } else {
        loop {
            cur.skip_whitespace();
            if cur.peek() != Some(b'"') {
                return cur.fail("expected a string key");
            }
            if out.len() >= max_headers {
                return Err(IndexError::TooManyHeaders { at: cur.pos });
            }
            let (name, name_escaped) = cur.string()?;
            cur.expect(b':', "expected ':'")?;
            let (value, mut flags) = cur.value()?;
            if name_escaped {
                flags |= HeaderSpan::NAME_ESCAPED;
            }
            out.push(HeaderSpan::new(name, value, flags));
            cur.skip_whitespace();
            match cur.peek() {
                Some(b',') => cur.pos += 1,
                Some(b'}') => {
                    cur.pos += 1;
                    break;
                }
                _ => return cur.fail("expected ',' or '}'"),
            }
        }
    }
    cur.skip_whitespace();
    if cur.pos != buf.len() {
        return cur.fail("trailing bytes after the object");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(input: &str) -> Result<Vec<(String, String, u8)>, IndexError> {
        let mut spans = Vec::new();
        index_object(input.as_bytes(), 100, &mut spans)?;
        Ok(spans
            .iter()
            .map(|s| {
                (
                    input[s.name()].to_string(),
                    input[s.value()].to_string(),
                    s.flags,
                )
            })
            .collect())
    }

    #[test]
    fn indexes_strings_arrays_and_scalars() {
        let got = index(r#"{"A":"1","B":["x","y"], "C" : 5,"D":"q\"t","E":null}"#).unwrap();
        assert_eq!(got[0], ("A".into(), "1".into(), 0));
        assert_eq!(
            got[1],
            ("B".into(), r#"["x","y"]"#.into(), HeaderSpan::JSON_ARRAY)
        );
        assert_eq!(got[2], ("C".into(), "5".into(), HeaderSpan::JSON_SCALAR));
        assert_eq!(
            got[3],
            ("D".into(), r#"q\"t"#.into(), HeaderSpan::VALUE_ESCAPED)
        );
        assert_eq!(got[4].1, "null");
    }

    #[test]
    fn empty_object() {
        assert!(index(" {} ").unwrap().is_empty());
    }

    #[test]
    fn malformed_objects_are_errors() {
        for bad in [
            "",
            "[]",
            "{",
            r#"{"a""#,
            r#"{"a":}"#,
            r#"{"a":"b""#,
            r#"{"a":"b"} x"#,
            r#"{a:1}"#,
            r#"{"a":"\"#,
            r#"{"a":[[[}"#,
            r#"{"a":oops}"#,
            r#"{"a":-}"#,
        ] {
            assert!(index(bad).is_err(), "{bad:?} should fail");
        }
        let deep = format!(r#"{{"a":{}}}"#, "[".repeat(100));
        assert!(matches!(
            index(&deep).unwrap_err(),
            IndexError::Malformed {
                reason: "nested too deeply",
                ..
            }
        ));
    }
}
