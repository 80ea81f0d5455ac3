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

/// One logical timestamp's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// What happened.
    pub kind: StampKind,
    /// For a completion: the keys of the stock adjustments it became.
    #[serde(default)]
    pub adjustments: Vec<String>,
    /// When it was first seen (Unix ms): gaps before it age from here.
    pub first_seen_ms: i64,
}

impl Stamp {
    /// The later knowledge of two deliveries: a completion or failure outranks an assignment
    /// (deliveries come in any order); the first sighting is kept.
    pub fn merged(self, newer: Stamp) -> Stamp {
        let kind = match (self.kind, newer.kind) {
            (StampKind::Assigned, k) => k,
            (k, _) => k,
        };
        let adjustments = if self.adjustments.is_empty() {
            newer.adjustments
        } else {
            self.adjustments
        };
        Stamp {
            kind,
            adjustments,
            first_seen_ms: self.first_seen_ms.min(newer.first_seen_ms),
        }
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
