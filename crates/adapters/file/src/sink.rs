//! Writing the snapshot file: a staging sink. Each batch is checked and appended to a spill
//! file beside the snapshot; `finish` replaces the snapshot once, merging what it held with what
//! was staged (a staged key takes its old line's place; new keys follow, in the order staged).
//! A run's cost is one pass over the old snapshot plus what changed, and memory holds 24 bytes
//! a staged write, not the snapshot.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Mutex;

use syncd_core::files::replace_with;
use syncd_core::model::StockPosition;
use syncd_core::{ConnectorError, Record, RecordKey, WriteOp, WriteOutcome};

use crate::snapshot::{self, SnapshotFormat};

/// A slot packs a staged line's spill offset (high 40 bits) and length (low 24 bits).
const LEN_BITS: u32 = 24;
/// The length that marks a staged delete (it has no line).
const DELETED: u64 = (1 << LEN_BITS) - 1;

/// The snapshot file and the writes staged for it.
pub struct SnapshotFile {
    path: PathBuf,
    allow_negative: bool,
    staged: Mutex<Option<Staging>>,
}

/// Writes staged since the last finish: their lines in the spill file (which is laid out as a
/// snapshot of its own), and where each one is.
struct Staging {
    spill_path: PathBuf,
    spill: BufWriter<File>,
    written: u64,
    /// (key hash high, key hash low, offset << 24 | length) per staged write, in staging order.
    slots: Vec<(u64, u64, u64)>,
    /// A delete was staged: the spill alone is not the new snapshot.
    deletes: bool,
}

fn offset_of(packed: u64) -> u64 {
    packed >> LEN_BITS
}

fn len_of(packed: u64) -> u64 {
    packed & DELETED
}

fn halves(hash: u128) -> (u64, u64) {
    ((hash >> 64) as u64, hash as u64)
}

impl SnapshotFile {
    /// A writer of `path`.
    pub fn new(path: PathBuf, allow_negative: bool) -> Self {
        SnapshotFile {
            path,
            allow_negative,
            staged: Mutex::new(None),
        }
    }

    fn context(&self) -> String {
        format!("file {}", self.path.display())
    }

    fn spill_path(&self) -> PathBuf {
        let name = self
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("snapshot");
        self.path.with_file_name(format!(".{name}.staged"))
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

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Option<Staging>>, ConnectorError> {
        self.staged
            .lock()
            .map_err(|_| ConnectorError::retryable(self.context(), "lock poisoned"))
    }

    /// Checks and stages `batch`; nothing reaches the snapshot before [`SnapshotFile::finish`].
    /// Blocking: call from a blocking thread.
    pub fn stage(&self, batch: &[WriteOp]) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let mut guard = self.lock()?;
        let format = SnapshotFormat::of(&self.path);
        if guard.is_none() {
            let spill_path = self.spill_path();
            let file =
                File::create(&spill_path).map_err(|e| ConnectorError::io(self.context(), &e))?;
            let mut spill = BufWriter::with_capacity(1 << 20, file);
            let mut header = Vec::new();
            if format == SnapshotFormat::Csv {
                snapshot::write_csv_header(&mut header)
                    .map_err(|e| ConnectorError::io(self.context(), &e))?;
            }
            spill
                .write_all(&header)
                .map_err(|e| ConnectorError::io(self.context(), &e))?;
            *guard = Some(Staging {
                spill_path,
                spill,
                written: header.len() as u64,
                slots: Vec::new(),
                deletes: false,
            });
        }
        let staging = guard.as_mut().expect("created above");
        let mut line = Vec::with_capacity(128);
        let mut outcomes = Vec::with_capacity(batch.len());
        for op in batch {
            let (hash, deleted) = match op {
                WriteOp::Upsert {
                    record: Record::StockPosition(p),
                } => {
                    if let Err(e) = self.check(p) {
                        outcomes.push(WriteOutcome::Failed(e));
                        continue;
                    }
                    line.clear();
                    snapshot::render(format, p, &mut line)
                        .map_err(|e| ConnectorError::io(self.context(), &e))?;
                    (RecordKey::hash_parts(&[&p.sku, &p.location]), false)
                }
                WriteOp::Upsert { record } => {
                    outcomes.push(WriteOutcome::Failed(ConnectorError::permanent(
                        self.context(),
                        format!("cannot hold a {}", record.entity()),
                    )));
                    continue;
                }
                WriteOp::Delete { key, .. } => (key.hash128(), true),
                WriteOp::RemoveAllocations { .. } => {
                    outcomes.push(WriteOutcome::Failed(ConnectorError::permanent(
                        self.context(),
                        "a snapshot file holds no allocations",
                    )));
                    continue;
                }
            };
            let body: &[u8] = if deleted { &[] } else { &line };
            if body.len() as u64 >= DELETED {
                outcomes.push(WriteOutcome::Failed(ConnectorError::permanent(
                    self.context(),
                    "a position's line is longer than 16 MiB",
                )));
                continue;
            }
            let len = if deleted { DELETED } else { body.len() as u64 };
            staging.deletes |= deleted;
            if let Err(e) = staging.spill.write_all(body) {
                // The spill is now unreliable: drop it; the engine retries the batch.
                let staging = guard.take().expect("present");
                let _ = fs::remove_file(&staging.spill_path);
                return Err(ConnectorError::io(self.context(), &e));
            }
            let (high, low) = halves(hash);
            staging
                .slots
                .push((high, low, staging.written << LEN_BITS | len));
            staging.written += body.len() as u64;
            outcomes.push(WriteOutcome::Applied);
        }
        Ok(outcomes)
    }

