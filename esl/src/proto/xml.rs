//! Indexes a `text/event-xml` body (`<event><headers>...</headers><body>...</body></event>`)
//! with quick-xml, keeping header names and raw values as ranges into the body.

use super::span::{HeaderSpan, IndexError};
use quick_xml::Reader;
use quick_xml::events::Event as XmlEvent;
use std::ops::Range;

/// The raw text of an element and whether it holds entity references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawText {
    pub(crate) range: Range<usize>,
    pub(crate) escaped: bool,
}

/// What the event document holds besides its headers.
#[derive(Debug, Default)]
pub(crate) struct XmlParts {
    /// `<body>`, if present.
    pub(crate) body: Option<RawText>,
    /// `<Content-Length>` beside the body, if present.
    pub(crate) content_length: Option<RawText>,
}

struct Walker<'a> {
    reader: Reader<&'a [u8]>,
    buf: &'a [u8],
}

impl<'a> Walker<'a> {
    fn position(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    fn fail<T>(&self, reason: &'static str) -> Result<T, IndexError> {
        Err(IndexError::Malformed {
            at: self.position().min(self.buf.len()),
            reason,
        })
    }

    fn next(&mut self) -> Result<(usize, XmlEvent<'a>), IndexError> {
        let before = self.position();
        match self.reader.read_event() {
            Ok(event) => Ok((before, event)),
            Err(_) => self.fail("malformed XML"),
        }
    }

    /// The name of an element whose start tag began at `tag_start`, as a range into the buffer.
    fn name_range(&self, tag_start: usize, name: &[u8]) -> Result<Range<usize>, IndexError> {
        let start = tag_start + 1;
        let range = start..start + name.len();
        if self.buf.get(range.clone()) == Some(name) {
            Ok(range)
        } else {
            self.fail("unexpected tag layout")
        }
    }

    /// Reads up to the end tag of the element just opened; its content must be text only.
    fn text_until_end(&mut self) -> Result<RawText, IndexError> {
        let start = self.position();
        let mut escaped = false;
        loop {
            let (before, event) = self.next()?;
            match event {
                XmlEvent::Text(_) => {}
                XmlEvent::GeneralRef(_) | XmlEvent::CData(_) => escaped = true,
                XmlEvent::Comment(_) => {}
                XmlEvent::End(_) => {
                    return Ok(RawText {
                        range: start..before,
                        escaped,
                    });
                }
                XmlEvent::Eof => return self.fail("unexpected end of document"),
                _ => return self.fail("unexpected markup inside a value"),
            }
        }
    }
}

/// Indexes the headers (pushed onto `out`) and finds the body of an XML event.
pub(crate) fn index_event(
    buf: &[u8],
    max_headers: usize,
    out: &mut Vec<HeaderSpan>,
) -> Result<XmlParts, IndexError> {
    let mut reader = Reader::from_reader(buf);
    reader.config_mut().check_end_names = true;
    let mut w = Walker { reader, buf };
    let mut parts = XmlParts::default();

    // The root element, after any declaration, comment or whitespace.
    loop {
        let (_, event) = w.next()?;
        match event {
            XmlEvent::Start(e) if e.name().into_inner() == "event" => break,
            XmlEvent::Decl(_) | XmlEvent::Comment(_) | XmlEvent::Text(_) => {}
            _ => return w.fail("expected <event>"),
        }
    }
    loop {
        let (tag_start, event) = w.next()?;
        match event {
            XmlEvent::Start(e) if e.name().into_inner() == "headers" => {
                index_headers(&mut w, max_headers, out)?;
            }
            XmlEvent::Empty(e) if e.name().into_inner() == "headers" => {}
            XmlEvent::Start(e) => {
                let name = w.name_range(tag_start, e.name().into_inner().as_bytes())?;
                let text = w.text_until_end()?;
                match &buf[name] {
                    b"body" => parts.body = Some(text),
                    b"Content-Length" => parts.content_length = Some(text),
                    _ => {}
                }
            }
            XmlEvent::Empty(e) if e.name().into_inner() == "body" => {
                let at = w.position();
                parts.body = Some(RawText {
                    range: at..at,
                    escaped: false,
                });
            }
            XmlEvent::Empty(_) | XmlEvent::Text(_) | XmlEvent::Comment(_) => {}
            XmlEvent::End(_) => break,
            XmlEvent::Eof => return w.fail("unexpected end of document"),
            _ => return w.fail("unexpected markup in <event>"),
        }
    }
    loop {
        match w.next()?.1 {
            XmlEvent::Eof => return Ok(parts),
            XmlEvent::Text(t)
                if t.clone()
                    .into_inner()
                    .bytes()
                    .all(|b| b.is_ascii_whitespace()) => {}
            XmlEvent::Comment(_) => {}
            _ => return w.fail("trailing content after </event>"),
        }
    }
}

fn index_headers(
    w: &mut Walker<'_>,
    max_headers: usize,
    out: &mut Vec<HeaderSpan>,
) -> Result<(), IndexError> {
    loop {
        let (tag_start, event) = w.next()?;
        let (name, text) = match event {
            XmlEvent::Start(e) => {
                let name = w.name_range(tag_start, e.name().into_inner().as_bytes())?;
                (name, w.text_until_end()?)
            }
            XmlEvent::Empty(e) => {
                let name = w.name_range(tag_start, e.name().into_inner().as_bytes())?;
                let at = w.position();
                let empty = RawText {
                    range: at..at,
                    escaped: false,
                };
                (name, empty)
            }
            XmlEvent::Text(_) | XmlEvent::Comment(_) => continue,
            XmlEvent::End(_) => return Ok(()),
            XmlEvent::Eof => return w.fail("unexpected end of document"),
            _ => return w.fail("unexpected markup in <headers>"),
        };
        if out.len() >= max_headers {
            return Err(IndexError::TooManyHeaders { at: tag_start });
        }
        let flags = if text.escaped {
            HeaderSpan::VALUE_ESCAPED
        } else {
            0
        };
        out.push(HeaderSpan::new(name, text.range, flags));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_headers_and_body() {
        let doc = "<event>\n  <headers>\n    <Event-Name>API</Event-Name>\n    <Empty/>\n    \
<Amp>a&amp;b</Amp>\n  </headers>\n  <Content-Length>3</Content-Length>\n  <body>x&lt;y\n  </body>\n</event>\n";
        let mut spans = Vec::new();
        let parts = index_event(doc.as_bytes(), 10, &mut spans).unwrap();
        let pairs: Vec<_> = spans
            .iter()
            .map(|s| (&doc[s.name()], &doc[s.value()], s.flags))
            .collect();
        assert_eq!(pairs[0], ("Event-Name", "API", 0));
        assert_eq!(pairs[1], ("Empty", "", 0));
        assert_eq!(pairs[2], ("Amp", "a&amp;b", HeaderSpan::VALUE_ESCAPED));
        let body = parts.body.unwrap();
        assert_eq!(&doc[body.range], "x&lt;y\n  ");
        assert!(body.escaped);
        assert_eq!(&doc[parts.content_length.unwrap().range], "3");
    }

    #[test]
    fn malformed_documents_are_errors() {
        for bad in [
            "",
            "<other/>",
            "<event><headers><A>1</B></headers></event>",
            "<event><headers><A><B/></A></headers></event>",
            "<event><headers>",
            "<event></event><event></event>",
        ] {
            let mut spans = Vec::new();
            assert!(
                index_event(bad.as_bytes(), 10, &mut spans).is_err(),
                "{bad:?}"
            );
        }
    }
}
