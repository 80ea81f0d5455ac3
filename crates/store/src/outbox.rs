//! The outbox: write calls made (or about to be made) to a pipeline's target and not yet
//! acknowledged, one entry per call. An entry is written, flushed, before its call goes out and
//! is dropped in the same commit that records the call's outcomes; a replay after a crash sends
//! what is left.

use serde::{Deserialize, Serialize};
use syncd_core::WriteOp;

use crate::batch::WriteBatch;
use crate::error::StoreError;
use crate::keys;
use crate::store::{StateStore, Tree};

/// A planned write, kept until the target acknowledges or rejects it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The write to apply to the target.
    pub op: WriteOp,
    /// For one direction of a bidirectional link: the namespace where the written record
    /// becomes the link's new base once acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_base: Option<String>,
}

fn key(pipeline: &str, call: u64) -> Vec<u8> {
    let mut k = keys::prefix(&[pipeline.as_bytes()]);
    k.extend_from_slice(&call.to_be_bytes());
    k
}

/// A new call id, greater than any given before.
pub fn new_call(store: &dyn StateStore) -> Result<u64, StoreError> {
    store.next_id()
}

/// Sets call `call` of `pipeline` to hold `entries` in `batch` (dropping it when empty).
pub fn put_call(batch: &mut WriteBatch, pipeline: &str, call: u64, entries: &[OutboxEntry]) {
    if entries.is_empty() {
        return delete_call(batch, pipeline, call);
    }
    // The count first, so that the outbox's depth is known without decoding the writes.
    let mut value = (entries.len() as u32).to_le_bytes().to_vec();
    serde_json::to_writer(&mut value, entries).expect("an outbox entry serializes");
    batch.put(Tree::Outbox, key(pipeline, call), value);
}

/// Drops call `call` of `pipeline` in `batch`.
pub fn delete_call(batch: &mut WriteBatch, pipeline: &str, call: u64) {
    batch.delete(Tree::Outbox, key(pipeline, call));
}

fn corrupt(k: &[u8], message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        tree: Tree::Outbox.name(),
        key: keys::printable(k),
        message: message.into(),
    }
}

/// Every pending call of `pipeline`, oldest first, with its writes.
pub fn list(
    store: &dyn StateStore,
    pipeline: &str,
) -> Result<Vec<(u64, Vec<OutboxEntry>)>, StoreError> {
    let prefix = keys::prefix(&[pipeline.as_bytes()]);
    store
        .scan_prefix(Tree::Outbox, &prefix)
        .map(|pair| {
            let (k, v) = pair?;
            let call = k
                .strip_prefix(prefix.as_slice())
                .and_then(|rest| <[u8; 8]>::try_from(rest).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| corrupt(&k, "not an outbox call key"))?;
            let body = v.get(4..).ok_or_else(|| corrupt(&k, "value too short"))?;
            let entries = serde_json::from_slice(body).map_err(|e| corrupt(&k, e.to_string()))?;
            Ok((call, entries))
        })
        .collect()
}

/// How many writes of `pipeline` are waiting.
pub fn depth(store: &dyn StateStore, pipeline: &str) -> Result<usize, StoreError> {
    let mut n = 0;
    for pair in store.scan_prefix(Tree::Outbox, &keys::prefix(&[pipeline.as_bytes()])) {
        let (k, v) = pair?;
        let count = v.get(..4).ok_or_else(|| corrupt(&k, "value too short"))?;
        n += u32::from_le_bytes(count.try_into().expect("4 bytes")) as usize;
    }
    Ok(n)
}
