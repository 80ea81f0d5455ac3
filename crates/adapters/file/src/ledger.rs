//! Ledger mode: the connector owns a stock file and is the stock authority. Stock adjustments
//! are applied to it atomically and once each (their ids are kept in the file with the
//! positions); stock positions written to it set on-hand (a replenishment, a count). The file
//! is read afresh for every call, so an operator's edit between calls is never overwritten.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use syncd_core::model::StockPosition;
use syncd_core::{ConnectorError, Record, RecordKey, WriteOp, WriteOutcome};

#[derive(Default, Serialize, Deserialize)]
struct LedgerFile {
    positions: Vec<StockPosition>,
    /// Ids of the adjustments already applied.
    applied: BTreeSet<String>,
}

/// The ledger file.
pub struct Ledger {
    path: PathBuf,
    allow_negative: bool,
    /// One writer at a time.
    lock: Mutex<()>,
}

fn load(path: &Path) -> io::Result<(BTreeMap<RecordKey, StockPosition>, BTreeSet<String>)> {
    let file: LedgerFile = match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => LedgerFile::default(),
        Err(e) => return Err(e),
    };
    Ok((
        file.positions.into_iter().map(|p| (p.key(), p)).collect(),
        file.applied,
    ))
}

impl Ledger {
    /// The ledger at `path`.
    pub fn new(path: PathBuf, allow_negative: bool) -> Self {
        Ledger {
            path,
            allow_negative,
            lock: Mutex::new(()),
        }
    }

    fn context(&self) -> String {
        format!("ledger {}", self.path.display())
    }

    /// Every position, by key. Blocking.
    pub fn positions(&self) -> Result<Vec<StockPosition>, ConnectorError> {
        let (positions, _) =
            load(&self.path).map_err(|e| ConnectorError::io(self.context(), &e))?;
        Ok(positions.into_values().collect())
    }

    /// Applies `batch` and rewrites the file once. Blocking.
    pub fn apply(&self, batch: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let _one_writer = self
            .lock
            .lock()
            .map_err(|_| ConnectorError::retryable(self.context(), "lock poisoned"))?;
        let (mut positions, mut applied) =
            load(&self.path).map_err(|e| ConnectorError::io(self.context(), &e))?;
        let refuse =
            |why: String| WriteOutcome::Failed(ConnectorError::permanent(self.context(), why));
        let outcomes = batch
            .iter()
            .map(|op| match op {
                WriteOp::Upsert {
                    record: Record::StockPosition(p),
                } => {
                    if p.on_hand < 0 && !self.allow_negative {
                        return refuse(format!(
                            "{}: negative on-hand {} and allow_negative is off",
                            p.key(),
                            p.on_hand
                        ));
                    }
                    positions.insert(p.key(), p.clone());
                    WriteOutcome::Applied
                }
                WriteOp::Upsert {
                    record: Record::StockAdjustment(a),
                } => {
                    if applied.contains(&a.id) {
                        return WriteOutcome::Applied;
                    }
                    let key = RecordKey::compose(&[&a.sku, &a.location]);
                    let current = positions
                        .get(&key)
                        .cloned()
                        .unwrap_or_else(|| StockPosition::new(&a.sku, &a.location, 0));
                    let on_hand = current.on_hand + a.delta;
                    if on_hand < 0 && !self.allow_negative {
                        return refuse(format!(
                            "adjustment {} would take {key} to {on_hand} and allow_negative is off",
                            a.id
                        ));
                    }
                    positions.insert(key, StockPosition { on_hand, ..current });
                    applied.insert(a.id.clone());
                    WriteOutcome::Applied
                }
                WriteOp::Upsert { record } => {
                    refuse(format!("a ledger cannot hold a {}", record.entity()))
                }
                WriteOp::Delete { key, .. } => {
                    positions.remove(key);
                    WriteOutcome::Applied
                }
                WriteOp::RemoveAllocations { .. } => refuse("a ledger holds no allocations".into()),
            })
            .collect();
        let file = LedgerFile {
            positions: positions.into_values().collect(),
            applied,
        };
        syncd_core::files::replace_with(&self.path, |out| {
            serde_json::to_writer(&mut *out, &file)?;
            out.write_all(b"\n")
        })
        .map_err(|e| ConnectorError::io(self.context(), &e))?;
        Ok(outcomes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncd_core::model::StockAdjustment;

    fn adjustment(id: &str, delta: i64) -> WriteOp {
        WriteOp::Upsert {
            record: Record::StockAdjustment(StockAdjustment {
                id: id.into(),
                sku: "SKU1".into(),
                location: "DC01".into(),
                delta,
                reason: "test".into(),
                logical_timestamp: None,
            }),
        }
    }

    #[test]
    fn an_adjustment_is_applied_once_however_often_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::new(dir.path().join("stock.json"), false);
        ledger
            .apply(&[WriteOp::Upsert {
                record: Record::StockPosition(StockPosition::new("SKU1", "DC01", 10)),
            }])
            .unwrap();
        for _ in 0..3 {
            ledger
                .apply(&[adjustment("a1", -1), adjustment("a2", -1)])
                .unwrap();
        }
        assert_eq!(ledger.positions().unwrap()[0].on_hand, 8);
        let outcome = ledger.apply(&[adjustment("a3", -9)]).unwrap();
        assert!(
            matches!(outcome[0], WriteOutcome::Failed(_)),
            "no negative stock"
        );
        assert_eq!(ledger.positions().unwrap()[0].on_hand, 8);
    }
}
