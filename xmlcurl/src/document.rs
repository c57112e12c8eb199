//! What every document has in common, and the not-found answer.

/// A document FreeSWITCH accepts from mod_xml_curl.
pub trait Document {
    /// Appends the whole document (declaration included) to `out`; reusing one buffer across
    /// requests avoids an allocation per answer.
    fn write_xml(&self, out: &mut Vec<u8>);

    /// The whole document.
    fn to_xml(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        self.write_xml(&mut out);
        out
    }
}

/// The answer that makes FreeSWITCH try its next binding, then its static configuration.
///
/// ```
/// use xmlcurl::{Document, NotFound};
/// let xml = String::from_utf8(NotFound.to_xml()).unwrap();
/// assert!(xml.contains(r#"<result status="not found"/>"#));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotFound;

impl NotFound {
    /// The document's bytes, without building anything.
    pub const BYTES: &'static [u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<document type=\"freeswitch/xml\">\n  <section name=\"result\">\n    <result status=\"not found\"/>\n  </section>\n</document>\n";
}

impl Document for NotFound {
    fn write_xml(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(Self::BYTES);
    }
}
