//! The page loop: read a page, plan it, put its dead letters and stamps down, write what is due,
//! and move the cursor over what is accounted for.

use std::collections::HashSet;

use syncd_core::WriteOp;
use syncd_store::{cursors, dead_letters, link_base, logical, Durability, WriteBatch};

use crate::config::Mode;
use crate::error::RunError;
use crate::planner::Planned;
use crate::progress::Progress;
use crate::state::commit;

use super::write::Origin;
use super::RunCtx;

/// The most keys a run makes room for up front from its source's size (a wrong size must not
/// allocate without bound; past it the index grows as it fills).
const MOST_RESERVED: usize = 50_000_000;

impl RunCtx<'_> {
    /// Reads the source to its end, writing as batches fill; gives the key hashes seen when
    /// the run must delete what the snapshot no longer holds.
    pub async fn read_plan_write(
        &mut self,
        progress: &dyn Progress,
        ranges: &mut Vec<WriteOp>,
    ) -> Result<Option<HashSet<u128>>, RunError> {
        let p = self.p;
        let track_seen = p.config.mode == Mode::Full && p.config.delete_missing;
        let mut seen = track_seen.then(HashSet::new);
        let mut cursor = self.start.clone();
        // Writes waiting to fill a batch: batches are cut across pages so that small source
        // pages still make full write calls.
        let mut waiting: Vec<Planned> = Vec::new();
        let mut reserved = false;
        loop {
            if self.stop.is_cancelled() {
                return Err(RunError::Stopped);
            }
            let page = self
                .reader
                .read(p, self.store.as_ref(), cursor.clone(), &mut self.report)
                .await?;
            let last = page.done || page.items.is_empty();
            if let Some(size) = page.size {
                self.report.extent = Some(crate::report::Extent::after(self.report.extent, size));
            }
            let size = page.size;
            let (items, cursors) = page.into_parts();
            let positions = items.iter().map(|i| i.position).collect();
            let plan =
                self.planner()
                    .plan_page(items, &self.indexes.target, self.link_view().as_ref())?;
            if !reserved && !plan.writes.is_empty() {
                // On a cold run (nothing held yet) every record read is a write: the first page
                // says how many the source will bring, and the target's index makes room for
                // them now instead of growing through every power of two. Not on a warm run: a
                // page of clustered changes would overstate the rest, and growth is rare there.
                if let Some(size) = size.filter(|s| s.read > 0 && self.indexes.target.is_empty()) {
                    let share = (size.read + size.left) as f64 / size.read as f64;
                    let expected = (plan.writes.len() as f64 * share).min(MOST_RESERVED as f64);
                    self.indexes.target.reserve(expected as usize);
                }
                reserved = true;
            }
            self.report.read += plan.read;
            self.report.unchanged += plan.unchanged;
            self.report.echoes += plan.echoes;
            self.report.skipped += plan.skipped;
            self.report.conflicts += plan.conflicts;
            if let Some(seen) = seen.as_mut() {
                seen.extend(plan.seen.iter().copied());
            }
            let seq = self.open.push(positions, cursors);
            for &i in &plan.settled {
                self.open.settle(seq, i);
            }

            // This page's dead letters, stamps and link bases, before any of its writes.
            let mut batch = WriteBatch::new();
            for (item, letter) in &plan.dead {
                dead_letters::put(&mut batch, letter);
                self.open.settle(seq, *item);
                self.report.dead_lettered += 1;
            }
            if !plan.conflict_log.is_empty() {
                syncd_store::conflicts::put(
                    self.store.as_ref(),
                    &mut batch,
                    syncd_core::clock::now_millis(),
                    &plan.conflict_log,
                )?;
            }
            for (location, lts, stamp) in &plan.stamps {
                logical::put(&mut batch, &p.config.from, location, *lts, stamp);
            }
            for (item, life) in &plan.lives {
                logical::put_life(&mut batch, &p.config.from, item, life);
            }
            if let Some(policy) = &p.policy {
                for record in &plan.base_updates {
                    link_base::put(
                        &mut batch,
                        &policy.base_namespace(),
                        record,
                        record.fingerprint(),
                    );
                }
            }
            let durability = match plan.stamps.is_empty() && plan.lives.is_empty() {
                true => Durability::Buffered,
                false => Durability::Flushed,
            };
            commit(&self.store, batch, durability).await?;
            let mut writes = plan.writes;
            writes.iter_mut().for_each(|w| w.page = seq);
            match waiting.is_empty() {
                // A write is some hundred bytes: the page's vector is taken, not copied.
                true => waiting = writes,
                false => waiting.append(&mut writes),
            }

            // Writes: full batches now, the remainder once the source has no more.
            let ready = match last {
                true => waiting.len(),
                false => waiting.len() - waiting.len() % p.max_batch,
            };
            let rest = waiting.split_off(ready);
            let now = std::mem::replace(&mut waiting, rest);
            let failure = match last {
                true => self.write_last(now, ranges).await?,
                false => self.write(now, Origin::Pages).await?,
            };

            // The cursor, over fully accounted pages and the settled prefix of the next; a
            // staging sink's only once it finished.
            if self.staged.is_none() {
                self.commit_cursor().await?;
            }
            progress.page_done(&self.report);
            if let Some(e) = failure {
                return Err(e);
            }
            if last {
                return Ok(seen);
            }
            cursor = Some(self.open.next_cursor());
        }
    }

    /// Commits (flushed) the cursor over what is accounted for, if it moved.
    pub async fn commit_cursor(&mut self) -> Result<(), RunError> {
        let mut batch = WriteBatch::new();
        if self.cursor_into(&mut batch) {
            syncd_core::crash::point("acked");
            commit(&self.store, batch, Durability::Flushed).await?;
        }
        Ok(())
    }

    /// Puts the cursor over what is accounted for in `batch`, if it moved and the pipeline
    /// keeps one (a full snapshot starts from the beginning every run).
    pub fn cursor_into(&mut self, batch: &mut WriteBatch) -> bool {
        match self.open.release() {
            Some(next) if self.p.config.mode == Mode::Incremental => {
                cursors::put(batch, &self.p.config.name, &next);
                true
            }
            _ => false,
        }
    }
}
