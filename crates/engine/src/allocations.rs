//! Which allocations a target may drop (NewStore's import ranges).
//!
//! Every fulfillment event carries a logical timestamp of its own, "a number that consistently
//! increases" (seed 003): an item is assigned at one timestamp and completed or failed at a
//! later one. Per scope (a location, or `*` for all), each timestamp we hold is
//! - *removable*: a completion whose stock adjustments the stock authority acknowledged, so the
//!   stock the same import sends already has those items shipped;
//! - *passable*: a failure (the vendor dropped that allocation itself), another fulfillment
//!   step, or an assignment all of whose items are completed (and acknowledged) or failed;
//! - *held*: an assignment with an item still open, or a completion not yet in the authority.
//!
//! A range is a run of consecutive timestamps, each removable or passable, holding at least one
//! removable. A timestamp we do not hold is never covered: the counter is the tenant's, so
//! numbers go to events of other locations and to events an integration's filter leaves out,
//! and a gap is no proof of a lost event. A held timestamp splits the ranges around it and
//! holds back nothing else; once it is accounted for it goes out in a later range. Passable
//! runs without a removable timestamp are dropped without a range.
//!
//! Computed before the run reads the authority's stock, so that everything a range covers is
//! already in the stock the same import sends.

use std::collections::BTreeMap;

use syncd_core::{EntityKind, RangePolicy, RecordKey, WriteOp};
use syncd_store::logical::{self, ItemLife};
use syncd_store::{shadow, ShadowIndex, Stamp, StampKind, StateStore, StoreError, WriteBatch};

/// Held stamps and closed item lives are forgotten after this long (a completion whose
/// adjustment was dead-lettered, an order never finished): a stamp forgotten is never covered.
const RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// Item lives never closed are forgotten after this long.
const OPEN_RETENTION_MS: i64 = 90 * 24 * 3600 * 1000;

/// What the next import may remove, and what was found on the way.
#[derive(Debug, Default)]
pub struct Removable {
    /// `RemoveAllocations` ops, ascending per scope.
    pub ops: Vec<WriteOp>,
    /// Timestamps held back (an item still open, a completion not yet in the authority).
    pub held: u64,
    /// Stamps done with without a range (passable runs), or held past retention:
    /// (location, timestamp).
    pub forget: Vec<(String, u64)>,
    /// Item lives closed long ago, to forget.
    pub forget_lives: Vec<String>,
}

/// What a held timestamp stands for in a walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Standing {
    Removable,
    Passable,
    Held,
}

fn scope_of(policy: &RangePolicy, location: &str) -> String {
    if policy.per_location {
        location.to_string()
    } else {
        "*".to_string()
    }
}

struct Judge<'a> {
    store: &'a dyn StateStore,
    namespace: &'a str,
    acknowledged: ShadowIndex,
}

impl Judge<'_> {
    fn applied(&self, key: &str) -> bool {
        self.acknowledged
            .get(&RecordKey::from_raw(key.to_string()))
            .is_some()
    }

    /// Whether an item an assignment named is done with: failed, or completed with its
    /// adjustment in the authority. An item of which nothing else is known is open.
    fn item_done(&self, item: &str) -> Result<bool, StoreError> {
        let life: Option<ItemLife> = logical::life(self.store, self.namespace, item)?;
        Ok(
            match life.and_then(|l| l.closed.map(|c| (c.kind, l.adjustment))) {
                Some((StampKind::Failed, _)) => true,
                Some((StampKind::Completed, adjustment)) => {
                    adjustment.is_none_or(|key| self.applied(&key))
                }
                _ => false,
            },
        )
    }

    fn standing(&self, stamp: &Stamp) -> Result<Standing, StoreError> {
        if !stamp.adjustments.iter().all(|key| self.applied(key)) {
            return Ok(Standing::Held);
        }
        for item in &stamp.assigned_items {
            if !self.item_done(item)? {
                return Ok(Standing::Held);
            }
        }
        Ok(match stamp.kind {
            StampKind::Completed => Standing::Removable,
            StampKind::Assigned | StampKind::Failed | StampKind::Noted => Standing::Passable,
        })
    }
}

