//! Reading the one body mod_json_cdr writes that one URL-decoding does not turn into JSON:
//! `encode=true` with `encode-values=true`.
//!
//! FreeSWITCH URL-encodes each variable value, builds the JSON document, then URL-encodes the
//! document, leaving the values' own `%XX` as they are. In the result the structure is `%7B`,
//! `%7D`, `%5B`, `%5D`, `%22`, `%3A` and a bare `,`, and a value's own `"` is also `%22`. So the
//! text is read by its structure: a `%22` inside a string closes it only where what follows can
//! follow a string there (`%3A` after a key, `,%22` or `%7D` after a member, `,` or `%5D` after
//! an element). The first such `%22` is tried first; when the rest of the document then fails
//! to parse, the reader backs up to the last string it closed and lets it run on to the next
//! candidate (depth first, with a bounded number of attempts).
//!
//! What stays ambiguous is refused rather than guessed: a repeated key (a value such as
//! `x","billsec":"0` read as structure) is [`CdrError::Ambiguous`]. A value forged to add a key
//! no other part of the document names cannot be told apart from a real one in this encoding;
//! the deploy file therefore ships an encoding without this ambiguity.
//!
//! Strings in `variables` are values encoded by FreeSWITCH (decoded once, nothing JSON-escaped
//! in them); keys and every other string are JSON strings (decoded, then unescaped).

use super::CdrError;
use super::url::{escaped_byte, percent_decode};
use serde_json::{Map, Value};

/// Parses tried before the body is refused as ambiguous: enough for any real CDR, which needs
/// one or a few.
const MAX_ATTEMPTS: usize = 64;

/// Bytes read over all attempts, at most (so a large hostile body gets fewer attempts: each
/// reads the whole text).
const MAX_BYTES_READ: usize = 512 << 10;

/// The attempts allowed for a text of `len` bytes.
fn attempts(len: usize) -> usize {
    (MAX_BYTES_READ / len.max(1)).clamp(2, MAX_ATTEMPTS)
}

/// Deepest nesting read (FreeSWITCH's documents nest about five levels).
const MAX_DEPTH: usize = 32;

/// Reads an `encode=true` + `encode-values=true` document (the text after `cdr=`).
pub(super) fn read(text: &[u8]) -> Result<Value, CdrError> {
    // For each string-closing candidate met, in order: close there (`true`) or run on.
    let mut plan: Vec<bool> = Vec::new();
    let attempts = attempts(text.len());
    for _ in 0..attempts {
        let mut reader = Reader {
            text,
            pos: 0,
            plan: &plan,
            made: Vec::new(),
            depth: 0,
        };
        match reader.document() {
            Ok(document) => return Ok(document),
            Err(Failed::Repeated(key)) => {
                return Err(CdrError::Ambiguous(format!(
                    "the key {key:?} appears twice when read by structure"
                )));
            }
            Err(Failed::Syntax) => {
                // Back up to the last string closed, and let it run on this time.
                plan = reader.made;
                loop {
                    match plan.pop() {
                        Some(false) => {}
                        Some(true) => break plan.push(false),
                        None => {
                            return Err(CdrError::NotJson(
                                "URL-encoded text that no reading of its structure makes JSON"
                                    .into(),
                            ));
                        }
                    }
                }
            }
        }
    }
    Err(CdrError::Ambiguous(format!(
        "no reading of its structure within {attempts} attempts"
    )))
}

/// Why one reading failed.
enum Failed {
    /// The text does not parse this way.
    Syntax,
    /// It parses, but an object repeats this key.
    Repeated(String),
}

/// The structural characters, as they appear outside strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    OpenObject,
    CloseObject,
    OpenArray,
    CloseArray,
    Quote,
    Colon,
    Comma,
}

/// How a string's text is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    /// A JSON string, URL-encoded: decoded, then unescaped.
    Json,
    /// A variable value encoded by FreeSWITCH: decoded only.
    Value,
}

/// What may follow a string's closing quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Follows {
    /// A key: `:`.
    Colon,
    /// A member's value: `,"` or `}`.
    Member,
    /// An array element: `,` or `]`.
    Element,
}

/// Where an object is, which says how its values are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The document.
    Top,
    /// The `variables` object of the document.
    Variables,
    /// Anywhere else.
    Other,
}

/// One reading of the text, following `plan` at each string-closing candidate and closing at
/// the first candidate beyond it.
struct Reader<'a> {
    text: &'a [u8],
    pos: usize,
    plan: &'a [bool],
    /// The choice made at each candidate met so far.
    made: Vec<bool>,
    depth: usize,
}

