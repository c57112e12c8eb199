//! Longest-prefix match over dialled digits: a trie with one array of ten children per node,
//! so a lookup is one array index per digit.

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Node {
    children: [u32; 10],
    value: u32,
}

impl Node {
    const EMPTY: Self = Self {
        children: [NONE; 10],
        value: NONE,
    };
}

/// Maps digit prefixes to values (indexes into the caller's table).
#[derive(Debug, Clone)]
pub(crate) struct PrefixTrie {
    nodes: Vec<Node>,
}

impl Default for PrefixTrie {
    fn default() -> Self {
        Self {
            nodes: vec![Node::EMPTY],
        }
    }
}

impl PrefixTrie {
    /// Sets the value of a prefix of ASCII digits; returns the previous one. `None` if the prefix
    /// is not all digits.
    pub(crate) fn insert(&mut self, prefix: &str, value: u32) -> Option<Option<u32>> {
        if !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut node = 0usize;
        for digit in prefix.bytes().map(|b| usize::from(b - b'0')) {
            let next = self.nodes[node].children[digit];
            node = if next == NONE {
                self.nodes.push(Node::EMPTY);
                let created = self.nodes.len() - 1;
                self.nodes[node].children[digit] = created as u32;
                created
            } else {
                next as usize
            };
        }
        let previous = std::mem::replace(&mut self.nodes[node].value, value);
        Some((previous != NONE).then_some(previous))
    }

    /// The value of the longest prefix of `digits` that has one, with that prefix's length.
    /// Stops at the first non-digit.
    pub(crate) fn longest(&self, digits: &[u8]) -> Option<(u32, usize)> {
        let mut node = &self.nodes[0];
        let mut best = (node.value != NONE).then_some((node.value, 0));
        for (depth, &b) in digits.iter().enumerate() {
            if !b.is_ascii_digit() {
                break;
            }
            let next = node.children[usize::from(b - b'0')];
            if next == NONE {
                break;
            }
            node = &self.nodes[next as usize];
            if node.value != NONE {
                best = Some((node.value, depth + 1));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let mut trie = PrefixTrie::default();
        trie.insert("44", 1);
        trie.insert("447", 2);
        trie.insert("4479", 3);
        assert_eq!(trie.longest(b"4412345"), Some((1, 2)));
        assert_eq!(trie.longest(b"447700900"), Some((2, 3)));
        assert_eq!(trie.longest(b"4479"), Some((3, 4)));
        assert_eq!(trie.longest(b"33123"), None);
        assert_eq!(trie.longest(b""), None);
    }

    #[test]
    fn the_empty_prefix_catches_everything() {
        let mut trie = PrefixTrie::default();
        trie.insert("", 9);
        trie.insert("1", 1);
        assert_eq!(trie.longest(b"2"), Some((9, 0)));
        assert_eq!(trie.longest(b"12"), Some((1, 1)));
    }

    #[test]
    fn non_digits_are_refused_or_stop_the_walk() {
        let mut trie = PrefixTrie::default();
        assert_eq!(trie.insert("4a", 1), None);
        trie.insert("12", 1);
        assert_eq!(trie.longest(b"1*2"), None);
        assert_eq!(trie.insert("12", 2), Some(Some(1)));
    }
}
