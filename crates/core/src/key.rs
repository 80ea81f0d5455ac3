//! Stable record keys: one string per record, unambiguous however the parts are spelled.

use std::fmt;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_128;

/// The stable identity of a record within its entity kind (e.g. `SKU-1|WH-1` for a stock position).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordKey(String);

impl RecordKey {
    /// A key made of one part, used as is but escaped.
    pub fn single(part: &str) -> Self {
        Self::compose(&[part])
    }

    /// Joins parts with `|`, escaping `%` and `|` inside each part so that two different part lists
    /// never give the same key.
    pub fn compose(parts: &[&str]) -> Self {
        let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
        Self::compose_into(parts, &mut out);
        RecordKey(String::from_utf8(out).expect("parts are UTF-8 and escapes are ASCII"))
    }

    /// The 128-bit hash of the key [`RecordKey::compose`] would build from `parts`, without
    /// building it (the diff's hot path asks this for every record).
    pub fn hash_parts(parts: &[&str]) -> u128 {
        thread_local! {
            static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BUFFER.with(|cell| {
            let mut buf = cell.borrow_mut();
            buf.clear();
            Self::compose_into(parts, &mut buf);
            xxh3_128(&buf)
        })
    }

    /// The 128-bit hash of this key (equal to [`RecordKey::hash_parts`] of its parts).
    pub fn hash128(&self) -> u128 {
        xxh3_128(self.0.as_bytes())
    }

    /// Wraps a string that is already a composed key (as read back from the store).
    pub fn from_raw(raw: impl Into<String>) -> Self {
        RecordKey(raw.into())
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parts the key was composed of, unescaped (the inverse of [`RecordKey::compose`]).
    pub fn parts(&self) -> Vec<String> {
        self.0
            .split('|')
            .map(|part| part.replace("%7C", "|").replace("%25", "%"))
            .collect()
    }
}

impl RecordKey {
    /// Appends the key [`RecordKey::compose`] would build from `parts` to `out`.
    pub fn compose_into(parts: &[&str], out: &mut Vec<u8>) {
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                out.push(b'|');
            }
            // A byte scan: a char-set pattern search costs more than the copy it guards.
            if part.bytes().any(|b| b == b'%' || b == b'|') {
                for b in part.bytes() {
                    match b {
                        b'%' => out.extend_from_slice(b"%25"),
                        b'|' => out.extend_from_slice(b"%7C"),
                        b => out.push(b),
                    }
                }
            } else {
                out.extend_from_slice(part.as_bytes());
            }
        }
    }
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_containing_the_separator_do_not_collide() {
        assert_eq!(
            RecordKey::compose(&["a|b%7C", "%c"]).parts(),
            vec!["a|b%7C".to_string(), "%c".to_string()]
        );
        let a = RecordKey::compose(&["a|b", "c"]);
        let b = RecordKey::compose(&["a", "b|c"]);
        assert_ne!(a, b);
        assert_eq!(RecordKey::compose(&["A", "B"]).as_str(), "A|B");
    }

    #[test]
    fn hashing_parts_matches_hashing_the_composed_key() {
        for parts in [&["A", "B"][..], &["a|b", "c%"][..], &["x"][..]] {
            assert_eq!(
                RecordKey::hash_parts(parts),
                RecordKey::compose(parts).hash128()
            );
        }
    }

    #[test]
    fn escaped_percent_does_not_collide_with_escaped_separator() {
        assert_ne!(
            RecordKey::compose(&["x%7C", "y"]),
            RecordKey::compose(&["x|", "y"])
        );
    }
}
