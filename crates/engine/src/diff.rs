//! Diffing records against a shadow by fingerprint.

use std::collections::HashSet;

use syncd_core::{Fingerprint, Record};
use syncd_store::ShadowIndex;

/// The record's fingerprint if it differs from what the shadow holds at its key, `None` if the
/// shadow already holds exactly this content.
pub fn changed(index: &ShadowIndex, record: &Record) -> Option<Fingerprint> {
    let fp = record.fingerprint();
    let held = index.get_hashed(record.key_hash());
    (!held.is_some_and(|h| h.is(fp))).then_some(fp)
}

/// Hashes of keys the shadow holds that a complete snapshot did not contain.
pub fn missing(index: &ShadowIndex, seen: &HashSet<u128>) -> HashSet<u128> {
    index.hashes().filter(|h| !seen.contains(h)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncd_core::model::StockPosition;
    use syncd_store::key_hash;

    #[test]
    fn only_content_changes_count() {
        let a = Record::StockPosition(StockPosition::new("S", "L", 1));
        let mut index = ShadowIndex::default();
        assert!(changed(&index, &a).is_some());
        index.insert(&a.key(), a.fingerprint());
        assert!(changed(&index, &a).is_none());
        let b = Record::StockPosition(StockPosition::new("S", "L", 2));
        assert_eq!(changed(&index, &b), Some(b.fingerprint()));
        assert_eq!(
            missing(&index, &HashSet::new()),
            HashSet::from([key_hash(&a.key())])
        );
        assert!(missing(&index, &HashSet::from([key_hash(&a.key())])).is_empty());
    }
}
