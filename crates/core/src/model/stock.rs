//! Stock positions: what one location holds of one SKU.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fingerprint::Canonical;
use crate::key::RecordKey;

/// Whether a position may be sold from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockStatus {
    /// Sellable (Fluent `ACTIVE`, Magento source item status 1).
    #[default]
    Active,
    /// Not sellable (Fluent `INACTIVE`, Magento source item status 0).
    Inactive,
}

/// On-hand and allocated quantity of one SKU at one location.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StockPosition {
    /// The SKU (Fluent `skuRef`, Magento product SKU, NewStore `product_id`).
    pub sku: String,
    /// The location (Fluent `locationRef`, MSI source code, NewStore fulfillment node).
    pub location: String,
    /// Physical quantity on hand; may be negative where a system allows oversell corrections.
    pub on_hand: i64,
    /// Quantity reserved for open orders.
    #[serde(default)]
    pub allocated: i64,
    /// The outstanding correction the source reports (Fluent `correctedQty`), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected: Option<i64>,
    /// Whether the position may be sold from.
    #[serde(default)]
    pub status: StockStatus,
    /// Free-form attributes carried through as given (Fluent `expectedOn`, `storageAreaRef`,
    /// `condition`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, serde_json::Value>,
}

impl StockPosition {
    /// A position with the given quantity, nothing allocated, active, without attributes.
    pub fn new(sku: impl Into<String>, location: impl Into<String>, on_hand: i64) -> Self {
        StockPosition {
            sku: sku.into(),
            location: location.into(),
            on_hand,
            allocated: 0,
            corrected: None,
            status: StockStatus::Active,
            attributes: BTreeMap::new(),
        }
    }

    /// `sku|location`.
    pub fn key(&self) -> RecordKey {
        RecordKey::compose(&[&self.sku, &self.location])
    }

    /// Available to promise: on hand less allocated.
    pub fn available(&self) -> i64 {
        self.on_hand - self.allocated
    }

    /// Writes the canonical bytes of `Record::StockPosition(self)` as serde's derived
    /// serialization does (the `entity` tag first, then the fields in declaration order, the
    /// skipped ones left out), without serde's dispatch: a run fingerprints every position it
    /// reads, and this is most of that cost.
    pub(crate) fn canonical_record(&self, out: &mut Canonical<'_>) {
        out.open_struct();
        out.str("entity");
        out.str("stock_position");
        out.str("sku");
        out.str(&self.sku);
        out.str("location");
        out.str(&self.location);
        out.str("on_hand");
        out.int(self.on_hand);
        out.str("allocated");
        out.int(self.allocated);
        if let Some(corrected) = self.corrected {
            out.str("corrected");
            out.some();
            out.int(corrected);
        }
        out.str("status");
        out.unit_variant(match self.status {
            StockStatus::Active => "active",
            StockStatus::Inactive => "inactive",
        });
        if !self.attributes.is_empty() {
            out.str("attributes");
            out.value(&self.attributes);
        }
        out.close();
    }
}
