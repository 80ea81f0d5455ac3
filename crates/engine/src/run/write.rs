//! Writing planned records and acknowledging each call: the shadow, the link base, the outbox,
//! dead letters and the page items settled, in one commit per call. A staging sink's
//! acknowledgements go to pending shadow pages that its `finish` makes live.

use syncd_core::WriteOp;
use syncd_store::{dead_letters, link_base, shadow, Durability, ShadowPage, Stage, WriteBatch};

use crate::error::RunError;
use crate::planner::Planned;
use crate::state::commit;
use crate::writer::{Settled, Writer};

use super::RunCtx;

/// What a batch of writes is, for the report and the page items.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Planned from pages this run read: settles their items.
    Pages,
    /// Replayed from an earlier run's outbox.
    Replay,
    /// Planned after the read (deletes of missing records).
    AfterRead,
}

impl RunCtx<'_> {
    /// Writes `planned` in calls of the pipeline's batch size; see [`RunCtx::write_in`].
    pub async fn write(
        &mut self,
        planned: Vec<Planned>,
        origin: Origin,
    ) -> Result<Option<RunError>, RunError> {
        self.write_in(planned, origin, self.p.max_batch).await
    }

    /// Writes `planned` in calls of at most `max_batch`, committing each call's outcomes;
    /// returns the failure for writes that kept failing (they stay in the outbox) or stops at
    /// an error no record is to blame for.
    pub async fn write_in(
        &mut self,
        planned: Vec<Planned>,
        origin: Origin,
        max_batch: usize,
    ) -> Result<Option<RunError>, RunError> {
        if planned.is_empty() {
            return Ok(None);
        }
        let p = self.p;
        let stop = self.stop.clone();
        let mut writer = Writer::new(
            &p.target,
            p.config.entity,
            &p.config.retry,
            max_batch,
            planned,
            &stop,
        );
        loop {
            // A staging sink's calls reach nothing before `finish`: they need no intent.
            let intent = match self.staged {
                None => Some((&self.store, &mut self.book)),
                Some(_) => None,
            };
            let Some(settled) = writer.step(&mut self.report, intent).await? else {
                break;
            };
            self.acknowledge(settled, origin).await?;
            if self.stop.is_cancelled() {
                return Ok(Some(RunError::Stopped));
            }
        }
        Ok(writer.failure())
    }

    async fn acknowledge(&mut self, settled: Settled, origin: Origin) -> Result<(), RunError> {
        let p = self.p;
        let name = &p.config.name;
        let mut batch = WriteBatch::new();
        let mut page = ShadowPage::default();
        let mut changes = Vec::with_capacity(settled.applied.len());
        let mut removed = Vec::new();
        for planned in &settled.applied {
            match &planned.op {
                WriteOp::Upsert { record } => {
                    let fp = planned.fingerprint.unwrap_or_else(|| record.fingerprint());
                    page.upsert_with(|out| record.key_into(out), fp);
                    if let Some(namespace) = &planned.link_base {
                        link_base::put(&mut batch, namespace, record, fp);
                    }
                    changes.push((planned.key_hash, Some(fp.0)));
                    if let Some(live) = self.indexes.live.as_mut() {
                        live.insert(record.key(), record.clone());
                    }
                    match origin {
                        Origin::Replay => self.report.replayed += 1,
                        Origin::Pages | Origin::AfterRead => self.report.written += 1,
                    }
                }
                WriteOp::RemoveAllocations { scope, from, to } => {
                    removed.push((scope.clone(), *from, *to));
                    self.report.allocation_ranges += 1;
                }
                WriteOp::Delete { key, .. } => {
                    page.delete(key);
                    changes.push((planned.key_hash, None));
                    if let Some(live) = self.indexes.live.as_mut() {
                        live.remove(key);
                    }
                    self.report.deleted += 1;
                }
            }
            self.book.settle(planned);
            if origin == Origin::Pages {
                planned
                    .items
                    .iter()
                    .for_each(|i| self.open.settle(planned.page, i));
            }
        }
        crate::allocations::acknowledge(
            self.store.as_ref(),
            &mut batch,
            p.target.name(),
            &removed,
        )?;
        drop_aside(settled.applied);
        self.indexes.target.apply_many(&changes);
        for (planned, error, attempts) in settled.rejected {
            let key = planned.op.key();
            let mut letter = self.planner().dead_letter(
                Stage::Write,
                dead_letters::record_id(key.as_str()),
                error.to_string(),
            );
            letter.key = Some(key.to_string());
            letter.attempts = attempts;
            self.book.settle(&planned);
            if origin == Origin::Pages {
                planned
                    .items
                    .iter()
                    .for_each(|i| self.open.settle(planned.page, i));
            }
            if let WriteOp::Upsert { record } = planned.op {
                letter.record = Some(record);
            }
            dead_letters::put(&mut batch, &letter);
            self.report.dead_lettered += 1;
            tracing::warn!(pipeline = %name, key = %key, error = %error, "dead-lettered");
        }
        // Acknowledged calls are flushed: a buffered ack lost to a crash would leave the call in
        // the outbox, and the restart would send it again. A staging sink's acks wait for
        // `finish` anyway: buffered is enough until then.
        let durability = match self.staged.is_some() {
            true => Durability::Buffered,
            false => Durability::Flushed,
        };
        match self.staged.as_mut() {
            None => {
                self.book.write_changed(&mut batch);
                self.append_shadow(&mut batch, page)?;
            }
            Some(staged) => {
                self.book.write_changed(&mut staged.deferred);
                staged.page.append(page);
                if staged.page.len() >= shadow::PAGE_ENTRIES {
                    let full = std::mem::take(&mut staged.page);
                    self.append_shadow(&mut batch, full)?;
                }
            }
        }
        commit(&self.store, batch, durability).await
    }
}

/// From this many written records up, freeing them is left to a thread of its own: the run's
/// sequential path has better things to do than return thousands of strings to the allocator.
const DROP_ASIDE_FROM: usize = 4_096;

fn drop_aside(applied: Vec<Planned>) {
    if applied.len() < DROP_ASIDE_FROM {
        return;
    }
    // If no thread can be had, the records are freed here when the closure is dropped.
    let _ = std::thread::Builder::new()
        .name("syncd-free".into())
        .spawn(move || drop(applied));
}
