//! Writing: the operations a sink applies and the per-record outcomes it reports.

use serde::{Deserialize, Serialize};

use crate::error::ConnectorError;
use crate::key::RecordKey;
use crate::model::Record;

/// One write a sink must apply. Both are idempotent: applying one twice changes nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum WriteOp {
    /// Create or replace the record with this key.
    Upsert {
        /// The full record as it must be.
        record: Record,
    },
    /// Remove the record with this key.
    Delete {
        /// The key.
        key: RecordKey,
        /// The entity kind.
        entity: crate::model::EntityKind,
    },
    /// Drop the target's allocations whose logical timestamps lie in `from..=to` for `scope`
    /// (a location, or `*` for every location), once the stock of the same call is in place.
    RemoveAllocations {
        /// A location, or `*`.
        scope: String,
        /// The first logical timestamp.
        from: u64,
        /// The last logical timestamp.
        to: u64,
    },
}

impl WriteOp {
    /// The key this write touches.
    pub fn key(&self) -> RecordKey {
        match self {
            WriteOp::Upsert { record } => record.key(),
            WriteOp::Delete { key, .. } => key.clone(),
            WriteOp::RemoveAllocations { scope, from, .. } => {
                RecordKey::compose(&["~allocations", scope, &from.to_string()])
            }
        }
    }
}

/// What happened to one write of a batch.
#[derive(Clone, Debug)]
pub enum WriteOutcome {
    /// The target holds the write.
    Applied,
    /// The target refused this record; the error says whether to retry or dead-letter it.
    Failed(ConnectorError),
}
