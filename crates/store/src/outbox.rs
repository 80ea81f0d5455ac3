//! The outbox: writes planned for a pipeline's target and not yet acknowledged.

use serde::{Deserialize, Serialize};
use syncd_core::{RecordKey, WriteOp};

use crate::batch::WriteBatch;
use crate::error::StoreError;
use crate::keys;
use crate::store::{StateStore, Tree};

/// A planned write, kept until the target acknowledges or rejects it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The write to apply to the target.
    pub op: WriteOp,
    /// For one direction of a bidirectional link: the shadow namespace where the written
    /// record becomes the link's new base once acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_base: Option<String>,
}

fn key(pipeline: &str, record_key: &RecordKey) -> Vec<u8> {
    keys::compose(&[pipeline.as_bytes(), record_key.as_str().as_bytes()])
}

/// Adds (or replaces) the planned write for its key in `batch`.
pub fn put(batch: &mut WriteBatch, pipeline: &str, entry: &OutboxEntry) {
    let value = serde_json::to_vec(entry).expect("an outbox entry serializes");
    batch.put(Tree::Outbox, key(pipeline, &entry.op.key()), value);
}

/// Drops the planned write for `record_key` in `batch`.
pub fn delete(batch: &mut WriteBatch, pipeline: &str, record_key: &RecordKey) {
    batch.delete(Tree::Outbox, key(pipeline, record_key));
}

/// Every planned write of `pipeline`, in key order.
pub fn list(store: &dyn StateStore, pipeline: &str) -> Result<Vec<OutboxEntry>, StoreError> {
    store
        .scan_prefix(Tree::Outbox, &keys::prefix(&[pipeline.as_bytes()]))
        .map(|pair| {
            let (k, v) = pair?;
            serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                tree: Tree::Outbox.name(),
                key: keys::printable(&k),
                message: e.to_string(),
            })
        })
        .collect()
}

/// How many writes of `pipeline` are waiting.
pub fn depth(store: &dyn StateStore, pipeline: &str) -> Result<usize, StoreError> {
    store.count_prefix(Tree::Outbox, &keys::prefix(&[pipeline.as_bytes()]))
}
