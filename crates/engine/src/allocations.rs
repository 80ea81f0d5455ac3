//! Which allocations a target may drop (NewStore's import ranges): per scope, the contiguous
//! run of logical timestamps after the last removed one whose events are accounted for —
//! failed, or completed with every stock adjustment acknowledged by the stock authority. An
//! assignment not yet completed stops the run; so does a missing timestamp, until the grace
//! period since a later one was first seen has passed (then it is skipped and counted).
//!
//! Computed before the run reads the authority's stock, so that everything the range covers is
//! already in the stock the same import sends: a range never gets ahead of the on-hand.

use std::collections::BTreeMap;

use syncd_core::{EntityKind, RangePolicy, RecordKey, WriteOp};
use syncd_store::{logical, shadow, StampKind, StateStore, StoreError};

/// What the next import may remove, and what it found on the way.
#[derive(Debug, Default)]
pub struct Removable {
    /// One `RemoveAllocations` per scope that can advance.
    pub ops: Vec<WriteOp>,
    /// Missing timestamps skipped after the grace period.
    pub gaps_skipped: u64,
    /// Stamps at or below their scope's mark: done with, to be deleted.
    pub stale: Vec<(String, u64)>,
}

/// The ranges `namespace`'s target may drop now, given what `authority` acknowledged.
pub fn removable(
    store: &dyn StateStore,
    namespace: &str,
    authority: &str,
    policy: RangePolicy,
    now_ms: i64,
) -> Result<Removable, StoreError> {
    let mut by_scope: BTreeMap<String, BTreeMap<u64, Vec<(String, syncd_store::Stamp)>>> =
        BTreeMap::new();
    for (location, lts, stamp) in logical::list(store, namespace)? {
        let scope = if policy.per_location {
            location.clone()
        } else {
            "*".to_string()
        };
        by_scope
            .entry(scope)
            .or_default()
            .entry(lts)
            .or_default()
            .push((location, stamp));
    }
    let grace_ms = policy.gap_grace.as_millis() as i64;
    let mut out = Removable::default();
    for (scope, stamps) in by_scope {
        let mark = logical::mark(store, namespace, &scope)?;
        for (&lts, entries) in stamps.range(..=mark.unwrap_or(0)) {
            if mark.is_some() {
                out.stale
                    .extend(entries.iter().map(|(location, _)| (location.clone(), lts)));
            }
        }
        let Some((&first, _)) = stamps.range(mark.map_or(0, |m| m + 1)..).next() else {
            continue;
        };
        let start = mark.map_or(first, |m| m + 1);
        let mut next = start;
        let mut to = None;
        for (&lts, entries) in stamps.range(start..) {
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
                    "logical timestamps never arrived within the grace period: moving past them"
                );
                out.gaps_skipped += lts - next;
            }
            let mut accounted = true;
            for (_, stamp) in entries {
                accounted &= match stamp.kind {
                    StampKind::Assigned => false,
                    StampKind::Failed => true,
                    StampKind::Completed => {
                        stamp.adjustments.iter().try_fold(true, |all, key| {
                            Ok::<_, StoreError>(
                                all && shadow::get(
                                    store,
                                    authority,
                                    EntityKind::StockAdjustment,
                                    &RecordKey::from_raw(key.clone()),
                                )?
                                .is_some(),
                            )
                        })?
                    }
                };
            }
            if !accounted {
                break;
            }
            to = Some(lts);
            next = lts + 1;
        }
        if let Some(to) = to {
            out.ops.push(WriteOp::RemoveAllocations {
                scope,
                from: start,
                to,
            });
        }
    }
    Ok(out)
}
