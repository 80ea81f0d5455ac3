//! The run's two ends: preparing (a staging sink drops what an interrupted run staged; the
//! indexes load) and finishing (a staging sink replaces its artifact once, then its writes are
//! acknowledged and the cursor moves in one commit; the shadow is compacted when worth it).

use syncd_core::ErrorClass;
use syncd_store::{shadow, Durability, WriteBatch};

use crate::error::RunError;
use crate::retry::backoff;
use crate::state::commit;

use super::RunCtx;

impl RunCtx<'_> {
    /// Gets the run ready to read: stale staging dropped, the indexes loaded.
    pub async fn prepare(&mut self) -> Result<(), RunError> {
        let p = self.p;
        let entity = p.written_entity();
        if self.staged.is_some() {
            let sink = p.target.connector.sink().expect("checked when built");
            sink.discard(entity)
                .await
                .map_err(|error| RunError::Connector {
                    connector: p.target.name().to_string(),
                    error,
                })?;
            let mut batch = WriteBatch::new();
            shadow::discard_pending(self.store.as_ref(), &mut batch, p.target.name(), entity)?;
            commit(&self.store, batch, Durability::Buffered).await?;
        }
        self.indexes = p
            .load_indexes(&self.store, &mut self.report, &self.stop)
            .await?;
        Ok(())
    }

    /// Finishes a staging sink and acknowledges its writes with the cursor; compacts the
    /// target's shadow when superseded entries pile up.
    pub async fn finish(&mut self) -> Result<(), RunError> {
        let p = self.p;
        let entity = p.written_entity();
        if let Some(staged) = self.staged.as_mut() {
            let mut batch = WriteBatch::new();
            let page = std::mem::take(&mut staged.page);
            let deferred = std::mem::take(&mut staged.deferred);
            self.append_shadow(&mut batch, page)?;
            // Durable before the artifact changes: a crash after `finish` finds the pending
            // pages, discards them, and the next run stages the same writes again.
            commit(&self.store, batch, Durability::Flushed).await?;
            syncd_core::crash::point("staged");
            self.finish_sink().await?;
            syncd_core::crash::point("finished");
            let mut batch = deferred;
            shadow::promote_pending(self.store.as_ref(), &mut batch, p.target.name(), entity)?;
            self.cursor_into(&mut batch);
            commit(&self.store, batch, Durability::Flushed).await?;
            self.staged = None;
        } else {
            commit(&self.store, WriteBatch::new(), Durability::Flushed).await?;
        }
        let mut size = self.indexes.size;
        size.held = self.indexes.target.len();
        let mut batch = WriteBatch::new();
        if shadow::compact(
            self.store.as_ref(),
            &mut batch,
            p.target.name(),
            entity,
            size,
        )? {
            tracing::info!(pipeline = %p.config.name, pages = size.pages, stored = size.stored, held = size.held, "compacting the target's shadow");
            commit(&self.store, batch, Durability::Flushed).await?;
        }
        Ok(())
    }

    /// Calls the sink's `finish`, retrying what is retryable.
    async fn finish_sink(&mut self) -> Result<(), RunError> {
        let p = self.p;
        let sink = p.target.connector.sink().expect("checked when built");
        let mut attempts = 0;
        loop {
            p.target.until_ready().await;
            match sink.finish(p.written_entity()).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    attempts += 1;
                    let retry =
                        matches!(e.class(), ErrorClass::Retryable | ErrorClass::RateLimited);
                    if !retry || attempts >= p.config.retry.max_attempts {
                        return Err(RunError::Connector {
                            connector: p.target.name().to_string(),
                            error: e,
                        });
                    }
                    tracing::warn!(pipeline = %p.config.name, error = %e, attempt = attempts, "finishing the target failed, retrying");
                    self.report.retries += 1;
                    tokio::select! {
                        _ = tokio::time::sleep(backoff(&p.config.retry, attempts, e.requested_wait())) => {}
                        _ = self.stop.cancelled() => return Err(RunError::Stopped),
                    }
                }
            }
        }
    }
}
