//! Which allocations a target may drop (NewStore's import ranges). Per scope (a location, or
//! `*` for all), walking up from the mark (the highest logical timestamp already removed):
//! a timestamp is removable when its event failed (the vendor dropped the allocation itself)
//! or completed with every stock adjustment acknowledged by the stock authority. An assignment
//! not yet completed stops the walk. A missing timestamp stops it too, until the grace period
//! since a later one was first seen has passed; then the walk goes on past it, but the ranges
//! leave it out: an allocation is only ever removed for an event we hold, so a lost completion
//! can make stock look short, never oversold. A timestamp that arrives after the walk passed
//! it goes out as a range of its own.
//!
//! Computed before the run reads the authority's stock, so that everything a range covers is
//! already in the stock the same import sends.

use std::collections::BTreeMap;

use syncd_core::{EntityKind, RangePolicy, RecordKey, WriteOp};
use syncd_store::{
    logical, shadow, ShadowIndex, Stamp, StampKind, StateStore, StoreError, WriteBatch,
};

/// Stamps below the mark that never become removable are dropped after this long.
const LATE_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// What the next import may remove, and what was found on the way.
#[derive(Debug, Default)]
pub struct Removable {
    /// `RemoveAllocations` ops, ascending per scope.
    pub ops: Vec<WriteOp>,
    /// Missing timestamps walked past after the grace period.
    pub gaps_skipped: u64,
    /// Long-stale stamps below their mark, to delete: (location, timestamp).
    pub expired: Vec<(String, u64)>,
}

fn scope_of(policy: &RangePolicy, location: &str) -> String {
    if policy.per_location {
        location.to_string()
    } else {
        "*".to_string()
    }
}

fn accounted(acknowledged: &ShadowIndex, stamps: &[(String, Stamp)]) -> bool {
    for (_, stamp) in stamps {
        // Not while an item is still only assigned (its allocation must stay), and not before
        // every adjustment any completion made is in the authority's stock.
        if stamp.kind == StampKind::Assigned || !stamp.every_assigned_item_done() {
            return false;
        }
        let applied = |key: &String| {
            acknowledged
                .get(&RecordKey::from_raw(key.clone()))
                .is_some()
        };
        if !stamp.adjustments.iter().all(applied) {
            return false;
        }
    }
    true
}

/// Turns ascending removable timestamps into ranges of consecutive ones.
fn ranges(scope: &str, removable: &[u64]) -> Vec<WriteOp> {
    let mut out: Vec<WriteOp> = Vec::new();
    for &lts in removable {
        match out.last_mut() {
            Some(WriteOp::RemoveAllocations { to, .. }) if *to + 1 == lts => *to = lts,
            _ => out.push(WriteOp::RemoveAllocations {
                scope: scope.to_string(),
                from: lts,
                to: lts,
            }),
        }
    }
    out
}

/// The ranges `namespace`'s target may drop now, given what `authority` acknowledged.
pub fn removable(
    store: &dyn StateStore,
    namespace: &str,
    authority: &str,
    policy: RangePolicy,
    now_ms: i64,
) -> Result<Removable, StoreError> {
    let mut by_scope: BTreeMap<String, BTreeMap<u64, Vec<(String, Stamp)>>> = BTreeMap::new();
    for (location, lts, stamp) in logical::list(store, namespace)? {
        by_scope
            .entry(scope_of(&policy, &location))
            .or_default()
            .entry(lts)
            .or_default()
            .push((location, stamp));
    }
    let grace_ms = policy.gap_grace.as_millis() as i64;
    let mut out = Removable::default();
    if by_scope.is_empty() {
        return Ok(out);
    }
    let acknowledged = shadow::load_index(store, authority, EntityKind::StockAdjustment)?;
    for (scope, stamps) in by_scope {
        let mark = logical::mark(store, namespace, &scope)?;
        let mut removable = Vec::new();
        // Late arrivals below the mark: each on its own once accounted for.
        if let Some(mark) = mark {
            for (&lts, entries) in stamps.range(..=mark) {
                if accounted(&acknowledged, entries) {
                    removable.push(lts);
                } else if entries
                    .iter()
                    .all(|(_, s)| now_ms - s.first_seen_ms > LATE_RETENTION_MS)
                {
                    out.expired
                        .extend(entries.iter().map(|(l, _)| (l.clone(), lts)));
                }
            }
        }
        let mut next = match mark {
            Some(m) => m + 1,
            None => match stamps.keys().next() {
                Some(&first) => first,
                None => continue,
            },
        };
        for (&lts, entries) in stamps.range(next..) {
            if lts > next {
                let seen_ms = entries
                    .iter()
                    .map(|(_, s)| s.first_seen_ms)
                    .min()
                    .unwrap_or(now_ms);
                if now_ms - seen_ms < grace_ms {
                    break;
                }
                tracing::warn!(
                    connector = namespace, scope = %scope, missing_from = next, missing_to = lts - 1,
                    "logical timestamps missing past the grace period: later ranges leave them out"
                );
                out.gaps_skipped += lts - next;
            }
            if !accounted(&acknowledged, entries) {
                break;
            }
            removable.push(lts);
            next = lts + 1;
        }
        out.ops.extend(ranges(&scope, &removable));
    }
    Ok(out)
}

