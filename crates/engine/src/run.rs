//! A pipeline and its run, in the commit order of DESIGN.md:
//! 1. planned writes go to the outbox, flushed, before the first write;
//! 2. each call's acknowledged writes drop their outbox entry and update the shadow in one
//!    transaction, each rejected write becomes a dead letter in the same way;
//! 3. the cursor moves only over items that are all accounted for, flushed.
//!
//! On start, writes left in the outbox by an interrupted run are replayed first.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use syncd_core::{Cursor, ErrorClass, Page, ReadMode, ReadRequest, Record, RecordKey, WriteOp};
use syncd_store::{
    cursors, dead_letters, inbox, logical, outbox, runs, shadow, Durability, OutboxEntry,
    ShadowIndex, Stage, StateStore, WriteBatch,
};
use tokio_util::sync::CancellationToken;

use crate::checkpoint::OpenPages;
use crate::config::{LinkConfig, Mode, PipelineConfig};
use crate::diff;
use crate::error::RunError;
use crate::handle::ConnectorHandle;
use crate::link::FieldPolicy;
use crate::planner::{LinkView, Planned, Planner};
use crate::progress::Progress;
use crate::report::{RunOutcome, RunReport};
use crate::retry::backoff;
use crate::state::commit;
use crate::writer::Writer;

/// A pipeline ready to run: its config and its two connectors.
pub struct Pipeline {
    config: PipelineConfig,
    source: ConnectorHandle,
    target: ConnectorHandle,
    policy: Option<FieldPolicy>,
    max_batch: usize,
    /// The source's events arrive by webhook: read them from its inbox.
    from_inbox: bool,
    stop: CancellationToken,
}

/// What a run diffs against, kept in memory and updated as writes are acknowledged: the
/// target's shadow, and on a link the target's live records.
pub(crate) struct Indexes {
    pub target: ShadowIndex,
    pub live: Option<HashMap<RecordKey, Record>>,
}

impl Pipeline {
    /// Checks that the connectors can carry the pipeline's entity, and builds it.
    pub fn new(
        config: PipelineConfig,
        source: ConnectorHandle,
        target: ConnectorHandle,
        links: &[LinkConfig],
    ) -> Result<Self, String> {
        let entity = config.entity;
        let from_inbox = source
            .connector
            .webhooks()
            .is_some_and(|w| w.entities().contains(&entity));
        if from_inbox && config.mode == Mode::Full {
            return Err(format!(
                "connector `{}` delivers {entity} by webhook, once each: use mode = \"incremental\"",
                source.name()
            ));
        }
        if !from_inbox
            && (source.connector.source().is_none()
                || !source.connector.capabilities().reads.contains(&entity))
        {
            return Err(format!(
                "connector `{}` cannot read {entity}",
                source.name()
            ));
        }
        let written = config.write_as.unwrap_or(entity);
        if !crate::transform::supported(entity, written) {
            return Err(format!("{entity} cannot be written as {written}"));
        }
        let caps = target.connector.capabilities();
        if target.connector.sink().is_none() || !caps.writes.contains(&written) {
            return Err(format!(
                "connector `{}` cannot write {written}",
                target.name()
            ));
        }
        let max_batch = match config.batch_size {
            Some(0) => return Err("batch_size must be at least 1".into()),
            Some(n) if n > caps.max_batch => {
                return Err(format!(
                    "batch_size {n} exceeds the {} limit of {} writes per call",
                    target.name(),
                    caps.max_batch
                ))
            }
            Some(n) => n,
            None => caps.max_batch.max(1),
        };
        if config.page_size == 0 {
            return Err("page_size must be at least 1".into());
        }
        let policy = links
            .iter()
            .filter(|l| l.entity == entity)
            .find_map(|l| FieldPolicy::for_pipeline(l, &config.from, &config.to));
        if policy.is_some()
            && (target.connector.source().is_none() || !caps.reads.contains(&entity))
        {
            return Err(format!(
                "connector `{}` is one side of a link but cannot read {entity}: a link merges with the target's live records",
                target.name()
            ));
        }
        Ok(Pipeline {
            config,
            source,
            target,
            policy,
            max_batch,
            from_inbox,
            stop: CancellationToken::new(),
        })
    }

