//! Read cursors, one per pipeline.

use syncd_core::Cursor;

use crate::batch::WriteBatch;
use crate::error::StoreError;
use crate::keys;
use crate::store::{StateStore, Tree};

/// The saved cursor of `pipeline`, if any.
pub fn get(store: &dyn StateStore, pipeline: &str) -> Result<Option<Cursor>, StoreError> {
    let key = keys::compose(&[pipeline.as_bytes()]);
    match store.get(Tree::Cursors, &key)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                tree: Tree::Cursors.name(),
                key: pipeline.to_string(),
                message: e.to_string(),
            }),
    }
}

/// Sets the cursor of `pipeline` in `batch`.
pub fn put(batch: &mut WriteBatch, pipeline: &str, cursor: &Cursor) {
    let value = serde_json::to_vec(cursor).expect("a cursor serializes");
    batch.put(Tree::Cursors, keys::compose(&[pipeline.as_bytes()]), value);
}

/// Removes the cursor of `pipeline` in `batch`: its next run starts from the beginning.
pub fn reset(batch: &mut WriteBatch, pipeline: &str) {
    batch.delete(Tree::Cursors, keys::compose(&[pipeline.as_bytes()]));
}

/// Every saved cursor, by pipeline.
pub fn list(store: &dyn StateStore) -> Result<Vec<(String, Cursor)>, StoreError> {
    store
        .scan_prefix(Tree::Cursors, b"")
        .map(|r| {
            let (k, v) = r?;
            let name = String::from_utf8_lossy(&k).to_string();
            let cursor = serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                tree: Tree::Cursors.name(),
                key: name.clone(),
                message: e.to_string(),
            })?;
            Ok((name, cursor))
        })
        .collect()
}
