//! The sled 0.34 backend: one sled tree per namespace. A commit that touches one tree is a
//! single atomic `apply_batch`; one that touches several is a sled transaction over them.
//! (Keeping every namespace in one tree made all commits batches, but prefix scans of the shadow
//! became ten times slower once the outbox had churned through the same tree.)

use std::path::{Path, PathBuf};

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use crate::batch::{Durability, Op, WriteBatch};
use crate::error::StoreError;
use crate::store::{PairVisitor, ScanIter, StateStore, Tree, SCHEMA_VERSION};

const SCHEMA_KEY: &[u8] = b"schema_version";

/// The state store on sled.
pub struct SledStore {
    dir: PathBuf,
    db: sled::Db,
    trees: Vec<sled::Tree>,
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, checking the schema version.
    ///
    /// A directory held by another process gives [`StoreError::Locked`] naming it.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let shown = dir.display().to_string();
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Backend {
            dir: shown.clone(),
            message: format!("cannot create the state directory: {e}"),
        })?;
        // sled releases its file lock only when its background flusher notices the last handle
        // is gone (within its 500 ms flush interval), so a store dropped a moment ago in this
        // process still looks locked: retry briefly before reporting another owner.
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(2_000);
        let db = loop {
            let opened = sled::Config::new()
                .path(dir)
                .cache_capacity(256 * 1024 * 1024)
                .open();
            match opened.map_err(|e| open_error(&shown, e)) {
                Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other?,
            }
        };
        let trees = Tree::ALL
            .iter()
            .map(|t| db.open_tree(t.name()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| backend(&shown, e))?;
        let store = SledStore {
            dir: dir.to_path_buf(),
            db,
            trees,
        };
        store.check_schema()?;
        Ok(store)
    }

    fn tree(&self, tree: Tree) -> &sled::Tree {
        &self.trees[Tree::ALL
            .iter()
            .position(|t| *t == tree)
            .expect("every tree is opened")]
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let meta = self.tree(Tree::Meta);
        let shown = self.dir.display().to_string();
        match meta.get(SCHEMA_KEY).map_err(|e| backend(&shown, e))? {
            Some(v) => {
                let found = String::from_utf8_lossy(&v).to_string();
                if found == "1" {
                    tracing::info!(dir = %shown, "migrating the state directory from schema 1 to {SCHEMA_VERSION}");
                    return crate::migrate::from_v1(self, SCHEMA_KEY);
                }
                if found == "2" {
                    tracing::info!(dir = %shown, "migrating the state directory from schema 2 to {SCHEMA_VERSION}");
                    return crate::migrate::from_v2(self, SCHEMA_KEY);
                }
                if found != SCHEMA_VERSION.to_string() {
                    return Err(StoreError::SchemaMismatch {
                        dir: shown,
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
            }
            None => {
                let holds_data = self.trees.iter().any(|t| !t.is_empty());
                if holds_data {
                    return Err(StoreError::SchemaMismatch {
                        dir: shown,
                        found: "none".into(),
                        expected: SCHEMA_VERSION,
                    });
                }
                meta.insert(SCHEMA_KEY, SCHEMA_VERSION.to_string().as_bytes())
                    .map_err(|e| backend(&shown, e))?;
                self.db.flush().map_err(|e| backend(&shown, e))?;
            }
        }
        Ok(())
    }
}

fn backend(dir: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend {
        dir: dir.to_string(),
        message: e.to_string(),
    }
}

fn open_error(dir: &str, e: sled::Error) -> StoreError {
    if let sled::Error::Io(io) = &e {
        let text = io.to_string();
        if io.kind() == std::io::ErrorKind::WouldBlock || text.contains("could not acquire lock") {
            return StoreError::Locked {
                dir: dir.to_string(),
            };
        }
    }
    backend(dir, e)
}

impl StateStore for SledStore {
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.tree(tree)
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| backend(&self.location(), e))
    }

    fn scan_prefix(&self, tree: Tree, prefix: &[u8]) -> ScanIter<'_> {
        let dir = self.location();
        Box::new(self.tree(tree).scan_prefix(prefix).map(move |r| {
            r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(|e| backend(&dir, e))
        }))
    }

    fn visit_prefix(
        &self,
        tree: Tree,
        prefix: &[u8],
        visit: &mut PairVisitor<'_>,
    ) -> Result<(), StoreError> {
        for pair in self.tree(tree).scan_prefix(prefix) {
            let (k, v) = pair.map_err(|e| backend(&self.location(), e))?;
            visit(&k, &v)?;
        }
        Ok(())
    }

    fn commit(&self, batch: WriteBatch, durability: Durability) -> Result<(), StoreError> {
        if batch.is_empty() {
            if durability == Durability::Flushed {
                self.flush()?;
            }
            return Ok(());
        }
        // Group the operations per tree, keeping their order, so that the transaction touches
        // only the trees it needs.
        let mut touched: Vec<Tree> = Vec::new();
        let mut per_tree: Vec<sled::Batch> = Vec::new();
        for op in batch.into_ops() {
            let (tree, key, value) = match op {
                Op::Put(t, k, v) => (t, k, Some(v)),
                Op::Delete(t, k) => (t, k, None),
            };
            let index = match touched.iter().position(|t| *t == tree) {
                Some(i) => i,
                None => {
                    touched.push(tree);
                    per_tree.push(sled::Batch::default());
                    touched.len() - 1
                }
            };
            match value {
                Some(v) => per_tree[index].insert(key, v),
                None => per_tree[index].remove(key),
            }
        }
        if touched.len() == 1 {
            // One tree: sled's batch is atomic on its own and far cheaper than a transaction.
            let batch = per_tree.pop().expect("one batch per touched tree");
            self.tree(touched[0])
                .apply_batch(batch)
                .map_err(|e| backend(&self.location(), e))?;
            if durability == Durability::Flushed {
                self.flush()?;
            }
            return Ok(());
        }
        let trees: Vec<sled::Tree> = touched.iter().map(|t| self.tree(*t).clone()).collect();
        let result: Result<(), TransactionError<()>> = trees.as_slice().transaction(|views| {
            for (view, b) in views.iter().zip(per_tree.iter()) {
                view.apply_batch(b)
                    .map_err(ConflictableTransactionError::from)?;
            }
            Ok(())
        });
        result.map_err(|e| backend(&self.location(), format!("{e:?}")))?;
        if durability == Durability::Flushed {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db
            .flush()
            .map(|_| ())
            .map_err(|e| backend(&self.location(), e))
    }

    fn next_id(&self) -> Result<u64, StoreError> {
        self.db
            .generate_id()
            .map_err(|e| backend(&self.location(), e))
    }

    fn location(&self) -> String {
        self.dir.display().to_string()
    }
}
