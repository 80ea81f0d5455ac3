//! The inbox: events received from a vendor (by webhook), durable before they are acknowledged
//! and kept until the engine has processed them.

use crate::batch::{Durability, WriteBatch};
use crate::error::StoreError;
use crate::keys;
use crate::store::{StateStore, Tree};

fn key(connector: &str, id: u64) -> Vec<u8> {
    keys::compose(&[connector.as_bytes(), format!("{id:016x}").as_bytes()])
}

/// Stores `payloads` as new events of `connector`, durably (flushed) when this returns.
///
/// Ids are taken and committed under one lock, so that events become visible in id order: a
/// reader that has seen id 6 can never later find a 5 it skipped.
pub fn append(
    store: &dyn StateStore,
    connector: &str,
    payloads: &[Vec<u8>],
) -> Result<(), StoreError> {
    static IN_ORDER: std::sync::Mutex<()> = std::sync::Mutex::new(());
    if payloads.is_empty() {
        return Ok(());
    }
    {
        let _in_order = IN_ORDER
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut batch = WriteBatch::new();
        for payload in payloads {
            put(&mut batch, connector, store.next_id()?, payload);
        }
        store.commit(batch, Durability::Buffered)?;
    }
    store.flush()
}

/// Adds an event for `connector` in `batch`; `id` comes from [`StateStore::next_id`], so events
/// list in arrival order.
pub fn put(batch: &mut WriteBatch, connector: &str, id: u64, payload: &[u8]) {
    batch.put(Tree::Inbox, key(connector, id), payload.to_vec());
}

/// Removes a processed event in `batch`.
pub fn delete(batch: &mut WriteBatch, connector: &str, id: u64) {
    batch.delete(Tree::Inbox, key(connector, id));
}

/// How many events of `connector` are waiting.
pub fn depth(store: &dyn StateStore, connector: &str) -> Result<usize, StoreError> {
    store.count_prefix(Tree::Inbox, &keys::prefix(&[connector.as_bytes()]))
}

/// The waiting events of `connector` with their ids, in arrival order.
pub fn list(store: &dyn StateStore, connector: &str) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    let prefix = keys::prefix(&[connector.as_bytes()]);
    store
        .scan_prefix(Tree::Inbox, &prefix)
        .map(|pair| {
            let (k, v) = pair?;
            let id = keys::suffix_str(&k, &prefix)
                .and_then(|s| u64::from_str_radix(s, 16).ok())
                .ok_or_else(|| StoreError::Corrupt {
                    tree: Tree::Inbox.name(),
                    key: keys::printable(&k),
                    message: "bad id".into(),
                })?;
            Ok((id, v))
        })
        .collect()
}
