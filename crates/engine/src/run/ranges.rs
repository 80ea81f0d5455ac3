//! The hook for targets that remove allocations by logical-timestamp range (NewStore): the
//! ranges are computed before the source is read and go out with the run's last positions, in
//! one call made only once every earlier write of the run is applied. Nothing here runs for a
//! sink that does not declare `allocation_ranges()`.

use syncd_core::WriteOp;
use syncd_store::{logical, Durability, WriteBatch};

use crate::error::RunError;
use crate::planner::Planned;
use crate::state::commit;

use super::write::Origin;
use super::RunCtx;

impl RunCtx<'_> {
    /// Before the source is read: prunes the inbox the cursor moved past and computes the
    /// allocation ranges this run may remove (a range may only cover what the stock read after
    /// it holds).
    pub async fn before_read(&mut self) -> Result<Vec<WriteOp>, RunError> {
        let p = self.p;
        let mut cleanup = WriteBatch::new();
        if p.from_inbox {
            p.prune_inbox(self.store.as_ref(), &mut cleanup)?;
        }
        let mut ranges = Vec::new();
        if let Some(policy) = p
            .target
            .connector
            .sink()
            .and_then(|s| s.allocation_ranges())
        {
            let found = crate::allocations::removable(
                self.store.as_ref(),
                p.target.name(),
                p.source.name(),
                policy,
                syncd_core::clock::now_millis(),
            )?;
            for (location, lts) in &found.forget {
                logical::delete(&mut cleanup, p.target.name(), location, *lts);
            }
            for item in &found.forget_lives {
                logical::delete_life(&mut cleanup, p.target.name(), item);
            }
            self.report.allocations_held = found.held;
            ranges = found.ops;
        }
        commit(&self.store, cleanup, Durability::Buffered).await?;
        Ok(ranges)
    }

    /// Writes the run's last positions; with allocation ranges, the last of them go in one call
    /// with the ranges, made only after the rest applied, and not at all if anything of the
    /// run was dead-lettered: a range must never be applied without every position of its run.
    pub async fn write_last(
        &mut self,
        mut now: Vec<Planned>,
        ranges: &mut Vec<WriteOp>,
    ) -> Result<Option<RunError>, RunError> {
        if ranges.is_empty() {
            return self.write(now, Origin::Pages).await;
        }
        let room = self.p.max_batch.saturating_sub(ranges.len());
        let tail = now.split_off(now.len().saturating_sub(room));
        if let Some(failure) = self.write(now, Origin::Pages).await? {
            return Ok(Some(failure));
        }
        let ranges = std::mem::take(ranges);
        let mut last_call = tail;
        if self.report.dead_lettered > 0 {
            tracing::warn!(
                pipeline = %self.p.config.name,
                "records of this run were dead-lettered: allocation ranges wait for a clean run"
            );
        } else {
            last_call.extend(ranges.into_iter().map(Planned::unattached));
        }
        let one_call = last_call.len().max(1);
        self.write_in(last_call, Origin::Pages, one_call).await
    }
}