/// A run of consecutive accounted-for timestamps being gathered.
struct Run {
    from: u64,
    to: u64,
    removable: bool,
    stamps: Vec<(String, u64)>,
}

/// The ranges `namespace`'s target may drop now, given what `authority` acknowledged.
pub fn removable(
    store: &dyn StateStore,
    namespace: &str,
    authority: &str,
    policy: RangePolicy,
    now_ms: i64,
) -> Result<Removable, StoreError> {
    let mut out = Removable::default();
    for (item, life) in logical::lives(store, namespace)? {
        let closed_long_ago = life
            .closed
            .as_ref()
            .is_some_and(|c| now_ms - c.seen_ms > RETENTION_MS);
        // An order neither finished nor failed in three months (cancelled without an event,
        // say): its item is forgotten, so that lives do not pile up for ever.
        let open_for_months = life.closed.is_none()
            && life.first_seen_ms > 0
            && now_ms - life.first_seen_ms > OPEN_RETENTION_MS;
        if closed_long_ago || open_for_months {
            out.forget_lives.push(item);
        }
    }
    let mut by_scope: BTreeMap<String, BTreeMap<u64, Vec<(String, Stamp)>>> = BTreeMap::new();
    for (location, lts, stamp) in logical::list(store, namespace)? {
        by_scope
            .entry(scope_of(&policy, &location))
            .or_default()
            .entry(lts)
            .or_default()
            .push((location, stamp));
    }
    if by_scope.is_empty() {
        return Ok(out);
    }
    let judge = Judge {
        store,
        namespace,
        acknowledged: shadow::load_index(store, authority, EntityKind::StockAdjustment)?,
    };
    for (scope, stamps) in by_scope {
        let mut run: Option<Run> = None;
        let close = |run: Option<Run>, out: &mut Removable| {
            let Some(run) = run else { return };
            if run.removable {
                out.ops.push(WriteOp::RemoveAllocations {
                    scope: scope.clone(),
                    from: run.from,
                    to: run.to,
                });
            } else {
                out.forget.extend(run.stamps);
            }
        };
        for (lts, entries) in stamps {
            let mut standing = Standing::Passable;
            for (_, stamp) in &entries {
                match judge.standing(stamp)? {
                    Standing::Held => standing = Standing::Held,
                    Standing::Removable if standing != Standing::Held => {
                        standing = Standing::Removable
                    }
                    _ => {}
                }
            }
            if standing == Standing::Held {
                out.held += 1;
                close(run.take(), &mut out);
                if entries
                    .iter()
                    .all(|(_, s)| now_ms - s.first_seen_ms > RETENTION_MS)
                {
                    tracing::warn!(
                        connector = namespace, scope = %scope, logical_timestamp = lts,
                        "a logical timestamp held back for a week is forgotten: it will never be covered by a range"
                    );
                    out.forget
                        .extend(entries.iter().map(|(location, _)| (location.clone(), lts)));
                }
                continue;
            }
            let here = entries.iter().map(|(location, _)| (location.clone(), lts));
            match run.as_mut() {
                Some(r) if r.to + 1 == lts => {
                    r.to = lts;
                    r.removable |= standing == Standing::Removable;
                    r.stamps.extend(here);
                }
                _ => {
                    close(run.take(), &mut out);
                    run = Some(Run {
                        from: lts,
                        to: lts,
                        removable: standing == Standing::Removable,
                        stamps: here.collect(),
                    });
                }
            }
        }
        close(run.take(), &mut out);
    }
    Ok(out)
}

