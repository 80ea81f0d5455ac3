//! Diffing records against a shadow by fingerprint.

use std::collections::HashSet;

use syncd_core::{Fingerprint, Record, RecordKey};
use syncd_store::ShadowIndex;

/// The record's fingerprint if it differs from what the shadow holds at its key, `None` if the
/// shadow already holds exactly this content.
pub fn changed(index: &ShadowIndex, key: &RecordKey, record: &Record) -> Option<Fingerprint> {
    let fp = record.fingerprint();
    (index.get(key) != Some(&fp)).then_some(fp)
}

/// Keys the shadow holds that a complete snapshot did not contain, sorted.
pub fn missing(index: &ShadowIndex, seen: &HashSet<RecordKey>) -> Vec<RecordKey> {
    let mut keys: Vec<RecordKey> = index
        .keys()
        .filter(|k| !seen.contains(*k))
        .cloned()
        .collect();
    keys.sort();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncd_core::model::StockPosition;

    #[test]
    fn only_content_changes_count() {
        let a = Record::StockPosition(StockPosition::new("S", "L", 1));
        let mut index = ShadowIndex::new();
        assert!(changed(&index, &a.key(), &a).is_some());
        index.insert(a.key(), a.fingerprint());
        assert!(changed(&index, &a.key(), &a).is_none());
        let b = Record::StockPosition(StockPosition::new("S", "L", 2));
        assert_eq!(changed(&index, &b.key(), &b), Some(b.fingerprint()));
        assert_eq!(missing(&index, &HashSet::new()), vec![a.key()]);
    }
}
