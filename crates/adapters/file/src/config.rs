//! The file connector's config section.

use std::path::PathBuf;

use serde::Deserialize;
use syncd_core::KeyDoc;

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

/// The keys `FileConfig` reads, for `syncd connectors`.
pub const KEYS: &[KeyDoc] = &[
    KeyDoc::optional(
        "read_dir",
        "path",
        "drop folder read for stock positions (`*.csv` with a header row, `*.jsonl`)",
    ),
    KeyDoc::optional(
        "write_path",
        "path",
        "snapshot file written (`.jsonl` or `.csv`), replaced once per run",
    ),
    KeyDoc::optional(
        "ledger_path",
        "path",
        "a stock ledger this connector owns (instead of read_dir/write_path)",
    ),
    KeyDoc::optional(
        "journal_path",
        "path",
        "with ledger_path: JSON Lines file each write to the ledger is appended to",
    ),
    KeyDoc::default(
        "allow_negative",
        "bool",
        "false",
        "accept negative on-hand quantities instead of dead-lettering them",
    ),
    KeyDoc::default("max_batch", "integer", "5000", "writes per batch"),
];
