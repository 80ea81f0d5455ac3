//! Writing planned records in batches at the target's limit, with retries, backoff, the
//! vendor's requested waits, the connector's rate limit, and bisection of batches a vendor
//! refuses as a whole.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use syncd_core::{ConnectorError, EntityKind, ErrorClass, WriteOp, WriteOutcome};
use syncd_store::{Durability, StateStore};

use crate::config::RetryConfig;
use crate::error::RunError;
use crate::handle::ConnectorHandle;
use crate::outbox_book::OutboxBook;
use crate::planner::Planned;
use crate::report::RunReport;
use crate::retry::backoff;
use crate::state::commit;

/// Where a call's intent goes before the call: the store and the run's outbox book.
pub type Intent<'b> = Option<(&'b Arc<dyn StateStore>, &'b mut OutboxBook)>;

/// What one write call settled.
#[derive(Debug, Default)]
pub struct Settled {
    /// Writes the target acknowledged.
    pub applied: Vec<Planned>,
    /// Writes the target refused for good, with the error and the attempts made.
    pub rejected: Vec<(Planned, ConnectorError, u32)>,
}

struct Chunk {
    items: Vec<Planned>,
    /// Attempts already made for these items.
    attempts: u32,
    /// What to wait before the next attempt: (duration, is it a rate-limit wait).
    wait: Option<(Duration, bool)>,
}

/// Drives the writes of one plan, one call per [`Writer::step`].
pub struct Writer<'a> {
    target: &'a ConnectorHandle,
    entity: EntityKind,
    retry: &'a RetryConfig,
    queue: VecDeque<Chunk>,
    rate_limit_waits: u32,
    exhausted: Vec<Planned>,
    last_error: Option<(ConnectorError, u32)>,
    stop: &'a CancellationToken,
}

impl<'a> Writer<'a> {
    /// A writer of `planned`, cut into batches of `max_batch`.
    pub fn new(
        target: &'a ConnectorHandle,
        entity: EntityKind,
        retry: &'a RetryConfig,
        max_batch: usize,
        planned: Vec<Planned>,
        stop: &'a CancellationToken,
    ) -> Self {
        Writer {
            target,
            entity,
            retry,
            queue: chunks(planned, max_batch),
            rate_limit_waits: 0,
            exhausted: Vec::new(),
            last_error: None,
            stop,
        }
    }

    /// Makes the next write call and returns what it settled; `None` when nothing is left.
    /// With an `intent`, the call's writes are in the outbox, flushed, before the call.
    ///
    /// Auth and config errors stop the writer at once: no record is to blame for them.
    pub async fn step(
        &mut self,
        report: &mut RunReport,
        intent: Intent<'_>,
    ) -> Result<Option<Settled>, RunError> {
        let Some(mut chunk) = self.queue.pop_front() else {
            return Ok(None);
        };
        if let Some((wait, rate_limited)) = chunk.wait {
            if rate_limited {
                report.rate_limit_waits += 1;
            } else {
                report.retries += 1;
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.stop.cancelled() => {
                    // The chunk is still in the outbox: the next run writes it.
                    return Err(RunError::Stopped);
                }
            }
        }
        let sink = self
            .target
            .connector
            .sink()
            .ok_or_else(|| RunError::Invalid {
                pipeline: report.pipeline.clone(),
                message: format!("connector `{}` cannot write", self.target.name()),
            })?;
        if let Some((store, book)) = intent {
            let batch = book.claim(store.as_ref(), &mut chunk.items)?;
            if !batch.is_empty() {
                commit(store, batch, Durability::Flushed).await?;
            }
            syncd_core::crash::point("before_call");
        }
        self.target.until_ready().await;
        report.write_calls += 1;
        // The ops move out for the call and back after it: no copy of a record per call.
        let ops: Vec<WriteOp> = chunk
            .items
            .iter_mut()
            .map(|p| std::mem::replace(&mut p.op, placeholder(self.entity)))
            .collect();
        let answer = sink.write_batch(self.entity, &ops).await;
        syncd_core::crash::point("after_call");
        for (planned, op) in chunk.items.iter_mut().zip(ops) {
            planned.op = op;
        }
        let attempts = chunk.attempts + 1;
        let mut settled = Settled::default();
        match answer {
            Ok(outcomes)
                if outcomes.len() == chunk.items.len()
                    && outcomes.iter().all(|o| matches!(o, WriteOutcome::Applied)) =>
            {
                // Every write applied (nearly every call): the chunk is what settled, unmoved.
                settled.applied = chunk.items;
            }
            Ok(outcomes) if outcomes.len() == chunk.items.len() => {
                let mut again = Vec::new();
                let mut again_error = None;
                for (planned, outcome) in chunk.items.into_iter().zip(outcomes) {
                    match outcome {
                        WriteOutcome::Applied => settled.applied.push(planned),
                        WriteOutcome::Failed(e) => match e.class() {
                            ErrorClass::Permanent => settled.rejected.push((planned, e, attempts)),
                            ErrorClass::Retryable | ErrorClass::RateLimited => {
                                again.push(planned);
                                again_error = Some(e);
                            }
                            ErrorClass::Auth | ErrorClass::Config => return Err(self.fatal(e)),
                        },
                    }
                }
                if let Some(e) = again_error {
                    self.schedule(again, attempts, e, false);
                }
            }
            Ok(outcomes) => {
                let e = ConnectorError::permanent(
                    self.target.name(),
                    format!(
                        "returned {} outcomes for {} writes",
                        outcomes.len(),
                        chunk.items.len()
                    ),
                );
                return Err(self.fatal(e));
            }
            Err(e) => match e.class() {
                ErrorClass::Retryable => self.schedule(chunk.items, attempts, e, true),
                ErrorClass::RateLimited => {
                    self.rate_limit_waits += 1;
                    if self.rate_limit_waits > self.retry.max_rate_limit_waits {
                        self.give_up(chunk.items, attempts, e);
                    } else {
                        let wait = e.requested_wait().unwrap_or(Duration::from_secs(1));
                        self.last_error = Some((e, attempts));
                        // A throttled call is not the records' fault: it does not use an attempt.
                        self.queue.push_front(Chunk {
                            items: chunk.items,
                            attempts: chunk.attempts,
                            wait: Some((wait, true)),
                        });
                    }
                }
                ErrorClass::Permanent
                    if chunk
                        .items
                        .iter()
                        .any(|p| matches!(p.op, WriteOp::RemoveAllocations { .. })) =>
                {
                    // Allocation ranges are never split from their positions: they wait in the
                    // outbox, and the positions are tried (and bisected) on their own.
                    let (ranges, positions): (Vec<Planned>, Vec<Planned>) = chunk
                        .items
                        .into_iter()
                        .partition(|p| matches!(p.op, WriteOp::RemoveAllocations { .. }));
                    self.give_up(ranges, attempts, e);
                    if !positions.is_empty() {
                        self.queue.push_front(Chunk {
                            items: positions,
                            attempts: chunk.attempts,
                            wait: None,
                        });
                    }
                }
                ErrorClass::Permanent if chunk.items.len() > 1 => {
                    // Find the record the vendor objects to: retry each half on its own.
                    let mut first = chunk.items;
                    let second = first.split_off(first.len() / 2);
                    self.queue.push_front(Chunk {
                        items: second,
                        attempts: chunk.attempts,
                        wait: None,
                    });
                    self.queue.push_front(Chunk {
                        items: first,
                        attempts: chunk.attempts,
                        wait: None,
                    });
                }
                ErrorClass::Permanent => {
                    let planned = chunk.items.into_iter().next().expect("one item");
                    settled.rejected.push((planned, e, attempts));
                }
                ErrorClass::Auth | ErrorClass::Config => return Err(self.fatal(e)),
            },
        }
        Ok(Some(settled))
    }

