//! Logical timestamps of fulfillment events, recorded as a run plans them: what the allocation
//! ranges of a target like NewStore are later computed from (see `allocations`). Only records
//! that are fulfillment events reach this module.

use syncd_core::model::{FulfillmentEvent, FulfillmentEventKind};
use syncd_store::{logical, Stamp, StampKind, StoreError};

use crate::planner::{PagePlan, Planner};
use crate::transform;

impl Planner<'_> {
    /// Records the logical timestamp of a fulfillment event (merged with what earlier
    /// deliveries said), under the source connector and the event's own location.
    pub(crate) fn stamp(
        &self,
        plan: &mut PagePlan,
        event: &FulfillmentEvent,
    ) -> Result<(), StoreError> {
        let seen = Stamp {
            kind: match event.kind {
                FulfillmentEventKind::Assigned => StampKind::Assigned,
                FulfillmentEventKind::ItemsCompleted => StampKind::Completed,
                FulfillmentEventKind::ItemsFailed => StampKind::Failed,
            },
            adjustments: transform::adjustments_of(event)
                .into_iter()
                .map(|a| a.key().to_string())
                .collect(),
            assigned_items: match event.kind {
                FulfillmentEventKind::Assigned => {
                    event.items.iter().map(|i| i.id.clone()).collect()
                }
                _ => Vec::new(),
            },
            done_items: match event.kind {
                FulfillmentEventKind::Assigned => Vec::new(),
                _ => event.items.iter().map(|i| i.id.clone()).collect(),
            },
            first_seen_ms: syncd_core::clock::now_millis(),
        };
        let ts = event.logical_timestamp;
        let earlier = plan
            .stamps
            .iter()
            .position(|(l, t, _)| l == &event.location && *t == ts);
        let known = match earlier {
            Some(at) => Some(plan.stamps.remove(at).2),
            None => logical::get(self.store, &self.config.from, &event.location, ts)?,
        };
        let stamp = match known {
            Some(known) => known.merged(seen),
            None => seen,
        };
        plan.stamps.push((event.location.clone(), ts, stamp));
        Ok(())
    }
}
