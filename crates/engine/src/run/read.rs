//! Reading: pages from the source (or its inbox), each read retried with backoff, and the next
//! page read ahead on another core while the current one is planned and written.

use std::collections::HashMap;
use std::sync::Arc;

use syncd_core::{Cursor, ErrorClass, Page, ReadMode, ReadRequest, Record, RecordKey};
use syncd_store::{cursors, shadow, StateStore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Mode, RetryConfig};
use crate::error::RunError;
use crate::handle::ConnectorHandle;
use crate::report::RunReport;
use crate::retry::backoff;

use super::{Indexes, Pipeline};

/// What one read needs, owned, so that a read can run ahead in its own task.
#[derive(Clone)]
struct ReadSpec {
    pipeline: String,
    handle: ConnectorHandle,
    entity: syncd_core::EntityKind,
    mode: ReadMode,
    page_size: usize,
    retry: RetryConfig,
    stop: CancellationToken,
}

/// Pages read ahead of the one being planned: enough to keep a core busy reading while the
/// other plans and writes, few enough to bound memory.
const READ_AHEAD: usize = 16;

impl ReadSpec {
    /// Reads of `pipeline`'s entity from `handle` (its source, or on a link its target).
    fn new(
        pipeline: &Pipeline,
        handle: &ConnectorHandle,
        mode: ReadMode,
        stop: &CancellationToken,
    ) -> Self {
        ReadSpec {
            pipeline: pipeline.config.name.clone(),
            handle: handle.clone(),
            entity: pipeline.config.entity,
            mode,
            page_size: pipeline.config.page_size,
            retry: pipeline.config.retry.clone(),
            stop: stop.clone(),
        }
    }
}

type Ahead = tokio::sync::mpsc::Receiver<(Result<Page, RunError>, u64)>;

/// Reads a pipeline's pages in order, up to [`READ_AHEAD`] pages ahead, in a task of its own.
pub(crate) struct PageReader {
    spec: ReadSpec,
    from_inbox: bool,
    /// The cursor the read-ahead will deliver next, and its channel.
    ahead: Option<(Option<Cursor>, Ahead, JoinHandle<()>)>,
}

impl Drop for PageReader {
    fn drop(&mut self) {
        if let Some((_, _, task)) = self.ahead.take() {
            task.abort();
        }
    }
}

impl PageReader {
    /// A reader of `pipeline`'s source.
    pub fn new(pipeline: &Pipeline, stop: &CancellationToken) -> Self {
        let mode = match pipeline.config.mode {
            Mode::Incremental => ReadMode::Incremental,
            Mode::Full => ReadMode::Full,
        };
        PageReader {
            spec: ReadSpec::new(pipeline, &pipeline.source, mode, stop),
            from_inbox: pipeline.from_inbox,
            ahead: None,
        }
    }

    /// Starts reading from `cursor` in the background (a webhook inbox is read in place).
    pub fn start(&mut self, cursor: Option<Cursor>) {
        if self.from_inbox {
            return;
        }
        if let Some((_, _, task)) = self.ahead.take() {
            task.abort();
        }
        let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD);
        let spec = self.spec.clone();
        let first = cursor.clone();
        let task = tokio::spawn(async move {
            let mut cursor = first;
            loop {
                let (page, retries) = read_with_retry(spec.clone(), cursor).await;
                let next = match &page {
                    Ok(p) if !p.done && !p.items.is_empty() => Some(p.next.clone()),
                    _ => None,
                };
                if tx.send((page, retries)).await.is_err() {
                    return;
                }
                match next {
                    Some(next) => cursor = Some(next),
                    None => return,
                }
            }
        });
        self.ahead = Some((cursor, rx, task));
    }

    /// The page at `cursor`.
    pub async fn read(
        &mut self,
        pipeline: &Pipeline,
        store: &dyn StateStore,
        cursor: Option<Cursor>,
        report: &mut RunReport,
    ) -> Result<Page, RunError> {
        if self.from_inbox {
            return pipeline.read_inbox(store, cursor);
        }
        if self.ahead.as_ref().map(|(at, _, _)| at) != Some(&cursor) {
            self.start(cursor.clone());
        }
        let (expected, rx, _) = self.ahead.as_mut().expect("started above");
        let Some((page, retries)) = rx.recv().await else {
            return Err(RunError::Join("the page reader ended early".into()));
        };
        report.retries += retries;
        let page = page?;
        *expected = (!page.done && !page.items.is_empty()).then(|| page.next.clone());
        Ok(page)
    }
}

