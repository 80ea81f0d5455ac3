//! The stock model: per (product, fulfillment node) an on-hand and the allocations of assigned
//! items; ATP = on-hand − allocations. A failure drops its item's allocation at once; a
//! completion leaves it until an import's range covers the completion's logical timestamp. An
//! import sets on-hand and removes the allocations its ranges cover.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::refusal;
use super::NewStore;

/// A problem+json answer.
pub fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        Json(serde_json::json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
            "error_code": code,
            "message": detail,
        })),
    )
        .into_response()
}

/// One allocation: an item assigned at this (product, node) and not yet released.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Allocation {
    /// The item's id.
    pub item_id: String,
    /// Its fulfillment request.
    pub fulfillment_request_id: String,
    /// Its order.
    pub order_id: String,
    /// The logical timestamp of its assignment.
    pub assigned_at: u64,
    /// The logical timestamp of its completion: shipped, and removable by an import's range
    /// that covers this timestamp.
    pub completed_at: Option<u64>,
}

/// One (product, node).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StockEntry {
    /// On hand.
    pub on_hand: i64,
    /// Allocations of items assigned here: until they fail, or complete and an import's range
    /// covers their completion.
    pub allocations: Vec<Allocation>,
    /// The revision of the import that last set on-hand.
    #[serde(skip)]
    pub revision: i64,
}

impl StockEntry {
    /// Available to promise: on hand less allocations (no reservations or safety stock here).
    pub fn atp(&self) -> i64 {
        self.on_hand - self.allocations.len() as i64
    }

    /// The completion timestamps of the allocations still held for shipped items.
    pub fn shipped_and_held(&self) -> Vec<u64> {
        self.allocations
            .iter()
            .filter_map(|a| a.completed_at)
            .collect()
    }
}

/// All stock.
#[derive(Default)]
pub struct Stock {
    entries: BTreeMap<(String, String), StockEntry>,
    removed: BTreeMap<u64, u64>,
    ranges: Vec<AppliedRange>,
    nodes: BTreeMap<String, String>,
}

/// A range an import carried, as applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppliedRange {
    /// The node it was scoped to; `None` for every node.
    pub fulfillment_node_id: Option<String>,
    /// First logical timestamp covered.
    pub from: u64,
    /// Last logical timestamp covered.
    pub to: u64,
}

impl Stock {
    pub fn set_on_hand(&mut self, product: &str, node: &str, on_hand: i64) {
        self.entries
            .entry((product.into(), node.into()))
            .or_default()
            .on_hand = on_hand;
    }

    /// Sets on-hand from an import of `revision`, unless a later revision already did: an
    /// import applied late never takes stock back to older values.
    pub fn import_on_hand(&mut self, product: &str, node: &str, on_hand: i64, revision: i64) {
        let entry = self
            .entries
            .entry((product.into(), node.into()))
            .or_default();
        if revision >= entry.revision {
            entry.on_hand = on_hand;
            entry.revision = revision;
        }
    }

    /// Allocates an assigned item.
    pub fn allocate(&mut self, product: &str, node: &str, allocation: Allocation) {
        self.entries
            .entry((product.into(), node.into()))
            .or_default()
            .allocations
            .push(allocation);
    }

    fn find(&mut self, request: &str, item: &str) -> Option<(&mut StockEntry, usize)> {
        self.entries.values_mut().find_map(|entry| {
            let at = entry
                .allocations
                .iter()
                .position(|a| a.fulfillment_request_id == request && a.item_id == item)?;
            Some((entry, at))
        })
    }

    /// Marks an item shipped at `lts`: its allocation stays until a range covers `lts`.
    pub fn complete(&mut self, request: &str, item: &str, lts: u64) {
        if let Some((entry, at)) = self.find(request, item) {
            entry.allocations[at].completed_at = Some(lts);
        }
    }

    /// Drops a failed item's allocation ("Allocations on items in fulfillment requests that
    /// failed are automatically removed in NewStore").
    pub fn fail(&mut self, request: &str, item: &str) {
        if let Some((entry, at)) = self.find(request, item) {
            entry.allocations.remove(at);
        }
    }

