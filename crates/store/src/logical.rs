//! Logical timestamps per connector (NewStore's fulfillment events): what each timestamp
//! stands for, the life of each fulfillment item across its events, and per scope the
//! timestamps whose allocations the target already removed.
//!
//! Keys (parts joined by 0x00): `connector, s, location, lts (16 hex)` for stamps,
//! `connector, i, request, item` for item lives and `connector, r, scope` for what was removed.

use serde::{Deserialize, Serialize};

use crate::batch::WriteBatch;
use crate::error::StoreError;
use crate::keys;
use crate::store::{StateStore, Tree};

/// What happened at a logical timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StampKind {
    /// Items allocated at a location: the allocation stays while any of them is open.
    Assigned,
    /// Shipped: removable once its adjustments are acknowledged by the stock authority.
    Completed,
    /// Failed: the vendor removed the allocation itself.
    Failed,
    /// Another fulfillment step: nothing to remove, the timestamp is simply taken.
    Noted,
}

/// One logical timestamp's record: what every delivery at it said, merged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// The furthest state seen: completed over failed over assigned over noted.
    pub kind: StampKind,
    /// The keys of the stock adjustments its completions became.
    #[serde(default)]
    pub adjustments: Vec<String>,
    /// Items an assignment named, as [`item_ref`]s.
    #[serde(default)]
    pub assigned_items: Vec<String>,
    /// Items a completion or failure named, as [`item_ref`]s.
    #[serde(default)]
    pub done_items: Vec<String>,
    /// When it was first seen (Unix ms).
    pub first_seen_ms: i64,
}

/// An item named by its fulfillment request and its own id: `request/item`.
pub fn item_ref(request: &str, item: &str) -> String {
    format!("{request}/{item}")
}

fn rank(kind: StampKind) -> u8 {
    match kind {
        StampKind::Noted => 0,
        StampKind::Assigned => 1,
        StampKind::Failed => 2,
        StampKind::Completed => 3,
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
}

/// How an item's life ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closed {
    /// Completed or failed.
    pub kind: StampKind,
    /// The logical timestamp of that event.
    pub at: u64,
    /// When it was seen (Unix ms): closed lives are forgotten some time after.
    pub seen_ms: i64,
}

/// One fulfillment item's life across its events, which each carry their own timestamp.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemLife {
    /// The logical timestamp of its assignment, if that event was seen.
    #[serde(default)]
    pub assigned_at: Option<u64>,
    /// How it ended, if it has.
    #[serde(default)]
    pub closed: Option<Closed>,
    /// The stock adjustment its completion became (to know when the authority holds it).
    #[serde(default)]
    pub adjustment: Option<String>,
    /// When an event of it was first seen (Unix ms; 0 when not recorded): a life never closed
    /// is forgotten long after.
    #[serde(default)]
    pub first_seen_ms: i64,
}

impl ItemLife {
    /// This life with one more event of it: an assignment at `lts`, or its end. A completion
    /// outranks a failure, whatever order the two arrived in.
    pub fn with(
        mut self,
        kind: StampKind,
        lts: u64,
        adjustment: Option<String>,
        now_ms: i64,
    ) -> Self {
        if self.first_seen_ms == 0 {
            self.first_seen_ms = now_ms;
        }
        match kind {
            StampKind::Assigned => self.assigned_at = Some(lts),
            StampKind::Noted => {}
            StampKind::Completed | StampKind::Failed => {
                let outranked = self
                    .closed
                    .as_ref()
                    .is_some_and(|c| rank(c.kind) > rank(kind));
                if !outranked {
                    self.closed = Some(Closed {
                        kind,
                        at: lts,
                        seen_ms: now_ms,
                    });
                    if adjustment.is_some() {
                        self.adjustment = adjustment;
                    }
                }
            }
        }
        self
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

fn life_key(connector: &str, item: &str) -> Vec<u8> {
    keys::compose(&[connector.as_bytes(), b"i", item.as_bytes()])
}

fn removed_key(connector: &str, scope: &str) -> Vec<u8> {
    keys::compose(&[connector.as_bytes(), b"r", scope.as_bytes()])
}

fn corrupt(k: &[u8], message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        tree: Tree::LogicalTimestamps.name(),
        key: keys::printable(k),
        message: message.into(),
    }
}

fn read<T: serde::de::DeserializeOwned>(
    store: &dyn StateStore,
    k: &[u8],
) -> Result<Option<T>, StoreError> {
    store
        .get(Tree::LogicalTimestamps, k)?
        .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt(k, e.to_string())))
        .transpose()
}

