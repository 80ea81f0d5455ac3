//! The state store as the daemon holds it. A write that fails for the store's own reasons (a
//! full disk, an I/O error) is remembered: sled does not recover from it in place, so `/readyz`
//! answers 503 naming the store, and the daemon stops and exits non-zero for systemd
//! (`Restart=on-failure`) to start it again with a fresh handle once the disk has room.

use std::sync::Mutex;

use syncd_store::store::{PairVisitor, ScanIter};
use syncd_store::{Durability, StateStore, StoreError, Tree, WriteBatch};

/// A store that remembers its first I/O failure.
pub struct StoreWatch<S> {
    inner: S,
    fault: Mutex<Option<String>>,
}

impl<S: StateStore> StoreWatch<S> {
    /// Watches `inner`.
    pub fn new(inner: S) -> Self {
        StoreWatch {
            inner,
            fault: Mutex::new(None),
        }
    }

    /// The store's first I/O failure, if it had one.
    pub fn fault(&self) -> Option<String> {
        self.fault.lock().expect("fault lock").clone()
    }

    fn watch<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e @ StoreError::Backend { .. }) = &result {
            let mut fault = self.fault.lock().expect("fault lock");
            if fault.is_none() {
                tracing::error!(error = %e, "the state store failed to write");
                *fault = Some(e.to_string());
            }
        }
        result
    }
}

impl<S: StateStore> StateStore for StoreWatch<S> {
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(tree, key)
    }

    fn scan_prefix(&self, tree: Tree, prefix: &[u8]) -> ScanIter<'_> {
        self.inner.scan_prefix(tree, prefix)
    }

    fn visit_prefix(
        &self,
        tree: Tree,
        prefix: &[u8],
        visit: &mut PairVisitor<'_>,
    ) -> Result<(), StoreError> {
        self.inner.visit_prefix(tree, prefix, visit)
    }

    fn count_prefix(&self, tree: Tree, prefix: &[u8]) -> Result<usize, StoreError> {
        self.inner.count_prefix(tree, prefix)
    }

    fn commit(&self, batch: WriteBatch, durability: Durability) -> Result<(), StoreError> {
        self.watch(self.inner.commit(batch, durability))
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.watch(self.inner.flush())
    }

    fn next_id(&self) -> Result<u64, StoreError> {
        self.watch(self.inner.next_id())
    }

    fn location(&self) -> String {
        self.inner.location()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_commit_is_remembered_and_a_good_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = StoreWatch::new(syncd_store::SledStore::open(dir.path()).unwrap());
        store
            .commit(WriteBatch::new(), Durability::Flushed)
            .unwrap();
        assert_eq!(store.fault(), None);
        let failed: Result<(), StoreError> = Err(StoreError::Backend {
            dir: "x".into(),
            message: "No space left on device".into(),
        });
        assert!(store.watch(failed).is_err());
        assert!(store.fault().unwrap().contains("No space left"));
    }
}
