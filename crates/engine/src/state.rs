//! Committing to the state store from async code without blocking the runtime's workers.

use std::sync::Arc;

use syncd_store::{Durability, StateStore, WriteBatch};

use crate::error::RunError;

/// Commits `batch` on the blocking pool (a flushed commit waits for the disk).
pub async fn commit(
    store: &Arc<dyn StateStore>,
    batch: WriteBatch,
    durability: Durability,
) -> Result<(), RunError> {
    if batch.is_empty() && durability == Durability::Buffered {
        return Ok(());
    }
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || store.commit(batch, durability))
        .await
        .map_err(|e| RunError::Join(e.to_string()))?
        .map_err(RunError::from)
}