/// The stamp at (`location`, `lts`), if any.
pub fn get(
    store: &dyn StateStore,
    connector: &str,
    location: &str,
    lts: u64,
) -> Result<Option<Stamp>, StoreError> {
    read(store, &stamp_key(connector, location, lts))
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

/// The life of `item` (an [`item_ref`]), if any event of it was seen.
pub fn life(
    store: &dyn StateStore,
    connector: &str,
    item: &str,
) -> Result<Option<ItemLife>, StoreError> {
    read(store, &life_key(connector, item))
}

/// Sets the life of `item` in `batch`.
pub fn put_life(batch: &mut WriteBatch, connector: &str, item: &str, life: &ItemLife) {
    batch.put(
        Tree::LogicalTimestamps,
        life_key(connector, item),
        serde_json::to_vec(life).expect("an item life serializes"),
    );
}

/// Forgets the life of `item` in `batch`.
pub fn delete_life(batch: &mut WriteBatch, connector: &str, item: &str) {
    batch.delete(Tree::LogicalTimestamps, life_key(connector, item));
}

/// Every item life of `connector`: (item ref, life).
pub fn lives(
    store: &dyn StateStore,
    connector: &str,
) -> Result<Vec<(String, ItemLife)>, StoreError> {
    let prefix = keys::prefix(&[connector.as_bytes(), b"i"]);
    store
        .scan_prefix(Tree::LogicalTimestamps, &prefix)
        .map(|pair| {
            let (k, v) = pair?;
            let item = keys::suffix_str(&k, &prefix).ok_or_else(|| corrupt(&k, "bad key"))?;
            let life = serde_json::from_slice(&v).map_err(|e| corrupt(&k, e.to_string()))?;
            Ok((item.to_string(), life))
        })
        .collect()
}

/// Ranges of logical timestamps, ascending, disjoint and not adjacent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ranges(Vec<(u64, u64)>);

/// The most ranges kept per scope; beyond, the oldest are forgotten (a redelivery that old
/// only resends a range, which removes nothing twice).
const MAX_REMOVED_RANGES: usize = 4096;

impl Ranges {
    /// Whether `lts` lies in one of the ranges.
    pub fn contains(&self, lts: u64) -> bool {
        let i = self.0.partition_point(|&(_, to)| to < lts);
        self.0.get(i).is_some_and(|&(from, _)| from <= lts)
    }

    /// Adds `from..=to`, merging what it touches.
    pub fn add(&mut self, from: u64, to: u64) {
        self.0.push((from, to));
        self.0.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(self.0.len());
        for (from, to) in self.0.drain(..) {
            match merged.last_mut() {
                Some(last) if from <= last.1.saturating_add(1) => last.1 = last.1.max(to),
                _ => merged.push((from, to)),
            }
        }
        let excess = merged.len().saturating_sub(MAX_REMOVED_RANGES);
        merged.drain(..excess);
        self.0 = merged;
    }

    /// The ranges, ascending.
    pub fn as_slice(&self) -> &[(u64, u64)] {
        &self.0
    }
}

/// The timestamps of `scope` whose allocations the target removed.
pub fn removed(store: &dyn StateStore, connector: &str, scope: &str) -> Result<Ranges, StoreError> {
    Ok(read(store, &removed_key(connector, scope))?.unwrap_or_default())
}

/// Sets what the target removed in `scope`, in `batch`.
pub fn put_removed(batch: &mut WriteBatch, connector: &str, scope: &str, ranges: &Ranges) {
    batch.put(
        Tree::LogicalTimestamps,
        removed_key(connector, scope),
        serde_json::to_vec(ranges).expect("ranges serialize"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_ranges_merge_what_touches_and_answer_membership() {
        let mut r = Ranges::default();
        r.add(10, 12);
        r.add(20, 20);
        r.add(13, 14);
        assert_eq!(r.as_slice(), [(10, 14), (20, 20)]);
        assert!(r.contains(10) && r.contains(14) && r.contains(20));
        assert!(!r.contains(9) && !r.contains(15) && !r.contains(21));
    }

    #[test]
    fn a_completion_outranks_a_failure_in_either_order() {
        let a = ItemLife::default()
            .with(StampKind::Completed, 14, Some("adj".into()), 0)
            .with(StampKind::Failed, 15, None, 0);
        let b = ItemLife::default()
            .with(StampKind::Failed, 15, None, 0)
            .with(StampKind::Completed, 14, Some("adj".into()), 0);
        assert_eq!(a.closed, b.closed);
        assert_eq!(a.closed.unwrap().kind, StampKind::Completed);
        assert_eq!(b.adjustment.as_deref(), Some("adj"));
    }
}
