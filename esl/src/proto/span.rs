//! Byte ranges into a frame's buffer, so headers are indexed without copying.

use std::ops::Range;

/// Where one header's name and value sit inside a buffer, plus how the value is encoded there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeaderSpan {
    pub(crate) name_start: u32,
    pub(crate) name_end: u32,
    pub(crate) value_start: u32,
    pub(crate) value_end: u32,
    pub(crate) flags: u8,
}

impl HeaderSpan {
    /// The name needs unescaping before comparison (JSON only).
    pub(crate) const NAME_ESCAPED: u8 = 1;
    /// The value carries escapes of its container format (JSON `\`, XML `&`).
    pub(crate) const VALUE_ESCAPED: u8 = 2;
    /// The value is a JSON array, kept raw.
    pub(crate) const JSON_ARRAY: u8 = 4;
    /// The value is a JSON scalar other than a string (number, bool, null), kept raw.
    pub(crate) const JSON_SCALAR: u8 = 8;

    pub(crate) fn new(name: Range<usize>, value: Range<usize>, flags: u8) -> Self {
        // Callers guarantee offsets fit: buffers are capped below u32::MAX by `Limits`.
        Self {
            name_start: name.start as u32,
            name_end: name.end as u32,
            value_start: value.start as u32,
            value_end: value.end as u32,
            flags,
        }
    }

    pub(crate) fn name(&self) -> Range<usize> {
        self.name_start as usize..self.name_end as usize
    }

    pub(crate) fn value(&self) -> Range<usize> {
        self.value_start as usize..self.value_end as usize
    }

    pub(crate) fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// Why the JSON or XML indexer stopped; `at` is the offset in the event body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexError {
    /// The body is not well-formed.
    Malformed { at: usize, reason: &'static str },
    /// The body has more headers than allowed.
    TooManyHeaders { at: usize },
}
