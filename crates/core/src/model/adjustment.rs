//! Stock adjustments: signed changes to a position, applied once each.

use serde::{Deserialize, Serialize};

use crate::key::RecordKey;

/// A signed change to one SKU's quantity at one location.
///
/// `id` is the idempotency key: an authority applies each id at most once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockAdjustment {
    /// Idempotency key, unique per adjustment (e.g. `fulfillment item id`).
    pub id: String,
    /// The SKU.
    pub sku: String,
    /// The location.
    pub location: String,
    /// Signed quantity change.
    pub delta: i64,
    /// Why the quantity changed (e.g. `fulfillment_completed`, `cycle_count`).
    pub reason: String,
    /// The logical timestamp of the event that caused it, where the source orders its events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_timestamp: Option<u64>,
}

impl StockAdjustment {
    /// The adjustment id.
    pub fn key(&self) -> RecordKey {
        RecordKey::single(&self.id)
    }
}
