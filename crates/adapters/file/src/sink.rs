//! Writing the snapshot file: apply a batch in memory, replace the file atomically.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use syncd_core::model::StockPosition;
use syncd_core::{ConnectorError, Record, RecordKey, WriteOp, WriteOutcome};

use crate::snapshot::{read_snapshot, write_snapshot};

/// The snapshot file and what it holds.
pub struct SnapshotFile {
    path: PathBuf,
    allow_negative: bool,
    /// The file's content as last written; `None` until first needed (and after a failed write,
    /// so that the next batch starts again from what is really on disk).
    held: Mutex<Option<BTreeMap<RecordKey, StockPosition>>>,
}

impl SnapshotFile {
    /// A writer of `path`.
    pub fn new(path: PathBuf, allow_negative: bool) -> Self {
        SnapshotFile {
            path,
            allow_negative,
            held: Mutex::new(None),
        }
    }

    fn context(&self) -> String {
        format!("file {}", self.path.display())
    }

    fn check(&self, p: &StockPosition) -> Result<(), ConnectorError> {
        if !self.allow_negative && (p.on_hand < 0 || p.allocated < 0) {
            return Err(ConnectorError::permanent(
                self.context(),
                format!(
                    "{}: negative quantity (on_hand {}, allocated {}) and allow_negative is off",
                    p.key(),
                    p.on_hand,
                    p.allocated
                ),
            ));
        }
        Ok(())
    }

    /// Applies `batch` and rewrites the file once. Blocking: call from a blocking thread.
    pub fn apply(&self, batch: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let mut guard = self
            .held
            .lock()
            .map_err(|_| ConnectorError::retryable(self.context(), "lock poisoned"))?;
        if guard.is_none() {
            let loaded =
                read_snapshot(&self.path).map_err(|e| ConnectorError::io(self.context(), &e))?;
            *guard = Some(loaded);
        }
        let mut next = guard.clone().expect("loaded above");
        let mut outcomes = Vec::with_capacity(batch.len());
        for op in batch {
            let outcome = match op {
                WriteOp::Upsert {
                    record: Record::StockPosition(p),
                } => match self.check(p) {
                    Ok(()) => {
                        next.insert(p.key(), p.clone());
                        WriteOutcome::Applied
                    }
                    Err(e) => WriteOutcome::Failed(e),
                },
                WriteOp::Upsert { record } => WriteOutcome::Failed(ConnectorError::permanent(
                    self.context(),
                    format!("cannot hold a {}", record.entity()),
                )),
                WriteOp::Delete { key, .. } => {
                    next.remove(key);
                    WriteOutcome::Applied
                }
                WriteOp::RemoveAllocations { .. } => {
                    WriteOutcome::Failed(ConnectorError::permanent(
                        self.context(),
                        "a snapshot file holds no allocations",
                    ))
                }
            };
            outcomes.push(outcome);
        }
        if let Err(e) = write_snapshot(&self.path, &next) {
            *guard = None;
            return Err(ConnectorError::io(self.context(), &e));
        }
        *guard = Some(next);
        Ok(outcomes)
    }
}
