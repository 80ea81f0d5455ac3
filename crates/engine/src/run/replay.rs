//! Replaying what an interrupted run left in the outbox, before anything new is read. Writes
//! are idempotent upserts by key, so a call that did reach the target changes nothing again.

use syncd_core::WriteOp;
use syncd_store::{outbox, Durability, WriteBatch};

use crate::error::RunError;
use crate::planner::Planned;
use crate::state::commit;

use super::write::Origin;
use super::RunCtx;

impl RunCtx<'_> {
    /// Sends every write left in the outbox; allocation ranges go, as in a run, with the last
    /// positions in one call after the rest, or are dropped (to be recomputed from the stamps)
    /// if a replayed position was refused.
    pub async fn replay_outbox(&mut self) -> Result<(), RunError> {
        let name = &self.p.config.name;
        let left = outbox::list(self.store.as_ref(), name)?;
        if left.is_empty() {
            return Ok(());
        }
        let pending = self.book.adopt(left);
        tracing::info!(pipeline = %name, writes = pending.len(), "replaying writes left by an interrupted run");
        let (ranges, mut planned): (Vec<Planned>, Vec<Planned>) = pending
            .into_iter()
            .partition(|p| matches!(p.op, WriteOp::RemoveAllocations { .. }));
        let rejected_before = self.report.dead_lettered;
        let tail = match ranges.is_empty() {
            true => Vec::new(),
            false => {
                let room = self.p.max_batch.saturating_sub(ranges.len());
                planned.split_off(planned.len().saturating_sub(room))
            }
        };
        if let Some(e) = self.write(planned, Origin::Replay).await? {
            return Err(e);
        }
        if ranges.is_empty() || self.report.dead_lettered > rejected_before {
            // A replayed position was refused: the tail goes alone, the ranges are dropped (not
            // acknowledged) and the stamps give them again once a clean run allows.
            let mut batch = WriteBatch::new();
            for range in &ranges {
                self.book.settle(range);
            }
            self.book.write_changed(&mut batch);
            commit(&self.store, batch, Durability::Flushed).await?;
            if let Some(e) = self.write(tail, Origin::Replay).await? {
                return Err(e);
            }
        } else {
            let mut last_call = tail;
            last_call.extend(ranges);
            let one_call = last_call.len();
            if let Some(e) = self.write_in(last_call, Origin::Replay, one_call).await? {
                return Err(e);
            }
        }
        commit(&self.store, WriteBatch::new(), Durability::Flushed).await
    }
}
