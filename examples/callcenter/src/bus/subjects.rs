//! The bus's names: one rule for every value that becomes part of a NATS subject or stream
//! name (tenants and nodes are data, not syntax).

/// Whether `text` may be a subject token as it is: letters, digits, `_` and `-` only (no `.`,
/// `*`, `>`, spaces or anything a subject or stream name gives meaning to).
pub fn is_plain_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `text` as one subject token: itself when plain, else `~` and its bytes in hex (the empty
/// text, the unassigned tenant, is `~`). Distinct texts give distinct tokens.
///
/// ```
/// use callcenter::bus::subjects::token;
/// assert_eq!(token("acme"), "acme");
/// assert_eq!(token("a.b"), "~612e62");
/// assert_eq!(token(""), "~");
/// ```
pub fn token(text: &str) -> String {
    if is_plain_token(text) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(1 + 2 * text.len());
    out.push('~');
    for byte in text.bytes() {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// The subjects and stream of one deployment (its prefix, so several share a NATS server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    prefix: String,
}

impl Names {
    /// The names under `prefix`, which must be a plain token.
    pub fn new(prefix: &str) -> Result<Self, String> {
        // Lower case only: the stream is named after it in upper case, so `cc` and `CC` would
        // share one stream with different subjects.
        if !is_plain_token(prefix)
            || prefix.len() > 32
            || prefix.bytes().any(|b| b.is_ascii_uppercase())
        {
            return Err(format!(
                "nats.prefix {prefix:?}: 1 to 32 lower-case letters, digits, '_' or '-'"
            ));
        }
        Ok(Names {
            prefix: prefix.to_owned(),
        })
    }

    /// The JetStream stream holding the events and node states.
    pub fn stream(&self) -> String {
        format!("{}_EVENTS", self.prefix.to_ascii_uppercase())
    }

    /// Every subject of the stream.
    pub fn all(&self) -> String {
        format!("{}.events.>", self.prefix)
    }

    /// A tenant's event, from `node` (none: `_`).
    pub fn event(&self, tenant: &str, node: Option<&str>) -> String {
        let node = node.map_or_else(|| "_".to_owned(), token);
        format!("{}.events.call.{}.{node}", self.prefix, token(tenant))
    }

    /// A node's whole state.
    pub fn node_state(&self, node: &str) -> String {
        format!("{}.events.state.{}", self.prefix, token(node))
    }

    /// The work-queue stream of finished recordings.
    pub fn recordings_stream(&self) -> String {
        format!("{}_RECORDINGS", self.prefix.to_ascii_uppercase())
    }

    /// Every subject of the recordings' stream.
    pub fn recordings_all(&self) -> String {
        format!("{}.recordings.>", self.prefix)
    }

    /// A node's finished recordings.
    pub fn recording(&self, node: &str) -> String {
        format!("{}.recordings.{}", self.prefix, token(node))
    }

    /// Commands for a node's active worker (outside the stream).
    pub fn command(&self, node: &str) -> String {
        format!("{}.command.{}", self.prefix, token(node))
    }

    /// Every node's state.
    pub fn node_states(&self) -> String {
        format!("{}.events.state.>", self.prefix)
    }

    /// Whether `subject` is a node's state.
    pub fn is_node_state(&self, subject: &str) -> bool {
        subject
            .strip_prefix(&self.prefix)
            .is_some_and(|rest| rest.starts_with(".events.state."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_stay_one_token() {
        let names = Names::new("cc-test_1").unwrap();
        assert_eq!(names.stream(), "CC-TEST_1_EVENTS");
        for hostile in ["a.b", "*", ">", "a b", "", "é", "~61"] {
            let subject = names.event(hostile, Some(hostile));
            assert_eq!(subject.split('.').count(), 5, "{subject}");
            assert!(!subject.contains(['*', '>', ' ']), "{subject}");
        }
        assert_ne!(token("~61"), token("a"));
        assert!(names.is_node_state(&names.node_state("fs.1")));
        assert!(!names.is_node_state(&names.event("acme", Some("fs1"))));
        for bad in ["", "a.b", "a*", "CC", "x".repeat(33).as_str()] {
            assert!(Names::new(bad).is_err(), "{bad}");
        }
    }
}
