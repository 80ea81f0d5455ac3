//! Logical timestamps per connector (NewStore's fulfillment events): what each timestamp
//! stands for, and per scope the mark up to which allocations were removed.
//!
//! Keys (parts joined by 0x00): `connector, s, location, lts (16 hex)` for stamps and
//! `connector, m, scope` for marks.

use serde::{Deserialize, Serialize};

use crate::batch::WriteBatch;
use crate::error::StoreError;
use crate::keys;
use crate::store::{StateStore, Tree};

/// What happened at a logical timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StampKind {
    /// Allocated, not shipped: its allocation must stay.
    Assigned,
    /// Shipped: removable once its adjustments are acknowledged by the stock authority.
    Completed,
    /// Failed: the vendor removed the allocation itself.
    Failed,
}

/// One logical timestamp's record: what every delivery at it said, merged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// The furthest state seen: completed over failed over assigned.
    pub kind: StampKind,
    /// The keys of the stock adjustments its completions became.
    #[serde(default)]
    pub adjustments: Vec<String>,
    /// Items an assignment named.
    #[serde(default)]
    pub assigned_items: Vec<String>,
    /// Items a completion or failure named.
    #[serde(default)]
    pub done_items: Vec<String>,
    /// When it was first seen (Unix ms): gaps before it age from here.
    pub first_seen_ms: i64,
}

fn rank(kind: StampKind) -> u8 {
    match kind {
        StampKind::Assigned => 0,
        StampKind::Failed => 1,
        StampKind::Completed => 2,
    }
}

fn union(mut a: Vec<String>, b: Vec<String>) -> Vec<String> {
    for x in b {
        if !a.contains(&x) {
            a.push(x);
        }
    }
    a
}

impl Stamp {
    /// Everything two deliveries said, whatever their order: the furthest state, every
    /// adjustment and item either named, the first sighting.
    pub fn merged(self, other: Stamp) -> Stamp {
        Stamp {
            kind: if rank(other.kind) > rank(self.kind) {
                other.kind
            } else {
                self.kind
            },
            adjustments: union(self.adjustments, other.adjustments),
            assigned_items: union(self.assigned_items, other.assigned_items),
            done_items: union(self.done_items, other.done_items),
            first_seen_ms: self.first_seen_ms.min(other.first_seen_ms),
        }
    }

    /// Whether every item an assignment named has been completed or failed.
    pub fn every_assigned_item_done(&self) -> bool {
        self.assigned_items
            .iter()
            .all(|i| self.done_items.contains(i))
    }
}

fn stamp_key(connector: &str, location: &str, lts: u64) -> Vec<u8> {
    keys::compose(&[
        connector.as_bytes(),
        b"s",
        location.as_bytes(),
        format!("{lts:016x}").as_bytes(),
    ])
}

fn mark_key(connector: &str, scope: &str) -> Vec<u8> {
    keys::compose(&[connector.as_bytes(), b"m", scope.as_bytes()])
}

fn corrupt(k: &[u8], message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        tree: Tree::LogicalTimestamps.name(),
        key: keys::printable(k),
        message: message.into(),
    }
}

/// The stamp at (`location`, `lts`), if any.
pub fn get(
    store: &dyn StateStore,
    connector: &str,
    location: &str,
    lts: u64,
) -> Result<Option<Stamp>, StoreError> {
    let k = stamp_key(connector, location, lts);
    store
        .get(Tree::LogicalTimestamps, &k)?
        .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(&k, e.to_string())))
        .transpose()
}

/// Sets the stamp at (`location`, `lts`) in `batch`.
pub fn put(batch: &mut WriteBatch, connector: &str, location: &str, lts: u64, stamp: &Stamp) {
    batch.put(
        Tree::LogicalTimestamps,
        stamp_key(connector, location, lts),
        serde_json::to_vec(stamp).expect("a stamp serializes"),
    );
}

/// Removes the stamp at (`location`, `lts`) in `batch`.
pub fn delete(batch: &mut WriteBatch, connector: &str, location: &str, lts: u64) {
    batch.delete(Tree::LogicalTimestamps, stamp_key(connector, location, lts));
}

/// Every stamp of `connector`: (location, lts, stamp), by location then lts.
pub fn list(
    store: &dyn StateStore,
    connector: &str,
) -> Result<Vec<(String, u64, Stamp)>, StoreError> {
    let prefix = keys::prefix(&[connector.as_bytes(), b"s"]);
    store
        .scan_prefix(Tree::LogicalTimestamps, &prefix)
        .map(|pair| {
            let (k, v) = pair?;
            let rest = keys::suffix_str(&k, &prefix).ok_or_else(|| corrupt(&k, "bad key"))?;
            let (location, lts) = rest
                .rsplit_once('\0')
                .ok_or_else(|| corrupt(&k, "bad key"))?;
            let lts = u64::from_str_radix(lts, 16).map_err(|_| corrupt(&k, "bad timestamp"))?;
            let stamp = serde_json::from_slice(&v).map_err(|e| corrupt(&k, e.to_string()))?;
            Ok((location.to_string(), lts, stamp))
        })
        .collect()
}

/// The last logical timestamp of `scope` whose allocations the target removed.
pub fn mark(
    store: &dyn StateStore,
    connector: &str,
    scope: &str,
) -> Result<Option<u64>, StoreError> {
    let k = mark_key(connector, scope);
    store
        .get(Tree::LogicalTimestamps, &k)?
        .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(&k, e.to_string())))
        .transpose()
}

/// Sets the mark of `scope` in `batch`.
pub fn put_mark(batch: &mut WriteBatch, connector: &str, scope: &str, to: u64) {
    batch.put(
        Tree::LogicalTimestamps,
        mark_key(connector, scope),
        serde_json::to_vec(&to).expect("a number serializes"),
    );
}