    fn fatal(&self, error: ConnectorError) -> RunError {
        RunError::Connector {
            connector: self.target.name().to_string(),
            error,
        }
    }

    fn schedule(
        &mut self,
        items: Vec<Planned>,
        attempts: u32,
        error: ConnectorError,
        whole_call: bool,
    ) {
        if attempts >= self.retry.max_attempts {
            self.give_up(items, attempts, error);
            if whole_call {
                // The target is failing as a whole: stop calling it; the rest stays planned.
                self.exhausted
                    .extend(self.queue.drain(..).flat_map(|c| c.items));
            }
            return;
        }
        let wait = backoff(self.retry, attempts, error.requested_wait());
        self.last_error = Some((error, attempts));
        self.queue.push_back(Chunk {
            items,
            attempts,
            wait: Some((wait, false)),
        });
    }

    fn give_up(&mut self, items: Vec<Planned>, attempts: u32, error: ConnectorError) {
        self.exhausted.extend(items);
        self.last_error = Some((error, attempts));
    }

    /// After the last step: the error for writes that kept failing, if any. They stay in the
    /// outbox and their page items stay unsettled.
    pub fn failure(self) -> Option<RunError> {
        if self.exhausted.is_empty() {
            return None;
        }
        let (last_error, attempts) = self.last_error.unwrap_or((
            ConnectorError::retryable(self.target.name(), "unknown failure"),
            0,
        ));
        Some(RunError::WritesExhausted {
            connector: self.target.name().to_string(),
            pending: self.exhausted.len(),
            attempts,
            last_error,
        })
    }
}

/// `planned` cut into chunks of at most `max_batch` writes, one call each. A plan of one
/// call's size (a page of a batch's size, the common case) is its own chunk, unmoved; a larger
/// one moves each write once into its chunk (splitting off tails would move the rest again for
/// every chunk).
fn chunks(planned: Vec<Planned>, max_batch: usize) -> VecDeque<Chunk> {
    let max = max_batch.max(1);
    let chunk = |items| Chunk {
        items,
        attempts: 0,
        wait: None,
    };
    if planned.len() <= max {
        return match planned.is_empty() {
            true => VecDeque::new(),
            false => VecDeque::from([chunk(planned)]),
        };
    }
    let mut writes = planned.into_iter();
    std::iter::from_fn(|| {
        let items: Vec<Planned> = writes.by_ref().take(max).collect();
        (!items.is_empty()).then(|| chunk(items))
    })
    .collect()
}

/// What stands in a write's place while its op is lent to a call (allocates nothing).
fn placeholder(entity: EntityKind) -> WriteOp {
    WriteOp::Delete {
        key: syncd_core::RecordKey::from_raw(String::new()),
        entity,
    }
}
