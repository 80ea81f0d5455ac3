//! The file connector's config section.

use std::path::PathBuf;

use serde::Deserialize;

fn default_max_batch() -> usize {
    5_000
}

/// `[connectors.<name>]` with `kind = "file"`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Drop folder to read stock positions from (`*.csv` with a header row, `*.jsonl`).
    #[serde(default)]
    pub read_dir: Option<PathBuf>,
    /// Snapshot file to write (`.jsonl` or `.csv`): writes are staged beside it and the file is
    /// replaced atomically once per run.
    #[serde(default)]
    pub write_path: Option<PathBuf>,
    /// Ledger mode: a stock file this connector owns as the stock authority (reads stock
    /// positions; applies stock adjustments once each; takes stock positions as counts).
    #[serde(default)]
    pub ledger_path: Option<PathBuf>,
    /// With `ledger_path`: a JSON Lines file each write the ledger receives is appended to (key,
    /// operation, effect), after the ledger is replaced.
    #[serde(default)]
    pub journal_path: Option<PathBuf>,
    /// Accept negative on-hand quantities; otherwise such a record is rejected (dead letter).
    #[serde(default)]
    pub allow_negative: bool,
    /// Writes per batch.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
}
