//! The `Name: value\n` header blocks that both frames and plain events are made of.

use super::span::HeaderSpan;

/// Why a header block could not be indexed; `at` is relative to the indexed buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockError {
    /// A line that is neither blank nor `Name: value`.
    MalformedLine { at: usize },
    /// More headers than the configured limit.
    TooManyHeaders { at: usize },
}

/// Indexes header lines of `buf` from `start` up to and including the blank line that ends the
/// block. Returns the offset just past that blank line, or `None` when the block is not complete
/// in `buf` yet. Every span is pushed onto `out`; nothing is copied.
///
/// This is the hottest loop of the crate: one pass of `memchr` over the block for line ends,
/// and a short scan of each line for its colon (names are a few bytes long).
pub(crate) fn index_block(
    buf: &[u8],
    start: usize,
    max_headers: usize,
    out: &mut Vec<HeaderSpan>,
) -> Result<Option<usize>, BlockError> {
    let mut line_start = start;
    for newline in memchr::memchr_iter(b'\n', &buf[start..]) {
        let line_end = start + newline;
        let mut line = &buf[line_start..line_end];
        // Be lenient with a CR before the LF: some tools talk CRLF.
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        if line.is_empty() {
            return Ok(Some(line_end + 1));
        }
        let colon = match line.iter().position(|&b| b == b':') {
            Some(0) | None => return Err(BlockError::MalformedLine { at: line_start }),
            Some(colon) => colon,
        };
        if out.len() >= max_headers {
            return Err(BlockError::TooManyHeaders { at: line_start });
        }
        let spaces = line[colon + 1..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        let value_start = line_start + colon + 1 + spaces;
        out.push(HeaderSpan::new(
            line_start..line_start + colon,
            value_start..line_start + line.len(),
            0,
        ));
        line_start = line_end + 1;
    }
    Ok(None)
}

/// ASCII case-insensitive comparison, as FreeSWITCH compares header names.
pub(crate) fn name_eq(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_values(buf: &[u8]) -> (Option<usize>, Vec<(String, String)>) {
        let mut spans = Vec::new();
        let end = index_block(buf, 0, 100, &mut spans).unwrap();
        let pairs = spans
            .iter()
            .map(|s| {
                (
                    String::from_utf8_lossy(&buf[s.name()]).into_owned(),
                    String::from_utf8_lossy(&buf[s.value()]).into_owned(),
                )
            })
            .collect();
        (end, pairs)
    }

    #[test]
    fn indexes_lines_until_the_blank_line() {
        let buf = b"Content-Type: command/reply\nReply-Text: +OK accepted\n\nrest";
        let (end, pairs) = names_values(buf);
        assert_eq!(end, Some(buf.len() - 4));
        assert_eq!(pairs[0], ("Content-Type".into(), "command/reply".into()));
        assert_eq!(pairs[1], ("Reply-Text".into(), "+OK accepted".into()));
    }

    #[test]
    fn empty_value_and_colons_inside_values() {
        let (_, pairs) = names_values(b"User-Data: \nX: a: b\nY:z\n\n");
        assert_eq!(pairs[0].1, "");
        assert_eq!(pairs[1].1, "a: b");
        assert_eq!(pairs[2].1, "z");
    }

    #[test]
    fn incomplete_block_asks_for_more() {
        let (end, _) = names_values(b"Content-Type: auth/request\n");
        assert_eq!(end, None);
    }

    #[test]
    fn line_without_colon_is_malformed_with_its_offset() {
        let mut spans = Vec::new();
        let err = index_block(b"A: b\ngarbage\n\n", 0, 10, &mut spans).unwrap_err();
        assert_eq!(err, BlockError::MalformedLine { at: 5 });
    }

    #[test]
    fn header_count_is_limited() {
        let mut spans = Vec::new();
        let err = index_block(b"A: 1\nB: 2\nC: 3\n\n", 0, 2, &mut spans).unwrap_err();
        assert_eq!(err, BlockError::TooManyHeaders { at: 10 });
    }
}