impl Reader<'_> {
    fn token_at(&self, at: usize) -> Option<(Token, usize)> {
        match self.text.get(at)? {
            b',' => Some((Token::Comma, 1)),
            b'%' => {
                let token = match escaped_byte(self.text, at)? {
                    b'{' => Token::OpenObject,
                    b'}' => Token::CloseObject,
                    b'[' => Token::OpenArray,
                    b']' => Token::CloseArray,
                    b'"' => Token::Quote,
                    b':' => Token::Colon,
                    b',' => Token::Comma,
                    _ => return None,
                };
                Some((token, 3))
            }
            _ => None,
        }
    }

    fn peek(&self) -> Option<Token> {
        self.token_at(self.pos).map(|(token, _)| token)
    }

    fn expect(&mut self, expected: Token) -> Result<(), Failed> {
        match self.token_at(self.pos) {
            Some((token, len)) if token == expected => {
                self.pos += len;
                Ok(())
            }
            _ => Err(Failed::Syntax),
        }
    }

    fn document(&mut self) -> Result<Value, Failed> {
        self.expect(Token::OpenObject)?;
        let document = self.object(Scope::Top)?;
        if self.text[self.pos..].trim_ascii().is_empty() {
            Ok(document)
        } else {
            Err(Failed::Syntax)
        }
    }

    /// An object, after its `{`.
    fn object(&mut self, scope: Scope) -> Result<Value, Failed> {
        self.enter()?;
        let mut object = Map::new();
        if self.peek() == Some(Token::CloseObject) {
            self.expect(Token::CloseObject)?;
            self.depth -= 1;
            return Ok(Value::Object(object));
        }
        loop {
            self.expect(Token::Quote)?;
            let key = self.string(Text::Json, Follows::Colon)?;
            self.expect(Token::Colon)?;
            let inner = if scope == Scope::Top && key == "variables" {
                Scope::Variables
            } else {
                Scope::Other
            };
            let text = if scope == Scope::Variables {
                Text::Value
            } else {
                Text::Json
            };
            let value = self.value(text, Follows::Member, inner)?;
            if object.contains_key(&key) {
                return Err(Failed::Repeated(key));
            }
            object.insert(key, value);
            match self.token_at(self.pos) {
                Some((Token::Comma, len)) => self.pos += len,
                Some((Token::CloseObject, len)) => {
                    self.pos += len;
                    self.depth -= 1;
                    return Ok(Value::Object(object));
                }
                _ => return Err(Failed::Syntax),
            }
        }
    }

    /// An array, after its `[`.
    fn array(&mut self) -> Result<Value, Failed> {
        self.enter()?;
        let mut items = Vec::new();
        if self.peek() == Some(Token::CloseArray) {
            self.expect(Token::CloseArray)?;
            self.depth -= 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(Text::Json, Follows::Element, Scope::Other)?);
            match self.token_at(self.pos) {
                Some((Token::Comma, len)) => self.pos += len,
                Some((Token::CloseArray, len)) => {
                    self.pos += len;
                    self.depth -= 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(Failed::Syntax),
            }
        }
    }

    fn enter(&mut self) -> Result<(), Failed> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Failed::Syntax);
        }
        Ok(())
    }

    fn value(&mut self, text: Text, follows: Follows, scope: Scope) -> Result<Value, Failed> {
        match self.token_at(self.pos) {
            Some((Token::OpenObject, len)) => {
                self.pos += len;
                self.object(scope)
            }
            Some((Token::OpenArray, len)) => {
                self.pos += len;
                self.array()
            }
            Some((Token::Quote, len)) => {
                self.pos += len;
                self.string(text, follows).map(Value::String)
            }
            _ => self.literal(),
        }
    }

    /// A number, `true`, `false` or `null`: everything up to the next `,`, `}` or `]`.
    fn literal(&mut self) -> Result<Value, Failed> {
        let start = self.pos;
        while self.pos < self.text.len()
            && !matches!(
                self.token_at(self.pos),
                Some((Token::Comma | Token::CloseObject | Token::CloseArray, _))
            )
        {
            self.pos += 1;
        }
        let decoded = percent_decode(&self.text[start..self.pos], true);
        match serde_json::from_slice::<Value>(&decoded) {
            Ok(value @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => Ok(value),
            _ => Err(Failed::Syntax),
        }
    }

    /// A string, after its opening quote: up to the quote the plan (or, beyond it, the first
    /// candidate) closes it at.
    fn string(&mut self, text: Text, follows: Follows) -> Result<String, Failed> {
        let start = self.pos;
        let mut at = start;
        loop {
            let quote = at + find_quote(&self.text[at..]).ok_or(Failed::Syntax)?;
            let after = quote + 3;
            if self.may_follow(after, follows) {
                let close = self.plan.get(self.made.len()).copied().unwrap_or(true);
                self.made.push(close);
                if close {
                    self.pos = after;
                    return decode(&self.text[start..quote], text);
                }
            }
            at = after;
        }
    }

    fn may_follow(&self, at: usize, follows: Follows) -> bool {
        let next = self.token_at(at).map(|(token, _)| token);
        match follows {
            Follows::Colon => next == Some(Token::Colon),
            Follows::Member => {
                next == Some(Token::CloseObject)
                    || (next == Some(Token::Comma)
                        && self.token_at(at + 1).map(|(token, _)| token) == Some(Token::Quote))
            }
            Follows::Element => matches!(next, Some(Token::Comma | Token::CloseArray)),
        }
    }
}