    /// Drops what was staged and not finished.
    pub fn discard(&self) -> Result<(), ConnectorError> {
        let mut guard = self.lock()?;
        if let Some(staging) = guard.take() {
            drop(staging.spill);
            let _ = fs::remove_file(&staging.spill_path);
        }
        // A spill left by a process that died is as stale.
        match fs::remove_file(self.spill_path()) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(ConnectorError::io(self.context(), &e))
            }
            _ => Ok(()),
        }
    }

    /// Replaces the snapshot once with what it held and what was staged. Blocking.
    pub fn finish(&self) -> Result<(), ConnectorError> {
        let mut guard = self.lock()?;
        let Some(staging) = guard.as_mut() else {
            return Ok(());
        };
        // Staged writes stay staged until the snapshot holds them: a failed finish can be retried.
        self.merge(staging)
            .map_err(|e| ConnectorError::io(self.context(), &e))?;
        let staging = guard.take().expect("present");
        drop(staging.spill);
        // Gone already when the spill became the snapshot.
        match fs::remove_file(&staging.spill_path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(ConnectorError::io(self.context(), &e))
            }
            _ => Ok(()),
        }
    }

    fn merge(&self, staging: &mut Staging) -> io::Result<()> {
        staging.spill.flush()?;
        staging.spill.get_ref().sync_all()?;
        let spill_path = staging.spill_path.clone();
        // The last staged write per key wins: newest first per key, then one per key.
        let staged = staging.slots.len();
        let latest = &mut staging.slots;
        latest.sort_unstable_by(|a, b| (a.0, a.1, b.2).cmp(&(b.0, b.1, a.2)));
        latest.dedup_by_key(|s| (s.0, s.1));
        let latest = &*latest;
        let holds_nothing = fs::metadata(&self.path).map_or(true, |m| m.len() == 0);
        if holds_nothing && !staging.deletes && latest.len() == staged {
            // Nothing to merge with, each key staged once: the spill is the new snapshot.
            fs::rename(&spill_path, &self.path)?;
            return sync_dir(&self.path);
        }
        let find = |hash: u128| {
            let (high, low) = halves(hash);
            latest
                .binary_search_by(|s| (s.0, s.1).cmp(&(high, low)))
                .ok()
        };
        let spill = File::open(&spill_path)?;
        let read_line = |packed: u64, line: &mut Vec<u8>| -> io::Result<bool> {
            if len_of(packed) == DELETED {
                return Ok(false);
            }
            line.resize(len_of(packed) as usize, 0);
            spill.read_exact_at(line, offset_of(packed))?;
            Ok(true)
        };
        let format = SnapshotFormat::of(&self.path);
        let path = self.path.clone();
        replace_with(&self.path, |out| {
            if format == SnapshotFormat::Csv {
                snapshot::write_csv_header(out)?;
            }
            let mut line = Vec::with_capacity(256);
            // Held lines in their order, each replaced by its staged line if there is one.
            let mut consumed: Vec<u64> = Vec::new();
            snapshot::for_each_held_line(&path, |hash, held| {
                match find(hash) {
                    Some(at) => {
                        consumed.push(latest[at].2);
                        if read_line(latest[at].2, &mut line)? {
                            out.write_all(&line)?;
                        }
                    }
                    None => out.write_all(held)?,
                }
                Ok(())
            })?;
            // Then the new keys, in the order they were staged.
            consumed.sort_unstable();
            let mut due: Vec<u64> = latest
                .iter()
                .map(|s| s.2)
                .filter(|p| len_of(*p) != DELETED && consumed.binary_search(p).is_err())
                .collect();
            due.sort_unstable();
            for packed in due {
                read_line(packed, &mut line)?;
                out.write_all(&line)?;
            }
            Ok(())
        })
    }
}