    /// Removes the allocations of items completed in `from..=to` at `node` (every node when
    /// `None`); an item only assigned is never removed by a range.
    pub fn remove_range(&mut self, node: Option<&str>, from: u64, to: u64) {
        self.ranges.push(AppliedRange {
            fulfillment_node_id: node.map(str::to_string),
            from,
            to,
        });
        for ((_, n), entry) in self.entries.iter_mut() {
            if node.is_some_and(|node| node != n) {
                continue;
            }
            entry.allocations.retain(|a| match a.completed_at {
                Some(lts) if (from..=to).contains(&lts) => {
                    *self.removed.entry(lts).or_default() += 1;
                    false
                }
                _ => true,
            });
        }
    }

    pub fn get(&self, product: &str, node: &str) -> StockEntry {
        self.entries
            .get(&(product.to_string(), node.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    pub fn all(&self) -> Vec<(String, String, StockEntry)> {
        self.entries
            .iter()
            .map(|((p, n), e)| (p.clone(), n.clone(), e.clone()))
            .collect()
    }

    /// How many allocations a range removed, by the completion timestamp they were held at.
    pub fn removals(&self) -> BTreeMap<u64, u64> {
        self.removed.clone()
    }

    /// Every range imports carried, in the order applied.
    pub fn ranges(&self) -> Vec<AppliedRange> {
        self.ranges.clone()
    }

    /// Maps the merchant's fulfillment location `location` to the DC location `node`, creating
    /// the node (an import's `store_mapping`).
    pub fn map_store(&mut self, location: &str, node: &str) {
        self.nodes.insert(node.to_string(), location.to_string());
    }

    /// The DC locations imports created: node id → the merchant's location it maps.
    pub fn nodes(&self) -> BTreeMap<String, String> {
        self.nodes.clone()
    }
}

/// `?product_id=&fulfillment_node_id=`.
#[derive(Deserialize)]
pub struct InsightsQuery {
    product_id: String,
    fulfillment_node_id: String,
}

/// `GET /v0/stock/insights`.
pub async fn insights(
    State(ns): State<Arc<NewStore>>,
    headers: HeaderMap,
    Query(q): Query<InsightsQuery>,
) -> Response {
    if let Some(denied) = refusal(&ns, &headers) {
        return denied;
    }
    let entry = ns
        .stock
        .lock()
        .expect("stock lock")
        .get(&q.product_id, &q.fulfillment_node_id);
    Json(serde_json::json!({
        "product_id": q.product_id,
        "fulfillment_node_id": q.fulfillment_node_id,
        "allocations": entry.allocations.iter().map(|a| serde_json::json!({
            "created_at": "2026-01-01T00:00:00Z", "item_uuid": a.item_id, "order_uuid": a.order_id,
        })).collect::<Vec<_>>(),
        "future_allocations": [],
        "reservations": [],
    }))
    .into_response()
}

/// `?limit=&offset=`.
#[derive(Deserialize)]
pub struct ListQuery {
    limit: Option<usize>,
    offset: Option<usize>,
}

/// `GET /_/v0/hq/stocked_products`.
pub async fn stocked_products(
    State(ns): State<Arc<NewStore>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    if let Some(denied) = refusal(&ns, &headers) {
        return denied;
    }
    let stock = ns.stock.lock().expect("stock lock");
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let offset = q.offset.unwrap_or(0);
    let items: Vec<serde_json::Value> = stock
        .entries
        .iter()
        .skip(offset)
        .take(limit)
        .map(|((product, node), e)| {
            serde_json::json!({
                "product_id": product, "sku": product, "fulfillment_node_id": node,
                "on_hand": e.on_hand, "allocations": e.allocations.len(), "safety_stock": 0,
                "atp": e.atp(), "present_atp": e.atp(), "future_atp": 0,
            })
        })
        .collect();
    Json(serde_json::json!({
        "items": items,
        "pagination_info": {"count": items.len(), "total": stock.entries.len(), "offset": offset},
    }))
    .into_response()
}
