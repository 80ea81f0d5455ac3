//! A pipeline and its run. The run's phases read top to bottom in [`RunCtx::execute`], one
//! module each around one run context, in the commit order of DESIGN.md:
//! 1. a write call's writes go to the outbox, flushed, just before the call;
//! 2. each call's acknowledged writes leave the outbox and enter the shadow in one commit,
//!    each refused write becomes a dead letter in the same way;
//! 3. the cursor moves only over items that are all accounted for, flushed.
//!
//! A staging sink (a snapshot file) is written once, in its `finish`, after the run's last
//! write: its writes are acknowledged and the cursor moves only after that.
//!
//! On start, writes left in the outbox by an interrupted run are replayed first.

mod catalog;
mod context;
mod deletes;
mod finish;
mod inbox;
mod pages;
mod ranges;
mod read;
mod replay;
mod write;

use std::sync::Arc;
use std::time::Instant;

use syncd_store::{runs, Durability, StateStore, WriteBatch};
use tokio_util::sync::CancellationToken;

use crate::config::{LinkConfig, Mode, PipelineConfig};
use crate::error::RunError;
use crate::handle::ConnectorHandle;
use crate::link::FieldPolicy;
use crate::progress::Progress;
use crate::report::{RunOutcome, RunReport};
use crate::state::commit;

pub(crate) use context::{Indexes, RunCtx};
pub(crate) use read::PageReader;

/// A pipeline ready to run: its config and its two connectors.
pub struct Pipeline {
    config: PipelineConfig,
    source: ConnectorHandle,
    target: ConnectorHandle,
    policy: Option<FieldPolicy>,
    max_batch: usize,
    /// The source's events arrive by webhook: read them from its inbox.
    from_inbox: bool,
    /// The target stages its writes until `finish`.
    staging: bool,
    /// The catalog the pipeline's SKUs must be in, when it requires one.
    catalog: Option<ConnectorHandle>,
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
        let Some(sink) = target
            .connector
            .sink()
            .filter(|_| caps.writes.contains(&written))
        else {
            return Err(format!(
                "connector `{}` cannot write {written}",
                target.name()
            ));
        };
        let staging = sink.stages_writes();
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
            .find_map(|l| FieldPolicy::for_pipeline(l, &config.from, &config.to))
            .map(|p| p.keeping(target.connector.fields_kept(entity)));
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
            staging,
            catalog: None,
        })
    }

    /// The pipeline, guarded by the catalog `handle` keeps (its `require_catalog`).
    pub fn with_catalog(mut self, handle: ConnectorHandle) -> Result<Self, String> {
        if handle.connector.catalog().is_none() {
            return Err(format!(
                "require_catalog: connector `{}` keeps no catalog",
                handle.name()
            ));
        }
        if self.config.require_catalog.as_deref() != Some(handle.name()) {
            return Err(format!(
                "require_catalog names `{}`, not `{}`",
                self.config.require_catalog.as_deref().unwrap_or("nothing"),
                handle.name()
            ));
        }
        self.catalog = Some(handle);
        Ok(self)
    }

    /// The pipeline's name.
    /// Why `cursor` cannot be this pipeline's cursor, if it cannot (an operator sets one by
    /// hand: a wrong shape would silently read from the start, or skip what it should not).
    pub fn check_cursor(&self, cursor: &syncd_core::Cursor) -> Result<(), String> {
        if self.config.mode == Mode::Full {
            return Err(format!(
                "pipeline `{}` reads full snapshots: it keeps no cursor",
                self.config.name
            ));
        }
        if self.from_inbox {
            return inbox::check_cursor(cursor);
        }
        match self.source.connector.source() {
            Some(source) => source.check_cursor(cursor).map_err(|why| {
                format!("not a cursor of connector `{}`: {why}", self.source.name())
            }),
            None => Err(format!("connector `{}` is not read", self.source.name())),
        }
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The pipeline's config.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// The entity the target is written as (its shadow's entity).
    pub fn written_entity(&self) -> syncd_core::EntityKind {
        self.config.write_as.unwrap_or(self.config.entity)
    }

    /// True when the target removes allocations by logical-timestamp range.
    fn removes_allocations(&self) -> bool {
        self.target
            .connector
            .sink()
            .is_some_and(|s| s.allocation_ranges().is_some())
    }

    /// The target connector's name (its shadow's namespace).
    pub fn target_name(&self) -> &str {
        self.target.name()
    }

    /// The source connector.
    pub fn source_handle(&self) -> &ConnectorHandle {
        &self.source
    }

    /// The target connector.
    pub fn target_handle(&self) -> &ConnectorHandle {
        &self.target
    }

    /// Whether the source's records come from its webhook inbox.
    pub fn reads_inbox(&self) -> bool {
        self.from_inbox
    }

    /// The link policy, when the pipeline is one side of a link.
    pub fn policy(&self) -> Option<&FieldPolicy> {
        self.policy.as_ref()
    }

    /// Runs the pipeline once and returns its report (also kept in the run history).
    ///
    /// Once `stop` is cancelled, a write call in flight finishes and is committed, no new call
    /// or page read starts, and the cursor stays before what is unwritten.
    pub async fn run(
        &self,
        store: Arc<dyn StateStore>,
        progress: &dyn Progress,
        stop: &CancellationToken,
    ) -> RunReport {
        let started = Instant::now();
        let started_ms = chrono::Utc::now().timestamp_millis();
        // A staging sink holds one run's writes at a time.
        let _one_at_a_time = match self.staging {
            true => Some(self.target.run_lock().await),
            false => None,
        };
        let mut ctx = RunCtx::new(self, Arc::clone(&store), stop.clone());
        let result = ctx.execute(progress).await;
        let mut report = ctx.into_report();
        report.duration_ms = started.elapsed().as_millis() as u64;
        report.pending =
            syncd_store::outbox::depth(store.as_ref(), &self.config.name).unwrap_or(0) as u64;
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
                report.outcome = RunOutcome::Failed(e.to_string());
            }
        }
        self.keep_history(&store, started_ms, &report).await;
        report
    }

    async fn keep_history(&self, store: &Arc<dyn StateStore>, started_ms: i64, report: &RunReport) {
        let mut batch = WriteBatch::new();
        let kept = runs::put(
            store.as_ref(),
            &mut batch,
            &self.config.name,
            started_ms,
            report,
        )
        .map(|_| batch);
        let kept = match kept {
            Ok(batch) => commit(store, batch, Durability::Flushed).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = kept {
            tracing::warn!(pipeline = %self.config.name, error = %e, "could not keep the run report");
        }
    }
}

impl RunCtx<'_> {
    /// The run, phase by phase.
    async fn execute(&mut self, progress: &dyn Progress) -> Result<(), RunError> {
        // The source is read from the start, alongside the rest of the preparation, unless the
        // target takes allocation ranges: those must be computed before anything is read.
        let early = !self.p.removes_allocations();
        if early {
            self.start_reading()?;
        }
        self.prepare().await?;
        self.release_known_skus().await?;
        self.replay_outbox().await?;
        let mut ranges = self.before_read().await?;
        if !early {
            self.start_reading()?;
        }
        let seen = self.read_plan_write(progress, &mut ranges).await?;
        self.delete_missing(seen).await?;
        self.finish().await
    }
}