/// Makes a rename in `path`'s directory durable.
fn sync_dir(path: &std::path::Path) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsert(sku: &str, qty: i64) -> WriteOp {
        WriteOp::Upsert {
            record: Record::StockPosition(StockPosition::new(sku, "W", qty)),
        }
    }

    fn held(path: &std::path::Path) -> Vec<(String, i64)> {
        let mut out = Vec::new();
        snapshot::for_each_held_line(path, |_, line| {
            let text = std::str::from_utf8(line).unwrap();
            let p = match SnapshotFormat::of(path) {
                SnapshotFormat::JsonLines => serde_json::from_str::<StockPosition>(text).unwrap(),
                SnapshotFormat::Csv => {
                    let mut r = csv::ReaderBuilder::new()
                        .has_headers(false)
                        .from_reader(text.as_bytes());
                    let row = r.records().next().unwrap().unwrap();
                    StockPosition::new(&row[0], &row[1], row[2].parse().unwrap())
                }
            };
            out.push((p.sku, p.on_hand));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn nothing_reaches_the_snapshot_before_finish_and_finish_merges_in_place_then_appends() {
        for name in ["stock.jsonl", "stock.csv"] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(name);
            let sink = SnapshotFile::new(path.clone(), false);
            sink.stage(&[upsert("A", 1), upsert("B", 2)]).unwrap();
            assert!(!path.exists(), "{name}: staged, not written");
            sink.finish().unwrap();
            assert_eq!(held(&path), [("A".into(), 1), ("B".into(), 2)], "{name}");

            let delete_a = WriteOp::Delete {
                key: StockPosition::new("A", "W", 0).key(),
                entity: syncd_core::EntityKind::StockPosition,
            };
            let outcomes = sink
                .stage(&[upsert("C", 3), upsert("B", 20), delete_a, upsert("C", 30)])
                .unwrap();
            assert!(outcomes.iter().all(|o| matches!(o, WriteOutcome::Applied)));
            assert_eq!(held(&path).len(), 2, "{name}: unchanged before finish");
            sink.finish().unwrap();
            assert_eq!(
                held(&path),
                [("B".into(), 20), ("C".into(), 30)],
                "{name}: B in its place, A gone, the last C once"
            );
            assert!(!sink.spill_path().exists(), "{name}: no spill left");
        }
    }

    #[test]
    fn discard_drops_what_was_staged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stock.jsonl");
        let sink = SnapshotFile::new(path.clone(), false);
        sink.stage(&[upsert("A", 1)]).unwrap();
        sink.discard().unwrap();
        sink.finish().unwrap();
        assert!(!path.exists());
        assert!(!sink.spill_path().exists());
    }
}