    /// Makes runs stop early once `stop` is cancelled: a write call in flight finishes and is
    /// committed, no new call or page read starts, and the cursor stays before what is unwritten.
    pub fn stop_on(mut self, stop: CancellationToken) -> Self {
        self.stop = stop;
        self
    }

    /// The pipeline's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The pipeline's config.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// The target connector's name (its shadow's namespace).
    pub fn target_name(&self) -> &str {
        self.target.name()
    }

    /// Runs the pipeline once and returns its report (also kept in the run history).
    pub async fn run(&self, store: Arc<dyn StateStore>, progress: &dyn Progress) -> RunReport {
        let started = Instant::now();
        let started_ms = chrono::Utc::now().timestamp_millis();
        let mut report = RunReport::start(&self.config.name);
        let result = self.run_inner(&store, &mut report, progress).await;
        report.duration_ms = started.elapsed().as_millis() as u64;
        report.pending = outbox::depth(store.as_ref(), &self.config.name).unwrap_or(0) as u64;
        match result {
            Ok(()) => tracing::info!(
                pipeline = %self.config.name, read = report.read, written = report.written,
                dead_lettered = report.dead_lettered, "run succeeded"
            ),
            Err(RunError::Stopped) => {
                tracing::info!(pipeline = %self.config.name, written = report.written, "run stopped early by shutdown; the rest waits for the next run");
                report.outcome = RunOutcome::Stopped;
            }
            Err(e) => {
                tracing::warn!(pipeline = %self.config.name, error = %e, "run failed");
                report.outcome = match e {
                    RunError::Stopped => RunOutcome::Stopped,
                    e => RunOutcome::Failed(e.to_string()),
                };
            }
        }
        let mut batch = WriteBatch::new();
        let kept = runs::put(
            store.as_ref(),
            &mut batch,
            &self.config.name,
            started_ms,
            &report,
        )
        .map(|_| batch);
        let kept = match kept {
            Ok(batch) => commit(&store, batch, Durability::Flushed).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = kept {
            tracing::warn!(pipeline = %self.config.name, error = %e, "could not keep the run report");
        }
        report
    }

    pub(crate) fn planner<'a>(&'a self, store: &'a dyn StateStore) -> Planner<'a> {
        Planner {
            config: &self.config,
            store,
        }
    }

    pub(crate) fn link_view<'a>(&'a self, indexes: &'a Indexes) -> Option<LinkView<'a>> {
        match (&self.policy, &indexes.live) {
            (Some(policy), Some(live)) => Some(LinkView { policy, live }),
            _ => None,
        }
    }

    pub(crate) async fn load_indexes(
        &self,
        store: &dyn StateStore,
        report: &mut RunReport,
    ) -> Result<Indexes, RunError> {
        let live = match self.policy {
            Some(_) => Some(self.read_target_snapshot(report).await?),
            None => None,
        };
        Ok(Indexes {
            target: shadow::load_index(store, self.target.name(), self.config.entity)?,
            live,
        })
    }

    /// Reads everything the target holds now: a link merges with live values, not remembered ones.
    async fn read_target_snapshot(
        &self,
        report: &mut RunReport,
    ) -> Result<HashMap<RecordKey, Record>, RunError> {
        let mut live = HashMap::new();
        let mut cursor = None;
        loop {
            let page = read_with_retry(
                &self.target,
                &self.config,
                ReadMode::Full,
                cursor,
                report,
                &self.stop,
            )
            .await?;
            for item in &page.items {
                if let Ok(record) = &item.record {
                    live.insert(record.key(), record.clone());
                }
            }
            if page.done || page.items.is_empty() {
                return Ok(live);
            }
            cursor = Some(page.next);
        }
    }

    pub(crate) fn start_cursor(&self, store: &dyn StateStore) -> Result<Option<Cursor>, RunError> {
        Ok(match self.config.mode {
            Mode::Incremental => cursors::get(store, &self.config.name)?,
            Mode::Full => None,
        })
    }

    pub(crate) async fn read_page(
        &self,
        store: &dyn StateStore,
        cursor: Option<Cursor>,
        report: &mut RunReport,
    ) -> Result<Page, RunError> {
        if self.from_inbox {
            return self.read_inbox(store, cursor);
        }
        let mode = match self.config.mode {
            Mode::Incremental => ReadMode::Incremental,
            Mode::Full => ReadMode::Full,
        };
        read_with_retry(&self.source, &self.config, mode, cursor, report, &self.stop).await
    }

    async fn run_inner(
        &self,
        store: &Arc<dyn StateStore>,
        report: &mut RunReport,
        progress: &dyn Progress,
    ) -> Result<(), RunError> {
        let mut indexes = self.load_indexes(store.as_ref(), report).await?;
        self.replay_outbox(store, &mut indexes, report).await?;
        let mut cleanup = WriteBatch::new();
        if self.from_inbox {
            self.prune_inbox(store.as_ref(), &mut cleanup)?;
        }
        // Before the source is read: a range may only cover what the stock read after it holds.
        let mut removable = self.removable_ranges(store.as_ref(), &mut cleanup, report)?;
        commit(store, cleanup, Durability::Buffered).await?;

        let full = self.config.mode == Mode::Full;
        let mut seen: HashSet<u128> = HashSet::new();
        let mut cursor = self.start_cursor(store.as_ref())?;
        // Pages whose items are not all accounted for yet, oldest first, and writes waiting to
        // fill a batch: batches are cut across pages so that small source pages still make
        // full write calls.
        let mut open = OpenPages::default();
        let mut waiting: Vec<Planned> = Vec::new();
        loop {
            if self.stop.is_cancelled() {
                return Err(RunError::Stopped);
            }
            let page = self
                .read_page(store.as_ref(), cursor.clone(), report)
                .await?;
            let last = page.done || page.items.is_empty();
            let plan = self.planner(store.as_ref()).plan_page(
                &page.items,
                &indexes.target,
                self.link_view(&indexes).as_ref(),
            )?;
            report.read += plan.read;
            report.unchanged += plan.unchanged;
            report.echoes += plan.echoes;
            report.skipped += plan.skipped;
            report.conflicts += plan.conflicts;
            if full && self.config.delete_missing {
                seen.extend(plan.seen.iter().cloned());
            }
            let seq = open.push(page);
            for &i in &plan.settled {
                open.settle(seq, i);
            }

            // 1. Intent first: the outbox and this page's dead letters, on disk before any write.
            let mut batch = WriteBatch::new();
            for planned in &plan.writes {
                let entry = OutboxEntry {
                    op: planned.op.clone(),
                    link_base: planned.link_base.clone(),
                };
                outbox::put(&mut batch, &self.config.name, &entry);
            }
            for (item, letter) in &plan.dead {
                dead_letters::put(&mut batch, letter);
                open.settle(seq, *item);
                report.dead_lettered += 1;
            }
            for (location, lts, stamp) in &plan.stamps {
                logical::put(&mut batch, &self.config.from, location, *lts, stamp);
            }
            if let Some(policy) = &self.policy {
                for record in &plan.base_updates {
                    shadow::put(
                        &mut batch,
                        &policy.base_namespace(),
                        record,
                        record.fingerprint(),
                    );
                }
            }
            commit(store, batch, Durability::Flushed).await?;
            waiting.extend(plan.writes.into_iter().map(|p| Planned { page: seq, ..p }));

            // 2. Writes: full batches now, the remainder once the source has no more.
            let ready = if last {
                waiting.len()
            } else {
                waiting.len() - waiting.len() % self.max_batch
            };
            let rest = waiting.split_off(ready);
            let mut now = std::mem::replace(&mut waiting, rest);
            // The run's allocation ranges go out with its last positions, in one call made
            // only once every earlier write of the run is applied.
            let tail = if last && !removable.is_empty() {
                let room = self.max_batch.saturating_sub(removable.len());
                now.split_off(now.len().saturating_sub(room))
            } else {
                Vec::new()
            };
            let mut failure = if now.is_empty() {
                None
            } else {
                self.write_all(store, now, Some(&mut open), &mut indexes, report, false)
                    .await?
            };
            if last && failure.is_none() && (!removable.is_empty() || !tail.is_empty()) {
                let ranges = std::mem::take(&mut removable);
                failure = self
                    .write_with_ranges(store, tail, ranges, &mut open, &mut indexes, report)
                    .await?;
            }

            // 3. The cursor, over fully accounted pages and the settled prefix of the next.
            if let Some(next) = open.release() {
                if !full {
                    let mut batch = WriteBatch::new();
                    cursors::put(&mut batch, &self.config.name, &next);
                    commit(store, batch, Durability::Flushed).await?;
                }
            }
            progress.page_done(report);
            if let Some(e) = failure {
                return Err(e);
            }
            if last {
                break;
            }
            cursor = Some(open.next_cursor());
        }
        commit(store, WriteBatch::new(), Durability::Flushed).await?;

        if full && self.config.delete_missing {
            if report.dead_lettered > 0 {
                tracing::warn!(
                    pipeline = %self.config.name,
                    dead_lettered = report.dead_lettered,
                    "snapshot had dead letters: deletes are held back so that an unreadable row never deletes its record"
                );
            } else {
                self.delete_missing(store, &seen, &mut indexes, report)
                    .await?;
            }
        }
        Ok(())
    }

    /// Writes the run's last positions and its allocation ranges in one call. The ranges go
    /// in the outbox only now, and not at all if anything of the run was dead-lettered: a range
    /// must never be applied without every position of its run.
    async fn write_with_ranges(
        &self,
        store: &Arc<dyn StateStore>,
        tail: Vec<Planned>,
        ranges: Vec<WriteOp>,
        open: &mut OpenPages,
        indexes: &mut Indexes,
        report: &mut RunReport,
    ) -> Result<Option<RunError>, RunError> {
        let mut planned = tail;
        if report.dead_lettered > 0 && !ranges.is_empty() {
            tracing::warn!(
                pipeline = %self.config.name,
                "records of this run were dead-lettered: allocation ranges wait for a clean run"
            );
        } else if !ranges.is_empty() {
            let mut batch = WriteBatch::new();
            for op in ranges {
                outbox::put(
                    &mut batch,
                    &self.config.name,
                    &OutboxEntry {
                        op: op.clone(),
                        link_base: None,
                    },
                );
                planned.push(Planned {
                    op,
                    fingerprint: None,
                    link_base: None,
                    page: 0,
                    items: Vec::new(),
                });
            }
            commit(store, batch, Durability::Flushed).await?;
        }
        if planned.is_empty() {
            return Ok(None);
        }
        let one_call = planned.len();
        self.write_all_in(store, planned, Some(open), indexes, report, false, one_call)
            .await
    }

    /// The allocation ranges this run may remove, when the target takes them; stamps already
    /// accounted for are deleted in `cleanup`.
    fn removable_ranges(
        &self,
        store: &dyn StateStore,
        cleanup: &mut WriteBatch,
        report: &mut RunReport,
    ) -> Result<Vec<WriteOp>, RunError> {
        let Some(policy) = self
            .target
            .connector
            .sink()
            .and_then(|s| s.allocation_ranges())
        else {
            return Ok(Vec::new());
        };
        let found = crate::allocations::removable(
            store,
            self.target.name(),
            self.source.name(),
            policy,
            chrono::Utc::now().timestamp_millis(),
        )?;
        for (location, lts) in &found.expired {
            logical::delete(cleanup, self.target.name(), location, *lts);
        }
        report.gaps_skipped += found.gaps_skipped;
        Ok(found.ops)
    }

    /// Deletes the inbox events the saved cursor has moved past.
    fn prune_inbox(
        &self,
        store: &dyn StateStore,
        cleanup: &mut WriteBatch,
    ) -> Result<(), RunError> {
        let Some(after) = cursors::get(store, &self.config.name)?.and_then(|c| inbox_after(&c))
        else {
            return Ok(());
        };
        for (id, _) in inbox::list(store, self.source.name())? {
            if id > after {
                break;
            }
            inbox::delete(cleanup, self.source.name(), id);
        }
        Ok(())
    }

    /// A page of the source's inbox after `cursor`, each event decoded by its connector.
    fn read_inbox(&self, store: &dyn StateStore, cursor: Option<Cursor>) -> Result<Page, RunError> {
        let receiver = self
            .source
            .connector
            .webhooks()
            .expect("checked when the pipeline was built");
        // Inbox ids start at 0: no cursor (or an empty one) means from the first event.
        let after = cursor.as_ref().and_then(inbox_after);
        let name = self.source.name();
        let mut items = Vec::new();
        for (id, payload) in inbox::list(store, name)? {
            if after.is_some_and(|after| id <= after) {
                continue;
            }
            if items.len() == self.config.page_size {
                break;
            }
            let origin = format!("inbox:{name}:{id}");
            let record = serde_json::from_slice::<syncd_core::InboundEvent>(&payload)
                .map_err(|e| e.to_string())
                .and_then(|event| receiver.decode(&event))
                .map_err(|error| syncd_core::RejectedRow {
                    origin,
                    raw: String::from_utf8_lossy(&payload).into_owned(),
                    error,
                });
            items.push(syncd_core::ReadItem {
                position: id,
                record,
            });
        }
        let next = match (items.last(), after) {
            (Some(item), _) => inbox_cursor(item.position),
            (None, Some(after)) => inbox_cursor(after),
            (None, None) => Cursor(serde_json::json!({})),
        };
        let done = items.len() < self.config.page_size;
        Ok(Page::new(items, next, done, inbox_cursor))
    }

    async fn delete_missing(
        &self,
        store: &Arc<dyn StateStore>,
        seen: &HashSet<u128>,
        indexes: &mut Indexes,
        report: &mut RunReport,
    ) -> Result<(), RunError> {
        let gone = diff::missing(&indexes.target, seen);
        let keys = if gone.is_empty() {
            Vec::new()
        } else {
            shadow::keys_for_hashes(
                store.as_ref(),
                self.target.name(),
                self.config.entity,
                &gone,
            )?
        };
        let deletes: Vec<Planned> = keys
            .into_iter()
            .map(|key| Planned {
                op: WriteOp::Delete {
                    key,
                    entity: self.config.entity,
                },
                fingerprint: None,
                link_base: None,
                page: 0,
                items: Vec::new(),
            })
            .collect();
        let mut batch = WriteBatch::new();
        for planned in &deletes {
            outbox::put(
                &mut batch,
                &self.config.name,
                &OutboxEntry {
                    op: planned.op.clone(),
                    link_base: None,
                },
            );
        }
        commit(store, batch, Durability::Flushed).await?;
        if let Some(e) = self
            .write_all(store, deletes, None, indexes, report, false)
            .await?
        {
            return Err(e);
        }
        commit(store, WriteBatch::new(), Durability::Flushed).await
    }

    async fn replay_outbox(
        &self,
        store: &Arc<dyn StateStore>,
        indexes: &mut Indexes,
        report: &mut RunReport,
    ) -> Result<(), RunError> {
        let pending = outbox::list(store.as_ref(), &self.config.name)?;
        if pending.is_empty() {
            return Ok(());
        }
        tracing::info!(pipeline = %self.config.name, writes = pending.len(), "replaying writes left by an interrupted run");
        let (ranges, planned): (Vec<Planned>, Vec<Planned>) = pending
            .into_iter()
            .map(|entry| Planned {
                fingerprint: match &entry.op {
                    WriteOp::Upsert { record } => Some(record.fingerprint()),
                    WriteOp::Delete { .. } | WriteOp::RemoveAllocations { .. } => None,
                },
                op: entry.op,
                link_base: entry.link_base,
                page: 0,
                items: Vec::new(),
            })
            .partition(|p| matches!(p.op, WriteOp::RemoveAllocations { .. }));
        let rejected_before = report.dead_lettered;
        let mut planned = planned;
        // As in the run: the ranges go with the last positions, in one call, after the rest.
        let tail = if ranges.is_empty() {
            Vec::new()
        } else {
            let room = self.max_batch.saturating_sub(ranges.len());
            planned.split_off(planned.len().saturating_sub(room))
        };
        if let Some(e) = self
            .write_all(store, planned, None, indexes, report, true)
            .await?
        {
            return Err(e);
        }
        if ranges.is_empty() || report.dead_lettered > rejected_before {
            // A replayed position was refused: the tail goes alone, the ranges are dropped (not
            // acknowledged) and the stamps give them again once a clean run allows.
            let mut batch = WriteBatch::new();
            for range in &ranges {
                outbox::delete(&mut batch, &self.config.name, &range.op.key());
            }
            commit(store, batch, Durability::Flushed).await?;
            if let Some(e) = self
                .write_all(store, tail, None, indexes, report, true)
                .await?
            {
                return Err(e);
            }
        } else {
            let mut last_call = tail;
            last_call.extend(ranges);
            let one_call = last_call.len();
            if let Some(e) = self
                .write_all_in(store, last_call, None, indexes, report, true, one_call)
                .await?
            {
                return Err(e);
            }
        }
        commit(store, WriteBatch::new(), Durability::Flushed).await
    }

    /// Writes `planned`, committing each call's outcomes; returns the failure for writes that
    /// kept failing (they stay in the outbox) or stops at an error no record is to blame for.
    async fn write_all(
        &self,
        store: &Arc<dyn StateStore>,
        planned: Vec<Planned>,
        open: Option<&mut OpenPages>,
        indexes: &mut Indexes,
        report: &mut RunReport,
        replay: bool,
    ) -> Result<Option<RunError>, RunError> {
        self.write_all_in(
            store,
            planned,
            open,
            indexes,
            report,
            replay,
            self.max_batch,
        )
        .await
    }

    /// [`Pipeline::write_all`] with calls of at most `max_batch` writes.
    #[allow(clippy::too_many_arguments)]
    async fn write_all_in(
        &self,
        store: &Arc<dyn StateStore>,
        planned: Vec<Planned>,
        mut open: Option<&mut OpenPages>,
        indexes: &mut Indexes,
        report: &mut RunReport,
        replay: bool,
        max_batch: usize,
    ) -> Result<Option<RunError>, RunError> {
        if planned.is_empty() {
            return Ok(None);
        }
        let name = &self.config.name;
        let mut writer = Writer::new(
            &self.target,
            self.config.entity,
            &self.config.retry,
            max_batch,
            planned,
            &self.stop,
        );
        while let Some(settled) = writer.step(report).await? {
            let mut batch = WriteBatch::new();
            for planned in settled.applied {
                outbox::delete(&mut batch, name, &planned.op.key());
                match &planned.op {
                    WriteOp::Upsert { record } => {
                        let fp = planned.fingerprint.unwrap_or_else(|| record.fingerprint());
                        shadow::put(&mut batch, self.target.name(), record, fp);
                        if let Some(namespace) = &planned.link_base {
                            shadow::put(&mut batch, namespace, record, fp);
                        }
                        indexes.target.insert(&record.key(), fp);
                        if let Some(live) = indexes.live.as_mut() {
                            live.insert(record.key(), record.clone());
                        }
                        if replay {
                            report.replayed += 1;
                        } else {
                            report.written += 1;
                        }
                    }
                    WriteOp::RemoveAllocations { scope, from, to } => {
                        crate::allocations::acknowledge(
                            store.as_ref(),
                            &mut batch,
                            self.target.name(),
                            scope,
                            *from,
                            *to,
                        )?;
                        report.allocation_ranges += 1;
                    }
                    WriteOp::Delete { key, entity } => {
                        shadow::delete(&mut batch, self.target.name(), *entity, key);
                        indexes.target.remove(key);
                        if let Some(live) = indexes.live.as_mut() {
                            live.remove(key);
                        }
                        report.deleted += 1;
                    }
                }
                if let Some(open) = open.as_deref_mut() {
                    planned
                        .items
                        .iter()
                        .for_each(|&i| open.settle(planned.page, i));
                }
            }
            for (planned, error, attempts) in settled.rejected {
                let key = planned.op.key();
                outbox::delete(&mut batch, name, &key);
                let mut letter = self.planner(store.as_ref()).dead_letter(
                    Stage::Write,
                    dead_letters::record_id(key.as_str()),
                    error.to_string(),
                );
                letter.key = Some(key.to_string());
                letter.attempts = attempts;
                if let WriteOp::Upsert { record } = planned.op {
                    letter.record = Some(record);
                }
                dead_letters::put(&mut batch, &letter);
                report.dead_lettered += 1;
                tracing::warn!(pipeline = %name, key = %key, error = %error, "dead-lettered");
                if let Some(open) = open.as_deref_mut() {
                    planned
                        .items
                        .iter()
                        .for_each(|&i| open.settle(planned.page, i));
                }
            }
            commit(store, batch, Durability::Buffered).await?;
            if self.stop.is_cancelled() {
                return Ok(Some(RunError::Stopped));
            }
        }
        Ok(writer.failure())
    }
}

/// Reads one page from `handle`, retrying retryable failures with backoff.
async fn read_with_retry(
    handle: &ConnectorHandle,
    config: &PipelineConfig,
    mode: ReadMode,
    cursor: Option<Cursor>,
    report: &mut RunReport,
    stop: &CancellationToken,
) -> Result<Page, RunError> {
    let source = handle.connector.source().ok_or_else(|| RunError::Invalid {
        pipeline: config.name.clone(),
        message: format!("connector `{}` cannot read", handle.name()),
    })?;
    let mut attempts = 0;
    loop {
        handle.until_ready().await;
        let request = ReadRequest {
            entity: config.entity,
            mode,
            cursor: cursor.clone(),
            max_records: config.page_size,
        };
        match source.read_page(request).await {
            Ok(page) => return Ok(page),
            Err(e) => {
                attempts += 1;
                let retry = matches!(e.class(), ErrorClass::Retryable | ErrorClass::RateLimited);
                if !retry || attempts >= config.retry.max_attempts {
                    return Err(RunError::Connector {
                        connector: handle.name().to_string(),
                        error: e,
                    });
                }
                tracing::warn!(pipeline = %config.name, connector = handle.name(), error = %e, attempt = attempts, "read failed, retrying");
                report.retries += 1;
                tokio::select! {
                    _ = tokio::time::sleep(backoff(&config.retry, attempts, e.requested_wait())) => {}
                    _ = stop.cancelled() => return Err(RunError::Stopped),
                }
            }
        }
    }
}

fn inbox_cursor(after: u64) -> Cursor {
    Cursor(serde_json::json!({ "inbox_after": after }))
}

fn inbox_after(cursor: &Cursor) -> Option<u64> {
    cursor
        .0
        .get("inbox_after")
        .and_then(serde_json::Value::as_u64)
}