impl Pipeline {
    /// Where this run starts reading.
    pub(crate) fn start_cursor(&self, store: &dyn StateStore) -> Result<Option<Cursor>, RunError> {
        Ok(match self.config.mode {
            Mode::Incremental => cursors::get(store, &self.config.name)?,
            Mode::Full => None,
        })
    }

    /// The target's shadow index and, on a link, its live records.
    pub(crate) async fn load_indexes(
        &self,
        store: &Arc<dyn StateStore>,
        report: &mut RunReport,
        stop: &CancellationToken,
    ) -> Result<Indexes, RunError> {
        let live = match self.policy {
            Some(_) => Some(self.read_target_snapshot(report, stop).await?),
            None => None,
        };
        let (target, entity) = (self.target.name().to_string(), self.written_entity());
        let store = Arc::clone(store);
        let (target, size) = tokio::task::spawn_blocking(move || {
            shadow::load_index_and_size(store.as_ref(), &target, entity)
        })
        .await
        .map_err(|e| RunError::Join(e.to_string()))??;
        Ok(Indexes { target, size, live })
    }

    /// Reads everything the target holds now: a link merges with live values, not remembered ones.
    async fn read_target_snapshot(
        &self,
        report: &mut RunReport,
        stop: &CancellationToken,
    ) -> Result<HashMap<RecordKey, Record>, RunError> {
        let spec = ReadSpec::new(self, &self.target, ReadMode::Full, stop);
        let mut live = HashMap::new();
        let mut cursor = None;
        loop {
            let (page, retries) = read_with_retry(spec.clone(), cursor).await;
            report.retries += retries;
            let page = page?;
            let (done, empty) = (page.done, page.items.is_empty());
            let (items, cursors) = page.into_parts();
            for record in items.into_iter().filter_map(|i| i.record.ok()) {
                live.insert(record.key(), record);
            }
            if done || empty {
                return Ok(live);
            }
            cursor = Some(cursors.next);
        }
    }
}

/// Reads one page, retrying retryable failures with backoff; gives the retries made.
async fn read_with_retry(spec: ReadSpec, cursor: Option<Cursor>) -> (Result<Page, RunError>, u64) {
    let Some(source) = spec.handle.connector.source() else {
        let error = RunError::Invalid {
            pipeline: spec.pipeline.clone(),
            message: format!("connector `{}` cannot read", spec.handle.name()),
        };
        return (Err(error), 0);
    };
    let mut attempts = 0;
    loop {
        spec.handle.until_ready().await;
        let request = ReadRequest {
            entity: spec.entity,
            mode: spec.mode,
            cursor: cursor.clone(),
            max_records: spec.page_size,
        };
        match source.read_page(request).await {
            Ok(page) => return (Ok(page), u64::from(attempts)),
            Err(e) => {
                attempts += 1;
                let retry = matches!(e.class(), ErrorClass::Retryable | ErrorClass::RateLimited);
                if !retry || attempts >= spec.retry.max_attempts {
                    let error = RunError::Connector {
                        connector: spec.handle.name().to_string(),
                        error: e,
                    };
                    return (Err(error), u64::from(attempts - 1));
                }
                tracing::warn!(pipeline = %spec.pipeline, connector = spec.handle.name(), error = %e, attempt = attempts, "read failed, retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff(&spec.retry, attempts, e.requested_wait())) => {}
                    _ = spec.stop.cancelled() => return (Err(RunError::Stopped), u64::from(attempts)),
                }
            }
        }
    }
}
