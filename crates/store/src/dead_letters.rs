//! Dead letters: records that failed for good, with their error and attempt count, kept per
//! pipeline until an operator replays or drops them.

use serde::{Deserialize, Serialize};
use syncd_core::Record;

use crate::batch::WriteBatch;
use crate::error::StoreError;
use crate::keys;
use crate::store::{StateStore, Tree};

/// Where in a run a dead letter was made; it decides what a replay does with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The source row could not be read as a record: only a fix at the source helps.
    Read,
    /// The record's ids could not be mapped: a replay maps it again with the current maps.
    Map,
    /// The target refused the (mapped) record: a replay writes it again.
    #[default]
    Write,
}

impl Stage {
    /// The stage's name as operators see it.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Read => "read",
            Stage::Map => "map",
            Stage::Write => "write",
        }
    }
}

/// A record (or unreadable row) that a pipeline could not deliver.
///
/// Its id is derived from what failed (`row:<origin>` or `record:<key>`), so the same failure
/// seen again after a restart replaces its dead letter instead of adding a second one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// `row:<origin>` for an unreadable row, `record:<key>` for a rejected record.
    pub id: String,
    /// The pipeline it belongs to.
    pub pipeline: String,
    /// Where in the run it failed.
    #[serde(default)]
    pub stage: Stage,
    /// The record's key, when it got as far as being a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Where it came from (file and line, event id), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The record, when it was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Record>,
    /// The raw input, when it could not be parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// Why it failed.
    pub error: String,
    /// How many write attempts were made.
    pub attempts: u32,
    /// When it was dead-lettered (RFC 3339).
    pub at: String,
}

fn key(pipeline: &str, id: &str) -> Vec<u8> {
    keys::compose(&[pipeline.as_bytes(), id.as_bytes()])
}

/// The id of the dead letter for an unreadable row.
pub fn row_id(origin: &str) -> String {
    format!("row:{origin}")
}

/// The id of the dead letter for a rejected record.
pub fn record_id(key: &str) -> String {
    format!("record:{key}")
}

/// Adds `letter` in `batch`.
pub fn put(batch: &mut WriteBatch, letter: &DeadLetter) {
    let value = serde_json::to_vec(letter).expect("a dead letter serializes");
    batch.put(Tree::DeadLetters, key(&letter.pipeline, &letter.id), value);
}

/// Removes the dead letter `id` of `pipeline` in `batch`.
pub fn delete(batch: &mut WriteBatch, pipeline: &str, id: &str) {
    batch.delete(Tree::DeadLetters, key(pipeline, id));
}

/// The dead letter `id` of `pipeline`, if there is one.
pub fn get(
    store: &dyn StateStore,
    pipeline: &str,
    id: &str,
) -> Result<Option<DeadLetter>, StoreError> {
    let k = key(pipeline, id);
    store
        .get(Tree::DeadLetters, &k)?
        .map(|v| {
            serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                tree: Tree::DeadLetters.name(),
                key: keys::printable(&k),
                message: e.to_string(),
            })
        })
        .transpose()
}

/// How many dead letters `pipeline` holds.
pub fn count(store: &dyn StateStore, pipeline: &str) -> Result<usize, StoreError> {
    store.count_prefix(Tree::DeadLetters, &keys::prefix(&[pipeline.as_bytes()]))
}

/// The dead letters of `pipeline` (or of every pipeline), by id.
pub fn list(store: &dyn StateStore, pipeline: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
    let prefix = pipeline
        .map(|p| keys::prefix(&[p.as_bytes()]))
        .unwrap_or_default();
    store
        .scan_prefix(Tree::DeadLetters, &prefix)
        .map(|pair| {
            let (k, v) = pair?;
            serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                tree: Tree::DeadLetters.name(),
                key: keys::printable(&k),
                message: e.to_string(),
            })
        })
        .collect()
}
