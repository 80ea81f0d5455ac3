//! The stock model: per (product, fulfillment node) an on-hand and the allocations of items
//! not yet shipped, each tagged with its logical timestamp; ATP = on-hand − allocations. An
//! import sets on-hand and removes the allocations in its ranges.

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

/// One (product, node).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StockEntry {
    /// On hand.
    pub on_hand: i64,
    /// Allocations: logical timestamp → item id.
    pub allocations: BTreeMap<u64, String>,
    /// The revision of the import that last set on-hand.
    #[serde(skip)]
    pub revision: i64,
}

impl StockEntry {
    /// Available to promise.
    pub fn atp(&self) -> i64 {
        self.on_hand - self.allocations.len() as i64
    }
}

/// All stock.
#[derive(Default)]
pub struct Stock {
    entries: BTreeMap<(String, String), StockEntry>,
    removed: BTreeMap<u64, u64>,
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

    pub fn allocate(&mut self, product: &str, node: &str, lts: u64, item: &str) {
        self.entries
            .entry((product.into(), node.into()))
            .or_default()
            .allocations
            .insert(lts, item.into());
    }

    /// Removes the allocations in `from..=to` at `node` (every node when `None`).
    pub fn remove_range(&mut self, node: Option<&str>, from: u64, to: u64) {
        for ((_, n), entry) in self.entries.iter_mut() {
            if node.is_some_and(|node| node != n) {
                continue;
            }
            let gone: Vec<u64> = entry
                .allocations
                .range(from..=to)
                .map(|(l, _)| *l)
                .collect();
            for lts in gone {
                entry.allocations.remove(&lts);
                *self.removed.entry(lts).or_default() += 1;
            }
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

    pub fn removals(&self) -> BTreeMap<u64, u64> {
        self.removed.clone()
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
        "allocations": entry.allocations.iter().map(|(lts, item)| serde_json::json!({
            "created_at": "2026-01-01T00:00:00Z", "item_uuid": item, "order_uuid": null, "logical_timestamp": lts,
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
