//! An in-memory store: the reference model for the sled backend's tests, and a backend for
//! dry runs and benchmarks that must not touch the disk.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::batch::{Durability, Op, WriteBatch};
use crate::error::StoreError;
use crate::store::{ScanIter, StateStore, Tree};

type Namespace = BTreeMap<Vec<u8>, Vec<u8>>;

/// A store that keeps everything in ordered maps, lost on drop.
#[derive(Default)]
pub struct MemoryStore {
    trees: Mutex<BTreeMap<Tree, Namespace>>,
    ids: AtomicU64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl StateStore for MemoryStore {
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let trees = self.trees.lock().expect("memory store lock");
        Ok(trees.get(&tree).and_then(|t| t.get(key)).cloned())
    }

    fn scan_prefix(&self, tree: Tree, prefix: &[u8]) -> ScanIter<'_> {
        let trees = self.trees.lock().expect("memory store lock");
        let pairs: Vec<_> = trees
            .get(&tree)
            .map(|t| {
                t.range(prefix.to_vec()..)
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .map(|(k, v)| Ok((k.clone(), v.clone())))
                    .collect()
            })
            .unwrap_or_default();
        Box::new(pairs.into_iter())
    }

    fn commit(&self, batch: WriteBatch, _durability: Durability) -> Result<(), StoreError> {
        let mut trees = self.trees.lock().expect("memory store lock");
        for op in batch.into_ops() {
            match op {
                Op::Put(t, k, v) => {
                    trees.entry(t).or_default().insert(k, v);
                }
                Op::Delete(t, k) => {
                    if let Some(tree) = trees.get_mut(&t) {
                        tree.remove(&k);
                    }
                }
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn next_id(&self) -> Result<u64, StoreError> {
        Ok(self.ids.fetch_add(1, Ordering::SeqCst))
    }

    fn location(&self) -> String {
        "memory".to_string()
    }
}
