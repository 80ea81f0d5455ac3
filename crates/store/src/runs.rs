//! Run history: the reports of recent runs, per pipeline, newest last.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::batch::WriteBatch;
use crate::error::StoreError;
use crate::keys;
use crate::store::{StateStore, Tree};

/// How many reports are kept per pipeline.
pub const KEPT_PER_PIPELINE: usize = 200;

fn key(pipeline: &str, started_ms: i64) -> Vec<u8> {
    keys::compose(&[pipeline.as_bytes(), format!("{started_ms:016x}").as_bytes()])
}

/// Adds a report in `batch`, and drops the oldest ones beyond [`KEPT_PER_PIPELINE`].
pub fn put<T: Serialize>(
    store: &dyn StateStore,
    batch: &mut WriteBatch,
    pipeline: &str,
    started_ms: i64,
    report: &T,
) -> Result<(), StoreError> {
    let value = serde_json::to_vec(report).expect("a run report serializes");
    batch.put(Tree::Runs, key(pipeline, started_ms), value);
    let existing: Vec<Vec<u8>> = store
        .scan_prefix(Tree::Runs, &keys::prefix(&[pipeline.as_bytes()]))
        .map(|p| p.map(|(k, _)| k))
        .collect::<Result<_, _>>()?;
    let excess = (existing.len() + 1).saturating_sub(KEPT_PER_PIPELINE);
    for k in existing.into_iter().take(excess) {
        batch.delete(Tree::Runs, k);
    }
    Ok(())
}

/// The last `limit` reports of `pipeline` (or of all pipelines), oldest first.
pub fn list<T: DeserializeOwned>(
    store: &dyn StateStore,
    pipeline: Option<&str>,
    limit: usize,
) -> Result<Vec<T>, StoreError> {
    let prefix = pipeline
        .map(|p| keys::prefix(&[p.as_bytes()]))
        .unwrap_or_default();
    let mut all: Vec<T> = store
        .scan_prefix(Tree::Runs, &prefix)
        .map(|pair| {
            let (k, v) = pair?;
            serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                tree: Tree::Runs.name(),
                key: keys::printable(&k),
                message: e.to_string(),
            })
        })
        .collect::<Result<_, _>>()?;
    let skip = all.len().saturating_sub(limit);
    Ok(all.split_off(skip))
}
