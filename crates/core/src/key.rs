//! Stable record keys: one string per record, unambiguous however the parts are spelled.

use std::fmt;

use serde::{Deserialize, Serialize};

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
        let mut out = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                out.push('|');
            }
            if part.contains(['%', '|']) {
                for ch in part.chars() {
                    match ch {
                        '%' => out.push_str("%25"),
                        '|' => out.push_str("%7C"),
                        c => out.push(c),
                    }
                }
            } else {
                out.push_str(part);
            }
        }
        RecordKey(out)
    }

    /// Wraps a string that is already a composed key (as read back from the store).
    pub fn from_raw(raw: impl Into<String>) -> Self {
        RecordKey(raw.into())
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
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
        let a = RecordKey::compose(&["a|b", "c"]);
        let b = RecordKey::compose(&["a", "b|c"]);
        assert_ne!(a, b);
        assert_eq!(RecordKey::compose(&["A", "B"]).as_str(), "A|B");
    }

    #[test]
    fn escaped_percent_does_not_collide_with_escaped_separator() {
        assert_ne!(
            RecordKey::compose(&["x%7C", "y"]),
            RecordKey::compose(&["x|", "y"])
        );
    }
}
