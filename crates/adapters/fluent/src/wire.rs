//! Fluent's JSON: batch bodies, batch status, and the GraphQL read-back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use syncd_core::model::{StockPosition, StockStatus};

use crate::config::FluentConfig;

/// `{"id": "..."}`.
#[derive(Debug, Deserialize)]
pub struct Created {
    pub id: String,
}

/// `POST /api/v4.1/job`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewJob {
    pub name: String,
    pub retailer_id: String,
    pub meta: serde_json::Value,
}

/// One inventory entity of a batch.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    pub location_ref: String,
    pub sku_ref: String,
    pub qty: i64,
    pub corrected_qty: i64,
    pub retailer_id: u64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "ref")]
    pub reference: String,
    pub status: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, serde_json::Value>,
}

impl Entity {
    /// The entity for `p`. Canonical attributes (Fluent's recommended keys and any other) are
    /// passed through as given.
    pub fn of(p: &StockPosition, config: &FluentConfig) -> Self {
        Entity {
            location_ref: p.location.clone(),
            sku_ref: p.sku.clone(),
            qty: p.on_hand,
            corrected_qty: 0,
            retailer_id: config.retailer_id,
            kind: config.inventory_type.clone(),
            reference: config.record_ref(&p.sku, &p.location),
            status: match p.status {
                StockStatus::Active => "ACTIVE",
                StockStatus::Inactive => "INACTIVE",
            }
            .into(),
            attributes: p.attributes.clone(),
        }
    }
}

/// `POST /api/v4.1/job/{id}/batch`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewBatch<'a> {
    pub action: &'static str,
    pub entity_type: &'static str,
    pub source: &'a str,
    pub event: &'a str,
    pub catalogue_ref: String,
    pub entities: Vec<Entity>,
}

/// `GET /api/v4.1/job/{id}/batch/{batchId}`.
#[derive(Debug, Deserialize)]
pub struct BatchStatus {
    pub status: String,
    #[serde(default)]
    pub results: Vec<RecordStatus>,
}

/// One of `results[]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordStatus {
    #[serde(default)]
    pub entity_ref: String,
    pub response_code: u16,
    #[serde(default)]
    pub message: String,
}

/// The read-back query: positions with their quantity of the configured type.
pub const POSITIONS_QUERY: &str = r#"query Positions($catalogue: String!, $first: Int!, $after: String, $types: [String]) {
  inventoryPositions(catalogue: {ref: $catalogue}, first: $first, after: $after) {
    pageInfo { hasNextPage }
    edges {
      cursor
      node {
        productRef
        locationRef
        status
        onHand
        quantities(type: $types) { edges { node { type status quantity attributes { name value } } } }
      }
    }
  }
}"#;

/// The GraphQL answer.
#[derive(Debug, Deserialize)]
pub struct GraphqlAnswer {
    #[serde(default)]
    pub data: Option<PositionsData>,
    #[serde(default)]
    pub errors: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionsData {
    pub inventory_positions: Connection,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub page_info: PageInfo,
    pub edges: Vec<Edge>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
}

#[derive(Debug, Deserialize)]
pub struct Edge {
    pub cursor: String,
    pub node: PositionNode,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionNode {
    pub product_ref: String,
    pub location_ref: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub on_hand: Option<i64>,
    #[serde(default)]
    pub quantities: Option<QuantityConnection>,
}

#[derive(Debug, Deserialize)]
pub struct QuantityConnection {
    pub edges: Vec<QuantityEdge>,
}

#[derive(Debug, Deserialize)]
pub struct QuantityEdge {
    pub node: QuantityNode,
}

#[derive(Debug, Deserialize)]
pub struct QuantityNode {
    #[serde(default)]
    pub status: Option<String>,
    pub quantity: i64,
    #[serde(default)]
    pub attributes: Vec<AttributeNode>,
}

#[derive(Debug, Deserialize)]
pub struct AttributeNode {
    pub name: String,
    pub value: serde_json::Value,
}

impl PositionNode {
    /// The canonical position: the quantity of the configured type when the position has one
    /// (what batches wrote), its `onHand` otherwise.
    pub fn into_position(self) -> StockPosition {
        let quantity = self
            .quantities
            .and_then(|q| q.edges.into_iter().next())
            .map(|e| e.node);
        let status = quantity
            .as_ref()
            .and_then(|q| q.status.clone())
            .or(self.status);
        let mut p = StockPosition::new(
            self.product_ref,
            self.location_ref,
            quantity
                .as_ref()
                .map(|q| q.quantity)
                .or(self.on_hand)
                .unwrap_or(0),
        );
        if status.as_deref() == Some("INACTIVE") {
            p.status = StockStatus::Inactive;
        }
        if let Some(q) = quantity {
            p.attributes = q
                .attributes
                .into_iter()
                .map(|a| (a.name, a.value))
                .collect();
        }
        p
    }
}