/// Where the next `%22` starts.
fn find_quote(text: &[u8]) -> Option<usize> {
    text.windows(3).position(|window| window == b"%22")
}

/// A string's text, decoded as its place says.
fn decode(encoded: &[u8], text: Text) -> Result<String, Failed> {
    let decoded = percent_decode(encoded, true);
    match text {
        Text::Value => Ok(String::from_utf8_lossy(&decoded).into_owned()),
        Text::Json => {
            let mut quoted = Vec::with_capacity(decoded.len() + 2);
            quoted.push(b'"');
            quoted.extend_from_slice(&String::from_utf8_lossy(&decoded).into_owned().into_bytes());
            quoted.push(b'"');
            serde_json::from_slice::<String>(&quoted).map_err(|_| Failed::Syntax)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(text: &str) -> Result<Value, CdrError> {
        read(text.as_bytes())
    }

    #[test]
    fn a_value_quote_is_told_from_the_structure() {
        // {"variables":{"caller_id":"\"Outbound Call\" <1000>","billsec":"5"}}
        let text = "%7B%22variables%22%3A%7B%22caller_id%22%3A%22%22Outbound%20Call%22%20%3C1000%3E%22,%22billsec%22%3A%225%22%7D%7D";
        let document = read_str(text).unwrap();
        assert_eq!(
            document["variables"]["caller_id"],
            "\"Outbound Call\" <1000>"
        );
        assert_eq!(document["variables"]["billsec"], "5");
    }

    #[test]
    fn a_value_that_looks_like_json_is_read_after_backing_up() {
        // A variable holding {"a":"b"}, then another member.
        let text = "%7B%22variables%22%3A%7B%22json%22%3A%22%7B%22a%22%3A%22b%22%7D%22,%22x%22%3A%221%22%7D%7D";
        let document = read_str(text).unwrap();
        assert_eq!(document["variables"]["json"], r#"{"a":"b"}"#);
        assert_eq!(document["variables"]["x"], "1");
    }

    #[test]
    fn a_value_read_as_a_repeated_key_is_refused() {
        // caller_id_name = x","billsec":"0, then the real billsec.
        let text = "%7B%22variables%22%3A%7B%22caller_id_name%22%3A%22x%22,%22billsec%22%3A%220%22,%22billsec%22%3A%225%22%7D%7D";
        assert!(matches!(read_str(text), Err(CdrError::Ambiguous(_))));
    }

    #[test]
    fn strings_outside_variables_are_json_strings() {
        // {"callflow":[{"caller_profile":{"caller_id_name":"a \"b\" \\ c"}}],"n":12}
        let text = "%7B%22callflow%22%3A%5B%7B%22caller_profile%22%3A%7B%22caller_id_name%22%3A%22a%20%5C%22b%5C%22%20%5C%5C%20c%22%7D%7D%5D,%22n%22%3A12%7D";
        let document = read_str(text).unwrap();
        assert_eq!(
            document["callflow"][0]["caller_profile"]["caller_id_name"],
            r#"a "b" \ c"#
        );
        assert_eq!(document["n"], 12);
    }

    #[test]
    fn hostile_texts_end_with_an_error() {
        for text in [
            "",
            "%7B",
            "%7B%22",
            "%7B%22a%22%3A%22%22%22%22%22%22%22%22%22%22%22%22",
            &"%5B".repeat(100),
            &format!("%7B%22a%22%3A{}", "%7B%22a%22%3A".repeat(40)),
        ] {
            assert!(read_str(text).is_err(), "{text}");
        }
    }

    #[test]
    fn many_candidates_are_bounded() {
        // Every value closes early; nothing ever parses: the attempts are bounded.
        let value = "%22,%22".repeat(50);
        let text = format!("%7B%22variables%22%3A%7B%22a%22%3A%22{value}%7D");
        assert!(read_str(&text).is_err());
    }
}
