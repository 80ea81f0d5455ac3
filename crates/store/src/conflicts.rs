//! The conflict log: every unowned field a link found changed on both sides since the two last
//! agreed, with the values and the side that won, per link, oldest first.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::batch::WriteBatch;
use crate::error::StoreError;
use crate::keys;
use crate::store::{StateStore, Tree};

/// How long a conflict is kept.
pub const KEPT_FOR_MS: i64 = 30 * 24 * 3600 * 1000;

/// One field both sides changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConflictField {
    /// The field.
    pub field: String,
    /// The running pipeline's source's value.
    pub source: Value,
    /// Its target's value.
    pub target: Value,
    /// What both last agreed on.
    pub base: Value,
    /// The connector whose value was kept.
    pub winner: String,
}

/// A record whose unowned fields changed on both sides of a link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// The link.
    pub link: String,
    /// The pipeline that found it.
    pub pipeline: String,
    /// The record's key.
    pub key: String,
    /// When (RFC 3339).
    pub at: String,
    /// The fields, each with its values and winner.
    pub fields: Vec<ConflictField>,
}

fn key(link: &str, at_ms: i64, seq: usize, record: &str) -> Vec<u8> {
    keys::compose(&[
        link.as_bytes(),
        format!("{at_ms:016x}{seq:08x}").as_bytes(),
        record.as_bytes(),
    ])
}

/// Adds `conflicts` (found at `at_ms`) in `batch`, and drops their links' conflicts older than
/// [`KEPT_FOR_MS`]: keys are in time order, so only the expired ones are read.
pub fn put(
    store: &dyn StateStore,
    batch: &mut WriteBatch,
    at_ms: i64,
    conflicts: &[Conflict],
) -> Result<(), StoreError> {
    let mut links: std::collections::BTreeSet<&str> = Default::default();
    for (seq, c) in conflicts.iter().enumerate() {
        let value = serde_json::to_vec(c).expect("a conflict serializes");
        batch.put(Tree::Conflicts, key(&c.link, at_ms, seq, &c.key), value);
        links.insert(&c.link);
    }
    let cutoff = format!("{:016x}", (at_ms - KEPT_FOR_MS).max(0));
    for link in links {
        let prefix = keys::prefix(&[link.as_bytes()]);
        for pair in store.scan_prefix(Tree::Conflicts, &prefix) {
            let (k, _) = pair?;
            let stamp = k.get(prefix.len()..prefix.len() + 16).unwrap_or_default();
            if stamp >= cutoff.as_bytes() {
                break;
            }
            batch.delete(Tree::Conflicts, k);
        }
    }
    Ok(())
}

/// The last `limit` conflicts of `link` (or of every link), oldest first.
pub fn list(
    store: &dyn StateStore,
    link: Option<&str>,
    limit: usize,
) -> Result<Vec<Conflict>, StoreError> {
    let prefix = link
        .map(|l| keys::prefix(&[l.as_bytes()]))
        .unwrap_or_default();
    let mut all: Vec<Conflict> = store
        .scan_prefix(Tree::Conflicts, &prefix)
        .map(|pair| {
            let (k, v) = pair?;
            serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                tree: Tree::Conflicts.name(),
                key: keys::printable(&k),
                message: e.to_string(),
            })
        })
        .collect::<Result<_, _>>()?;
    let skip = all.len().saturating_sub(limit);
    Ok(all.split_off(skip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crate::Durability;

    fn conflict(key: &str) -> Conflict {
        Conflict {
            link: "stock".into(),
            pipeline: "a-to-b".into(),
            key: key.into(),
            at: String::new(),
            fields: Vec::new(),
        }
    }

    #[test]
    fn conflicts_past_their_keeping_time_go_when_new_ones_come() {
        let store = MemoryStore::new();
        let day = 24 * 3600 * 1000;
        for (at, key) in [(day, "OLD"), (40 * day, "RECENT")] {
            let mut batch = WriteBatch::new();
            put(&store, &mut batch, at, &[conflict(key)]).unwrap();
            store.commit(batch, Durability::Flushed).unwrap();
        }
        let kept: Vec<String> = list(&store, Some("stock"), 10)
            .unwrap()
            .into_iter()
            .map(|c| c.key)
            .collect();
        assert_eq!(kept, vec!["RECENT".to_string()]);
    }
}
