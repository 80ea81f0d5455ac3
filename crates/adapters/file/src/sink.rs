//! Writing the snapshot file: a staging sink. Each batch is checked and appended to a spill
//! file beside the snapshot; `finish` replaces the snapshot once, merging what it held with what
//! was staged (a staged key takes its old line's place; new keys follow, in the order staged).
//! A run's cost is one pass over the old snapshot plus what changed, and memory holds 24 bytes
//! a staged write, not the snapshot.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Mutex;

use syncd_core::files::replace_with;
use syncd_core::model::StockPosition;
use syncd_core::{ConnectorError, Record, RecordKey, WriteOp, WriteOutcome};

use crate::snapshot::{self, SnapshotFormat};

/// Marks a staged delete in a spill record's length.
const DELETED: u32 = u32::MAX;
/// A spill record's header: key hash (16 bytes), then the line's length (4).
const HEADER: usize = 20;

/// The snapshot file and the writes staged for it.
pub struct SnapshotFile {
    path: PathBuf,
    allow_negative: bool,
    staged: Mutex<Option<Staging>>,
}

/// Writes staged since the last finish: their lines in the spill file, and where each one is.
struct Staging {
    spill_path: PathBuf,
    spill: BufWriter<File>,
    written: u64,
    /// (key hash high, key hash low, spill offset) per staged write, in staging order.
    slots: Vec<(u64, u64, u64)>,
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
        if guard.is_none() {
            let spill_path = self.spill_path();
            let file =
                File::create(&spill_path).map_err(|e| ConnectorError::io(self.context(), &e))?;
            *guard = Some(Staging {
                spill_path,
                spill: BufWriter::with_capacity(1 << 20, file),
                written: 0,
                slots: Vec::new(),
            });
        }
        let staging = guard.as_mut().expect("created above");
        let format = SnapshotFormat::of(&self.path);
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
            let len = if deleted { DELETED } else { line.len() as u32 };
            let body: &[u8] = if deleted { &[] } else { &line };
            let wrote = staging
                .spill
                .write_all(&hash.to_le_bytes())
                .and_then(|_| staging.spill.write_all(&len.to_le_bytes()))
                .and_then(|_| staging.spill.write_all(body));
            if let Err(e) = wrote {
                // The spill is now unreliable: drop it; the engine retries the batch.
                let staging = guard.take().expect("present");
                let _ = fs::remove_file(&staging.spill_path);
                return Err(ConnectorError::io(self.context(), &e));
            }
            let (high, low) = halves(hash);
            staging.slots.push((high, low, staging.written));
            staging.written += (HEADER + body.len()) as u64;
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
        fs::remove_file(&staging.spill_path).map_err(|e| ConnectorError::io(self.context(), &e))
    }

    fn merge(&self, staging: &mut Staging) -> io::Result<()> {
        staging.spill.flush()?;
        let spill_path = staging.spill_path.clone();
        // The last staged write per key wins: newest first per key, then one per key.
        let latest = &mut staging.slots;
        latest.sort_unstable_by(|a, b| (a.0, a.1, b.2).cmp(&(b.0, b.1, a.2)));
        latest.dedup_by_key(|s| (s.0, s.1));
        let latest = &*latest;
        let find = |hash: u128| {
            let (high, low) = halves(hash);
            latest
                .binary_search_by(|s| (s.0, s.1).cmp(&(high, low)))
                .ok()
        };
        let spill = File::open(&spill_path)?;
        let read_line = |offset: u64| -> io::Result<Option<Vec<u8>>> {
            let mut header = [0u8; HEADER];
            spill.read_exact_at(&mut header, offset)?;
            let len = u32::from_le_bytes(header[16..20].try_into().expect("4 bytes"));
            if len == DELETED {
                return Ok(None);
            }
            let mut line = vec![0u8; len as usize];
            spill.read_exact_at(&mut line, offset + HEADER as u64)?;
            Ok(Some(line))
        };
        let format = SnapshotFormat::of(&self.path);
        let path = self.path.clone();
        replace_with(&self.path, |out| {
            if format == SnapshotFormat::Csv {
                snapshot::write_csv_header(out)?;
            }
            // Held lines in their order, each replaced by its staged line if there is one.
            let mut consumed: Vec<u64> = Vec::new();
            snapshot::for_each_held_line(&path, |hash, held| {
                match find(hash) {
                    Some(at) => {
                        consumed.push(latest[at].2);
                        if let Some(line) = read_line(latest[at].2)? {
                            out.write_all(&line)?;
                        }
                    }
                    None => out.write_all(held)?,
                }
                Ok(())
            })?;
            // Then the new keys, in the order they were staged: the latest write of each key
            // not written in place above, found by offset in one sequential pass.
            consumed.sort_unstable();
            let mut due: Vec<u64> = latest
                .iter()
                .map(|s| s.2)
                .filter(|o| consumed.binary_search(o).is_err())
                .collect();
            due.sort_unstable();
            let mut due = due.into_iter().peekable();
            let mut reader = BufReader::with_capacity(1 << 20, File::open(&spill_path)?);
            let mut offset = 0u64;
            let mut header = [0u8; HEADER];
            let mut line = Vec::new();
            while due.peek().is_some() {
                reader.read_exact(&mut header)?;
                let len = u32::from_le_bytes(header[16..20].try_into().expect("4 bytes"));
                let body = if len == DELETED { 0 } else { len as usize };
                line.resize(body, 0);
                reader.read_exact(&mut line)?;
                if due.peek() == Some(&offset) {
                    due.next();
                    out.write_all(&line)?;
                }
                offset += (HEADER + body) as u64;
            }
            Ok(())
        })
    }
}
