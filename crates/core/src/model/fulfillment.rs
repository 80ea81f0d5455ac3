//! Fulfillment events: a fulfillment request's life, ordered by logical timestamps.

use serde::{Deserialize, Serialize};

use crate::key::RecordKey;

/// What happened to a fulfillment request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FulfillmentEventKind {
    /// Assigned to a fulfillment location; its items are allocated there.
    Assigned,
    /// Items shipped: stock leaves the location.
    ItemsCompleted,
    /// Items could not be fulfilled: their allocations are dropped, stock is unchanged.
    ItemsFailed,
    /// Another step of a fulfillment request (ready for handover, …): nothing to act on, but
    /// its logical timestamp is known to be taken, so it is no gap.
    Noted,
}

impl FulfillmentEventKind {
    /// The kind as it appears in a record key.
    pub fn as_str(self) -> &'static str {
        match self {
            FulfillmentEventKind::Assigned => "assigned",
            FulfillmentEventKind::ItemsCompleted => "items_completed",
            FulfillmentEventKind::ItemsFailed => "items_failed",
            FulfillmentEventKind::Noted => "noted",
        }
    }
}

/// One item of a fulfillment request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentItem {
    /// The item id, unique within the vendor.
    pub id: String,
    /// The product (SKU) of the item.
    pub product_id: String,
}

/// An event in a fulfillment request's life, with its logical timestamp.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentEvent {
    /// The fulfillment request id.
    pub id: String,
    /// What happened.
    pub kind: FulfillmentEventKind,
    /// A number that increases with the order in which events happened.
    pub logical_timestamp: u64,
    /// The fulfillment location.
    pub location: String,
    /// The order the request belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The items concerned.
    pub items: Vec<FulfillmentItem>,
}

impl FulfillmentEvent {
    /// `request id|kind|logical timestamp`: the same event delivered twice has the same key.
    pub fn key(&self) -> RecordKey {
        let timestamp = self.logical_timestamp.to_string();
        RecordKey::compose(&[&self.id, self.kind.as_str(), &timestamp])
    }
}
