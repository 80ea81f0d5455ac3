//! Logical timestamps of fulfillment events, recorded as a run plans them: what the allocation
//! ranges of a target like NewStore are later computed from (see `allocations`). Each event
//! has a timestamp of its own, so an item's assignment and its completion sit at different
//! ones: the stamp says what happened at a timestamp, the item's life ties its events
//! together. Only records that are fulfillment events reach this module.

use syncd_core::model::{FulfillmentEvent, FulfillmentEventKind};
use syncd_store::logical::{self, item_ref, ItemLife};
use syncd_store::{Stamp, StampKind, StoreError};

use crate::planner::{PagePlan, Planner};
use crate::transform;

impl Planner<'_> {
    /// Whether the target removed `scope`'s allocations at `ts` (the set read once a page).
    fn removed_at(&self, namespace: &str, scope: &str, ts: u64) -> Result<bool, StoreError> {
        let mut removed = self.removed.lock().expect("removed lock");
        if !removed.contains_key(scope) {
            removed.insert(
                scope.to_string(),
                logical::removed(self.store, namespace, scope)?,
            );
        }
        Ok(removed[scope].contains(ts))
    }

    /// Records the logical timestamp of a fulfillment event (merged with what earlier
    /// deliveries said), under the source connector and the event's own location, and the
    /// event in the life of each of its items. A redelivery of an event whose allocations the
    /// target already removed is left out: it would only send that range again.
    pub(crate) fn stamp(
        &self,
        plan: &mut PagePlan,
        event: &FulfillmentEvent,
    ) -> Result<(), StoreError> {
        let namespace = &self.config.from;
        let ts = event.logical_timestamp;
        for scope in ["*", event.location.as_str()] {
            if self.removed_at(namespace, scope, ts)? {
                return Ok(());
            }
        }
        let kind = match event.kind {
            FulfillmentEventKind::Assigned => StampKind::Assigned,
            FulfillmentEventKind::ItemsCompleted => StampKind::Completed,
            FulfillmentEventKind::ItemsFailed => StampKind::Failed,
            FulfillmentEventKind::Noted => StampKind::Noted,
        };
        let adjustments = transform::adjustments_of(event);
        let now_ms = syncd_core::clock::now_millis();
        let items: Vec<String> = event
            .items
            .iter()
            .map(|i| item_ref(&event.id, &i.id))
            .collect();
        let seen = Stamp {
            kind,
            adjustments: adjustments.iter().map(|a| a.key().to_string()).collect(),
            assigned_items: match kind {
                StampKind::Assigned => items.clone(),
                _ => Vec::new(),
            },
            done_items: match kind {
                StampKind::Completed | StampKind::Failed => items.clone(),
                _ => Vec::new(),
            },
            first_seen_ms: now_ms,
        };
        let earlier = plan
            .stamps
            .iter()
            .position(|(l, t, _)| l == &event.location && *t == ts);
        let known = match earlier {
            Some(at) => Some(plan.stamps.remove(at).2),
            None => logical::get(self.store, namespace, &event.location, ts)?,
        };
        let stamp = match known {
            Some(known) => known.merged(seen),
            None => seen,
        };
        plan.stamps.push((event.location.clone(), ts, stamp));

        if kind == StampKind::Noted {
            return Ok(());
        }
        for (item, reference) in event.items.iter().zip(items) {
            let adjustment = adjustments
                .iter()
                .find(|a| a.id == transform::adjustment_id(&event.id, &item.id))
                .map(|a| a.key().to_string());
            let earlier = plan.lives.iter().position(|(r, _)| *r == reference);
            let known = match earlier {
                Some(at) => plan.lives.remove(at).1,
                None => logical::life(self.store, namespace, &reference)?.unwrap_or_default(),
            };
            let life: ItemLife = known.with(kind, ts, adjustment, now_ms);
            plan.lives.push((reference, life));
        }
        Ok(())
    }
}
