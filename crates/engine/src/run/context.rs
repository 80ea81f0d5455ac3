//! The run context: everything one run carries from phase to phase.

use std::collections::HashMap;
use std::sync::Arc;

use syncd_core::{Record, RecordKey};
use syncd_store::shadow::{self, ShadowSize};
use syncd_store::{ShadowIndex, ShadowPage, StateStore, StoreError, WriteBatch};
use tokio_util::sync::CancellationToken;

use crate::checkpoint::OpenPages;
use crate::outbox_book::OutboxBook;
use crate::planner::{LinkView, Planner};
use crate::report::RunReport;

use super::{PageReader, Pipeline};

/// What a run diffs against, kept in memory and updated as writes are acknowledged: the
/// target's shadow, and on a link the target's live records.
pub(crate) struct Indexes {
    pub target: ShadowIndex,
    /// The size of the target's stored shadow, as loaded and grown by this run's pages.
    pub size: ShadowSize,
    pub live: Option<HashMap<RecordKey, Record>>,
}

/// A staging sink's acknowledgements, held until its `finish`.
#[derive(Default)]
pub(crate) struct Staged {
    /// Shadow entries not yet appended (as pending pages).
    pub page: ShadowPage,
    /// What to commit with the cursor once the sink finished (outbox calls it settled).
    pub deferred: WriteBatch,
}

/// One run of one pipeline.
pub(crate) struct RunCtx<'p> {
    pub p: &'p Pipeline,
    pub store: Arc<dyn StateStore>,
    pub stop: CancellationToken,
    pub report: RunReport,
    pub indexes: Indexes,
    pub book: OutboxBook,
    /// `Some` when the target stages its writes.
    pub staged: Option<Staged>,
    pub open: OpenPages,
    pub reader: PageReader,
    /// Where the reader started.
    pub start: Option<syncd_core::Cursor>,
}

impl<'p> RunCtx<'p> {
    /// A run of `p` that has done nothing yet.
    pub fn new(p: &'p Pipeline, store: Arc<dyn StateStore>, stop: CancellationToken) -> Self {
        RunCtx {
            p,
            store,
            report: RunReport::start(&p.config.name),
            indexes: Indexes {
                target: ShadowIndex::default(),
                size: ShadowSize::default(),
                live: None,
            },
            book: OutboxBook::new(&p.config.name),
            staged: p.staging.then(Staged::default),
            open: OpenPages::default(),
            reader: PageReader::new(p, &stop),
            start: None,
            stop,
        }
    }

    /// Starts reading the source from the saved cursor.
    pub fn start_reading(&mut self) -> Result<(), crate::error::RunError> {
        self.start = self.p.start_cursor(self.store.as_ref())?;
        self.reader.start(self.start.clone());
        Ok(())
    }

    /// The report, once the run is over.
    pub fn into_report(self) -> RunReport {
        self.report
    }

    /// Appends `page` to the target's shadow in `batch` (as pending for a staging sink, to be
    /// made live with the cursor), and counts it for compaction.
    pub fn append_shadow(
        &mut self,
        batch: &mut WriteBatch,
        page: ShadowPage,
    ) -> Result<(), StoreError> {
        let (target, entity) = (self.p.target.name(), self.p.written_entity());
        self.indexes.size.grown(page.len());
        match self.staged.is_some() {
            true => shadow::append_pending(self.store.as_ref(), batch, target, entity, page),
            false => shadow::append(self.store.as_ref(), batch, target, entity, page),
        }
    }

    /// The planner of this run.
    pub fn planner(&self) -> Planner<'_> {
        self.p.planner(self.store.as_ref())
    }

    /// What a link pipeline merges against, if it is one.
    pub fn link_view(&self) -> Option<LinkView<'_>> {
        self.p.link_view(&self.indexes)
    }
}

impl Pipeline {
    pub(crate) fn planner<'a>(&'a self, store: &'a dyn StateStore) -> Planner<'a> {
        let mut planner = Planner::new(&self.config, store);
        planner.catalog = self.catalog();
        planner
    }

    /// The catalog this pipeline's SKUs must be in, with its connector's name.
    pub(crate) fn catalog(&self) -> Option<(&str, &dyn syncd_core::Catalog)> {
        self.catalog
            .as_ref()
            .and_then(|c| c.connector.catalog().map(|cat| (c.name(), cat)))
    }

    pub(crate) fn link_view<'a>(&'a self, indexes: &'a Indexes) -> Option<LinkView<'a>> {
        match (&self.policy, &indexes.live) {
            (Some(policy), Some(live)) => Some(LinkView { policy, live }),
            _ => None,
        }
    }
}