/// After the target removed `ranges` (`RemoveAllocations` ops): each scope's removed set grows
/// by them (a redelivery inside one is left out from then on), and the stamps they cover are
/// done with.
pub fn acknowledge(
    store: &dyn StateStore,
    batch: &mut WriteBatch,
    namespace: &str,
    ranges: &[(String, u64, u64)],
) -> Result<(), StoreError> {
    if ranges.is_empty() {
        return Ok(());
    }
    let mut by_scope: BTreeMap<&str, logical::Ranges> = BTreeMap::new();
    for (scope, from, to) in ranges {
        let removed = match by_scope.entry(scope) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(logical::removed(store, namespace, scope)?)
            }
        };
        removed.add(*from, *to);
    }
    for (scope, removed) in &by_scope {
        logical::put_removed(batch, namespace, scope, removed);
    }
    for (location, lts, _) in logical::list(store, namespace)? {
        // The op says how it was scoped, whatever the config says now.
        let covered = ranges.iter().any(|(scope, from, to)| {
            (scope == "*" || *scope == location) && (*from..=*to).contains(&lts)
        });
        if covered {
            logical::delete(batch, namespace, &location, lts);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncd_core::model::StockAdjustment;
    use syncd_core::Record;
    use syncd_store::logical::item_ref;
    use syncd_store::{Durability, MemoryStore};

    const POLICY: RangePolicy = RangePolicy {
        per_location: false,
    };

    /// Records an event at `at` the way the planner does: its stamp and its items' lives.
    fn event(store: &MemoryStore, at: u64, kind: StampKind, request: &str, items: &[&str]) {
        let refs: Vec<String> = items.iter().map(|i| item_ref(request, i)).collect();
        let adjustment = |item: &str| format!("adj-{request}-{item}");
        let seen = Stamp {
            kind,
            adjustments: match kind {
                StampKind::Completed => items.iter().map(|i| adjustment(i)).collect(),
                _ => Vec::new(),
            },
            assigned_items: if kind == StampKind::Assigned {
                refs.clone()
            } else {
                Vec::new()
            },
            done_items: if matches!(kind, StampKind::Completed | StampKind::Failed) {
                refs.clone()
            } else {
                Vec::new()
            },
            first_seen_ms: 0,
        };
        let stamp = match logical::get(store, "ns", "DC01", at).unwrap() {
            Some(known) => known.merged(seen),
            None => seen,
        };
        let mut batch = WriteBatch::new();
        logical::put(&mut batch, "ns", "DC01", at, &stamp);
        for (item, reference) in items.iter().zip(&refs) {
            let life = logical::life(store, "ns", reference)
                .unwrap()
                .unwrap_or_default()
                .with(
                    kind,
                    at,
                    (kind == StampKind::Completed).then(|| adjustment(item)),
                    1,
                );
            logical::put_life(&mut batch, "ns", reference, &life);
        }
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
        let key = RecordKey::from_raw(id.to_string());
        page.upsert(&key, record.fingerprint());
        shadow::append(store, &mut batch, "erp", record.entity(), page).unwrap();
        store.commit(batch, Durability::Flushed).unwrap();
    }

    fn ranges(store: &MemoryStore) -> Vec<(u64, u64)> {
        removable(store, "ns", "erp", POLICY, 1_000)
            .unwrap()
            .ops
            .into_iter()
            .map(|op| match op {
                WriteOp::RemoveAllocations { from, to, .. } => (from, to),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn an_assignment_and_its_completion_at_later_timestamps_go_out_together_once_acknowledged() {
        let store = MemoryStore::new();
        event(&store, 13, StampKind::Assigned, "ff5", &["i5"]);
        assert!(ranges(&store).is_empty(), "i5 is still open");
        event(&store, 14, StampKind::Completed, "ff5", &["i5"]);
        assert!(
            ranges(&store).is_empty(),
            "the authority has not taken i5 off yet"
        );
        acknowledge_adjustment(&store, "adj-ff5-i5");
        assert_eq!(ranges(&store), [(13, 14)]);
    }

    #[test]
    fn an_open_item_splits_the_ranges_around_its_timestamp_and_holds_back_nothing_else() {
        let store = MemoryStore::new();
        event(&store, 10, StampKind::Completed, "ff1", &["i1"]);
        event(&store, 11, StampKind::Assigned, "ff2", &["i2"]);
        event(&store, 12, StampKind::Completed, "ff3", &["i3"]);
        acknowledge_adjustment(&store, "adj-ff1-i1");
        acknowledge_adjustment(&store, "adj-ff3-i3");
        assert_eq!(ranges(&store), [(10, 10), (12, 12)]);
        let found = removable(&store, "ns", "erp", POLICY, 1_000).unwrap();
        assert_eq!(found.held, 1);
    }

    #[test]
    fn a_timestamp_never_seen_is_never_covered() {
        let store = MemoryStore::new();
        for (at, request) in [(10, "ff1"), (20, "ff2"), (21, "ff3")] {
            event(&store, at, StampKind::Completed, request, &["i"]);
            acknowledge_adjustment(&store, &format!("adj-{request}-i"));
        }
        assert_eq!(ranges(&store), [(10, 10), (20, 21)]);
    }

    #[test]
    fn failures_and_other_steps_join_ranges_but_make_none_of_their_own() {
        let store = MemoryStore::new();
        event(&store, 10, StampKind::Completed, "ff1", &["i1"]);
        event(&store, 11, StampKind::Failed, "ff2", &["i2"]);
        event(&store, 12, StampKind::Noted, "ff3", &[]);
        event(&store, 13, StampKind::Completed, "ff4", &["i4"]);
        event(&store, 20, StampKind::Failed, "ff5", &["i5"]);
        event(&store, 21, StampKind::Noted, "ff6", &[]);
        acknowledge_adjustment(&store, "adj-ff1-i1");
        acknowledge_adjustment(&store, "adj-ff4-i4");
        let found = removable(&store, "ns", "erp", POLICY, 1_000).unwrap();
        assert_eq!(ranges(&store), [(10, 13)]);
        assert_eq!(
            found.forget,
            [("DC01".to_string(), 20), ("DC01".to_string(), 21)],
            "a run of failures and other steps needs no range"
        );
    }

    #[test]
    fn a_failure_delivered_before_a_completion_at_one_timestamp_waits_for_the_completion() {
        let store = MemoryStore::new();
        event(&store, 10, StampKind::Failed, "ff1", &["i2"]);
        event(&store, 10, StampKind::Completed, "ff1", &["i1"]);
        assert!(ranges(&store).is_empty(), "i1 is not in the authority yet");
        acknowledge_adjustment(&store, "adj-ff1-i1");
        assert_eq!(ranges(&store), [(10, 10)]);
    }

    #[test]
    fn an_acknowledged_range_is_remembered_and_its_stamps_are_done_with() {
        let store = MemoryStore::new();
        event(&store, 10, StampKind::Completed, "ff1", &["i1"]);
        event(&store, 11, StampKind::Assigned, "ff2", &["i2"]);
        acknowledge_adjustment(&store, "adj-ff1-i1");
        let mut batch = WriteBatch::new();
        acknowledge(&store, &mut batch, "ns", &[("*".into(), 10, 10)]).unwrap();
        store.commit(batch, Durability::Flushed).unwrap();
        assert!(logical::removed(&store, "ns", "*").unwrap().contains(10));
        let left: Vec<u64> = logical::list(&store, "ns")
            .unwrap()
            .into_iter()
            .map(|(_, lts, _)| lts)
            .collect();
        assert_eq!(left, [11], "only the open assignment stays");
    }

    #[test]
    fn an_item_life_never_closed_is_forgotten_after_three_months_and_a_closed_one_after_a_week() {
        let store = MemoryStore::new();
        event(&store, 10, StampKind::Assigned, "open", &["i"]);
        event(&store, 11, StampKind::Failed, "done", &["i"]);
        let day: i64 = 24 * 3600 * 1000;
        let forgotten = |now: i64| {
            let mut lives = removable(&store, "ns", "erp", POLICY, now)
                .unwrap()
                .forget_lives;
            lives.sort();
            lives
        };
        assert!(forgotten(day).is_empty());
        assert_eq!(forgotten(8 * day), ["done/i"]);
        assert_eq!(forgotten(91 * day), ["done/i", "open/i"]);
    }
}
