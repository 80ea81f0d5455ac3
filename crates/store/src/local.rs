//! A connector's own small sled database in its data dir (push ages, a catalog), opened at
//! first use rather than when the connector is built, so that `syncd check` never contends for
//! it. Sled locks its files while a database is open, and a reload builds the new connector
//! while the old one may still be alive: so each path is opened once per process and shared by
//! every connector built on it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

fn open_databases() -> &'static Mutex<HashMap<PathBuf, sled::Db>> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, sled::Db>>> = OnceLock::new();
    OPEN.get_or_init(Mutex::default)
}

/// A sled database opened on demand.
pub struct LocalDb {
    path: PathBuf,
    cache_bytes: u64,
}

impl LocalDb {
    /// The database at `path`, with a page cache of `cache_bytes`.
    pub fn new(path: PathBuf, cache_bytes: u64) -> Self {
        LocalDb { path, cache_bytes }
    }

    /// The database, opened now if no connector of this process has it open yet. A failed
    /// open is not remembered: the next use tries again.
    pub fn get(&self) -> Result<sled::Db, String> {
        let mut open = open_databases().lock().expect("open databases lock");
        if let Some(db) = open.get(&self.path) {
            return Ok(db.clone());
        }
        let db = sled::Config::new()
            .path(&self.path)
            .cache_capacity(self.cache_bytes)
            .open()
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        open.insert(self.path.clone(), db.clone());
        Ok(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_connectors_on_one_path_share_one_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let old = LocalDb::new(path.clone(), 1 << 20);
        old.get().unwrap().insert(b"k", b"v".to_vec()).unwrap();
        // The rebuilt connector opens it while the old one still holds it.
        let rebuilt = LocalDb::new(path, 1 << 20);
        let db = rebuilt.get().expect("shared, not refused by sled's lock");
        assert_eq!(db.get(b"k").unwrap().unwrap().as_ref(), b"v");
    }
}