/// After the target removed `from..=to` of `scope`: the mark moves up to `to` (never down),
/// and the stamps in the range are done with.
pub fn acknowledge(
    store: &dyn StateStore,
    batch: &mut WriteBatch,
    namespace: &str,
    scope: &str,
    from: u64,
    to: u64,
) -> Result<(), StoreError> {
    // The op says how it was scoped, whatever the config says now.
    let per_location = scope != "*";
    let mark = logical::mark(store, namespace, scope)?;
    if mark.is_none_or(|m| m < to) {
        logical::put_mark(batch, namespace, scope, to);
    }
    for (location, lts, _) in logical::list(store, namespace)? {
        let in_scope = !per_location || location == scope;
        if in_scope && (from..=to).contains(&lts) {
            logical::delete(batch, namespace, &location, lts);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use syncd_core::model::StockAdjustment;
    use syncd_core::Record;
    use syncd_store::{Durability, MemoryStore};

    const POLICY: RangePolicy = RangePolicy {
        per_location: false,
        gap_grace: Duration::from_secs(1200),
    };

    fn stamp(kind: StampKind, adjustments: &[&str], assigned: &[&str], done: &[&str]) -> Stamp {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Stamp {
            kind,
            adjustments: strings(adjustments),
            assigned_items: strings(assigned),
            done_items: strings(done),
            first_seen_ms: 0,
        }
    }

    fn record(store: &MemoryStore, at: u64, stamps: Vec<Stamp>) {
        let merged = stamps.into_iter().reduce(Stamp::merged).unwrap();
        let mut batch = WriteBatch::new();
        logical::put(&mut batch, "ns", "DC01", at, &merged);
        store.commit(batch, Durability::Flushed).unwrap();
    }

    fn acknowledge_adjustment(store: &MemoryStore, id: &str) {
        let record = Record::StockAdjustment(StockAdjustment {
            id: id.into(),
            sku: "P1".into(),
            location: "DC01".into(),
            delta: -1,
            reason: "t".into(),
            logical_timestamp: None,
        });
        let mut batch = WriteBatch::new();
        let mut page = syncd_store::ShadowPage::default();
        page.upsert(&record.key(), record.fingerprint());
        shadow::append(store, &mut batch, "erp", record.entity(), page).unwrap();
        store.commit(batch, Durability::Flushed).unwrap();
    }

    fn ops(store: &MemoryStore) -> Vec<WriteOp> {
        removable(store, "ns", "erp", POLICY, 1_000).unwrap().ops
    }

    #[test]
    fn a_failure_delivered_before_a_completion_waits_for_the_completions_adjustments() {
        let store = MemoryStore::new();
        record(
            &store,
            10,
            vec![
                stamp(StampKind::Failed, &[], &[], &["i2"]),
                stamp(StampKind::Completed, &["a1"], &[], &["i1"]),
            ],
        );
        assert!(ops(&store).is_empty(), "a1 is not in the authority yet");
        acknowledge_adjustment(&store, "a1");
        assert_eq!(ops(&store).len(), 1);
    }

    #[test]
    fn an_item_still_only_assigned_holds_its_timestamp() {
        let store = MemoryStore::new();
        record(
            &store,
            10,
            vec![
                stamp(StampKind::Assigned, &[], &["i1", "i2"], &[]),
                stamp(StampKind::Completed, &["a1"], &[], &["i1"]),
            ],
        );
        acknowledge_adjustment(&store, "a1");
        assert!(ops(&store).is_empty(), "i2 is neither completed nor failed");
        record(
            &store,
            10,
            vec![
                stamp(StampKind::Assigned, &[], &["i1", "i2"], &[]),
                stamp(StampKind::Completed, &["a1"], &[], &["i1"]),
                stamp(StampKind::Failed, &[], &[], &["i2"]),
            ],
        );
        assert_eq!(ops(&store).len(), 1);
    }

    #[test]
    fn consecutive_timestamps_make_one_range_and_a_gap_splits_them() {
        let ops = ranges("*", &[10, 11, 12, 14]);
        assert_eq!(
            ops,
            vec![
                WriteOp::RemoveAllocations {
                    scope: "*".into(),
                    from: 10,
                    to: 12
                },
                WriteOp::RemoveAllocations {
                    scope: "*".into(),
                    from: 14,
                    to: 14
                },
            ]
        );
    }
}
