//! Serialises straight into a byte buffer. Element and attribute names come from this crate;
//! every value passes through [`escape_into`], so no caller string can ever become markup.

/// What each byte needs: 0 nothing, 1 an entity or character reference, 2 a closer look
/// (`$`, and 0xEF, which starts the UTF-8 of the non-characters U+FFFE and U+FFFF).
const CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = 1;
        b += 1;
    }
    table[b'&' as usize] = 1;
    table[b'<' as usize] = 1;
    table[b'>' as usize] = 1;
    table[b'"' as usize] = 1;
    table[b'\'' as usize] = 1;
    table[b'$' as usize] = 2;
    table[0xEF] = 2;
    table
};

/// U+FFFD, for what XML 1.0 cannot carry at all.
const REPLACEMENT: &[u8] = "\u{fffd}".as_bytes();

/// Appends `value` escaped for an attribute value or text:
/// - `& < > " '` become entities; tab, newline and carriage return become character references
///   (so parsers do not normalise them to spaces);
/// - other control characters and the non-characters U+FFFE/U+FFFF, which XML 1.0 cannot
///   represent even as references, become U+FFFD;
/// - the first `$` of `$$` becomes `&#36;`: FreeSWITCH pre-processes fetched XML like its own
///   files and would otherwise expand `$${global_variable}` found in a caller's data.
///
/// ```
/// let mut out = Vec::new();
/// xmlcurl::escape_into("a<b & \"c\" $${pw}", &mut out);
/// assert_eq!(out, b"a&lt;b &amp; &quot;c&quot; &#36;${pw}");
/// ```
pub fn escape_into(value: &str, out: &mut Vec<u8>) {
    let bytes = value.as_bytes();
    // Most values need nothing: find the first byte that might, and copy up to it at once.
    let Some(first) = bytes.iter().position(|&b| CLASS[b as usize] != 0) else {
        out.extend_from_slice(bytes);
        return;
    };
    let mut start = 0;
    let mut i = first;
    while i < bytes.len() {
        let b = bytes[i];
        match CLASS[b as usize] {
            0 => {
                i += 1;
                continue;
            }
            2 if b == b'$' && bytes.get(i + 1) != Some(&b'$') => {
                i += 1;
                continue;
            }
            2 if b == 0xEF && !matches!(bytes.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => {
                i += 1;
                continue;
            }
            _ => {}
        }
        out.extend_from_slice(&bytes[start..i]);
        let (replacement, width): (&[u8], usize) = match b {
            b'&' => (b"&amp;", 1),
            b'<' => (b"&lt;", 1),
            b'>' => (b"&gt;", 1),
            b'"' => (b"&quot;", 1),
            b'\'' => (b"&apos;", 1),
            b'\t' => (b"&#9;", 1),
            b'\n' => (b"&#10;", 1),
            b'\r' => (b"&#13;", 1),
            b'$' => (b"&#36;", 1),
            0xEF => (REPLACEMENT, 3),
            _ => (REPLACEMENT, 1),
        };
        out.extend_from_slice(replacement);
        i += width;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Writes elements with indentation. Names are `&'static str` on purpose: only this crate
/// chooses them.
#[derive(Debug)]
pub(crate) struct XmlWriter<'o> {
    out: &'o mut Vec<u8>,
    depth: usize,
}

impl<'o> XmlWriter<'o> {
    /// Starts a FreeSWITCH document (`<document type="freeswitch/xml">`).
    pub(crate) fn document(out: &'o mut Vec<u8>) -> Self {
        out.extend_from_slice(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<document type=\"freeswitch/xml\">\n",
        );
        Self { out, depth: 1 }
    }

    /// Ends the document.
    pub(crate) fn finish(self) {
        self.out.extend_from_slice(b"</document>\n");
    }

    fn indent(&mut self) {
        const SPACES: &[u8; 64] =
            b"                                                                ";
        let width = (self.depth * 2).min(SPACES.len());
        self.out.extend_from_slice(&SPACES[..width]);
    }

    /// `<name` — follow with [`XmlWriter::attr`]s, then [`XmlWriter::open_end`] or
    /// [`XmlWriter::empty_end`].
    pub(crate) fn start(&mut self, name: &'static str) -> &mut Self {
        self.indent();
        self.out.push(b'<');
        self.out.extend_from_slice(name.as_bytes());
        self
    }

    /// ` name="value"`, the value escaped.
    pub(crate) fn attr(&mut self, name: &'static str, value: &str) -> &mut Self {
        self.out.reserve(name.len() + value.len() + 4);
        self.out.push(b' ');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"=\"");
        escape_into(value, self.out);
        self.out.push(b'"');
        self
    }

    /// An attribute only when there is a value.
    pub(crate) fn attr_opt(&mut self, name: &'static str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            self.attr(name, value);
        }
        self
    }

    /// An unsigned number attribute.
    pub(crate) fn attr_num(&mut self, name: &'static str, value: u64) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut n = value;
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.out.push(b' ');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"=\"");
        self.out.extend_from_slice(&digits[at..]);
        self.out.push(b'"');
        self
    }

    /// `>`: children follow; close with [`XmlWriter::close`].
    pub(crate) fn open_end(&mut self) {
        self.out.extend_from_slice(b">\n");
        self.depth += 1;
    }

    /// `/>`: no children.
    pub(crate) fn empty_end(&mut self) {
        self.out.extend_from_slice(b"/>\n");
    }

    /// `</name>`.
    pub(crate) fn close(&mut self, name: &'static str) {
        self.depth -= 1;
        self.indent();
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b">\n");
    }

    /// `<name>` with no attributes.
    pub(crate) fn open(&mut self, name: &'static str) {
        self.start(name).open_end();
    }

    /// A `<wrapper>` of `<item name value/>` pairs (`params`/`param`, `variables`/`variable`),
    /// written only when there are pairs.
    pub(crate) fn pairs<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        wrapper: &'static str,
        item: &'static str,
        pairs: &[(K, V)],
    ) {
        if pairs.is_empty() {
            return;
        }
        self.open(wrapper);
        self.items(item, pairs);
        self.close(wrapper);
    }

    /// `<item name value/>` for each pair, without a wrapper (queue and gateway params).
    pub(crate) fn items<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        item: &'static str,
        pairs: &[(K, V)],
    ) {
        for (name, value) in pairs {
            self.start(item)
                .attr("name", name.as_ref())
                .attr("value", value.as_ref())
                .empty_end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(value: &str) -> String {
        let mut out = Vec::new();
        escape_into(value, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_text_is_copied() {
        assert_eq!(
            escaped("user_context default 1000"),
            "user_context default 1000"
        );
        assert_eq!(escaped("${caller_id_number}"), "${caller_id_number}");
        assert_eq!(escaped("€ ünïcode"), "€ ünïcode");
    }

    #[test]
    fn markup_and_whitespace_are_escaped() {
        assert_eq!(
            escaped("\"/><x y='1'>&"),
            "&quot;/&gt;&lt;x y=&apos;1&apos;&gt;&amp;"
        );
        assert_eq!(escaped("a\tb\nc\rd"), "a&#9;b&#10;c&#13;d");
    }

    #[test]
    fn what_xml_cannot_carry_is_replaced() {
        assert_eq!(escaped("a\u{0}b\u{1b}c"), "a\u{fffd}b\u{fffd}c");
        assert_eq!(
            escaped("x\u{fffe}y\u{ffff}z\u{fffd}"),
            "x\u{fffd}y\u{fffd}z\u{fffd}"
        );
    }

    #[test]
    fn global_variables_are_not_expanded_by_freeswitch() {
        assert_eq!(escaped("$${hold_music}"), "&#36;${hold_music}");
        assert_eq!(escaped("$$$"), "&#36;&#36;$");
    }
}
