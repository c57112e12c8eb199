//! Reading documents back with quick-xml, to compare structure rather than bytes.

#![allow(dead_code)]

use quick_xml::Reader;
use quick_xml::events::Event;
use std::collections::BTreeMap;

/// An element: name, attributes (decoded) and child elements; whitespace text is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub attrs: BTreeMap<String, String>,
    pub children: Vec<Node>,
    pub text: String,
}

fn node(start: &quick_xml::events::BytesStart<'_>) -> Node {
    let mut attrs = BTreeMap::new();
    for attr in start.attributes() {
        let attr = attr.expect("well-formed attribute");
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Explicit1_0)
            .expect("valid escapes")
            .into_owned();
        attrs.insert(attr.key.as_ref().to_owned(), value);
    }
    Node {
        name: start.name().into_inner().to_owned(),
        attrs,
        children: Vec::new(),
        text: String::new(),
    }
}

/// Parses a whole document strictly (a second root, unclosed or mismatched tags, bad
/// escapes all fail) and returns its root element.
pub fn parse(xml: &[u8]) -> Result<Node, String> {
    let text = std::str::from_utf8(xml).map_err(|e| e.to_string())?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(start) => stack.push(node(&start)),
            Event::Empty(start) => {
                let element = node(&start);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None if root.is_none() => root = Some(element),
                    None => return Err("second root element".into()),
                }
            }
            Event::End(_) => {
                let element = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None if root.is_none() => root = Some(element),
                    None => return Err("second root element".into()),
                }
            }
            Event::Text(t) => {
                let decoded = t.xml10_content();
                if !decoded.trim().is_empty() {
                    let parent = stack.last_mut().ok_or("text outside the root")?;
                    parent.text.push_str(&decoded);
                }
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c,
                    None => match &*r {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(format!("unknown entity &{other};")),
                    },
                };
                stack
                    .last_mut()
                    .ok_or("reference outside the root")?
                    .text
                    .push(c);
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) => {}
            other => return Err(format!("unexpected {other:?}")),
        }
    }
    if !stack.is_empty() {
        return Err("unclosed element".into());
    }
    root.ok_or_else(|| "no root element".into())
}

/// The body of an HTTP message saved in the fixtures.
pub fn http_body(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../fixtures/freeswitch/xml_curl/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 2))
        .expect("an HTTP message");
    raw[at..].to_vec()
}
