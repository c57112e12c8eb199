//! JSON parsing that refuses a repeated key in any object.
//!
//! FreeSWITCH writes each channel variable once; a repeated key can only come from a value
//! that was read as structure (an ambiguous encoding, or a forged body). `serde_json` would
//! keep the last one silently, letting such a value override, say, `billsec`.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::fmt;

/// Why [`parse`] failed.
#[derive(Debug)]
pub(crate) enum ParseError {
    /// Not JSON.
    Syntax(serde_json::Error),
    /// An object repeats this key.
    Repeated(String),
}

/// Parses `text`, refusing a repeated key.
pub(crate) fn parse(text: &str) -> Result<Value, ParseError> {
    let repeated = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = Unique {
        repeated: &repeated,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    match (parsed, repeated.into_inner()) {
        (_, Some(key)) => Err(ParseError::Repeated(key)),
        (Ok(value), None) => Ok(value),
        (Err(error), None) => Err(ParseError::Syntax(error)),
    }
}

/// A JSON value whose objects have no repeated key; the first repeated key found is kept in
/// `repeated` (the parse then fails).
#[derive(Clone, Copy)]
struct Unique<'a> {
    repeated: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Unique<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self)?;
            if object.contains_key(&key) {
                let error = de::Error::custom(format_args!("repeated key {key:?}"));
                *self.repeated.borrow_mut() = Some(key);
                return Err(error);
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_is_named() {
        let Err(ParseError::Repeated(key)) = parse(r#"{"a":{"billsec":"0","billsec":"5"}}"#) else {
            panic!("a repeated key must fail");
        };
        assert_eq!(key, "billsec");
    }

    #[test]
    fn a_document_parses_whole() {
        let value = parse(r#"{"a":["1",2,true,null,{"b":"c"}]}"#).unwrap();
        assert_eq!(value["a"][4]["b"], "c");
        assert!(matches!(parse(r#"{"a":1} x"#), Err(ParseError::Syntax(_))));
    }
}
