//! Ledger mode: the connector owns a stock file and is the stock authority. Stock adjustments
//! are applied to it atomically and once each (their ids are kept in the file with the
//! positions); stock positions written to it set on-hand (a replenishment, a count). The file
//! is read afresh for every call, so an operator's edit between calls is never overwritten.
//!
//! With a journal, every write the ledger receives is also appended to a JSON Lines file, after
//! the ledger itself is replaced: an audit trail of what changed it, and of writes received more
//! than once (an adjustment sent again shows as `"effect": "already_applied"`).

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
    /// Where each received write is journaled, if anywhere.
    journal: Option<PathBuf>,
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
    pub fn new(path: PathBuf, allow_negative: bool, journal: Option<PathBuf>) -> Self {
        Ledger {
            path,
            allow_negative,
            journal,
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
        let mut already = BTreeSet::new();
        let outcomes: Vec<WriteOutcome> = batch
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
                        already.insert(a.id.clone());
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
        if let Some(journal) = &self.journal {
            append_journal(journal, batch, &outcomes, &already)
                .map_err(|e| ConnectorError::io(format!("journal {}", journal.display()), &e))?;
        }
        Ok(outcomes)
    }
}

/// Appends one line per write of `batch` to the journal, and syncs it.
fn append_journal(
    path: &Path,
    batch: &[WriteOp],
    outcomes: &[WriteOutcome],
    already: &BTreeSet<String>,
) -> io::Result<()> {
    let mut lines = Vec::new();
    for (op, outcome) in batch.iter().zip(outcomes) {
        let (kind, entity) = match op {
            WriteOp::Upsert { record } => ("upsert", record.entity().to_string()),
            WriteOp::Delete { entity, .. } => ("delete", entity.to_string()),
            WriteOp::RemoveAllocations { .. } => ("remove_allocations", String::new()),
        };
        let effect = match (outcome, op) {
            (WriteOutcome::Failed(_), _) => "refused",
            (
                _,
                WriteOp::Upsert {
                    record: Record::StockAdjustment(a),
                },
            ) if already.contains(&a.id) => "already_applied",
            _ => "applied",
        };
        serde_json::to_writer(
            &mut lines,
            &serde_json::json!({
                "op": kind,
                "entity": entity,
                "key": op.key().as_str(),
                "effect": effect,
            }),
        )?;
        lines.push(b'\n');
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(&lines)?;
    file.sync_data()
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
        let ledger = Ledger::new(dir.path().join("stock.json"), false, None);
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
