//! The conflict log: every unowned field a link found changed on both sides since the two last
//! agreed, with the values and the side that won, per link, oldest first.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::batch::WriteBatch;
use crate::error::StoreError;
use crate::keys;
use crate::store::{StateStore, Tree};

/// How many conflicts are kept per link.
pub const KEPT_PER_LINK: usize = 10_000;

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

/// Adds `conflicts` (found at `at_ms`) in `batch`, dropping the oldest beyond
/// [`KEPT_PER_LINK`].
pub fn put(
    store: &dyn StateStore,
    batch: &mut WriteBatch,
    at_ms: i64,
    conflicts: &[Conflict],
) -> Result<(), StoreError> {
    let mut per_link: std::collections::BTreeMap<&str, usize> = Default::default();
    for (seq, c) in conflicts.iter().enumerate() {
        let value = serde_json::to_vec(c).expect("a conflict serializes");
        batch.put(Tree::Conflicts, key(&c.link, at_ms, seq, &c.key), value);
        *per_link.entry(&c.link).or_default() += 1;
    }
    for (link, added) in per_link {
        let prefix = keys::prefix(&[link.as_bytes()]);
        let held = store.count_prefix(Tree::Conflicts, &prefix)?;
        let excess = (held + added).saturating_sub(KEPT_PER_LINK);
        for pair in store.scan_prefix(Tree::Conflicts, &prefix).take(excess) {
            batch.delete(Tree::Conflicts, pair?.0);
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
