//! Fulfillment as the tenant lives it, driven over HTTP by tests, operators or a client in any
//! language: a request is assigned to a location (its items allocated), and each item is later
//! completed or failed. Every one of those events takes the next number of the tenant's
//! logical clock, "a number that consistently increases" (seed 003), and is posted to the
//! event stream's callback with `Authorization: Bearer <api_key>`, as NewStore's event stream
//! does.
//!
//! Controls (no bearer: they stand for the tenant's own life, not the API):
//! - `PUT /_sandbox/stock` `{product_id, fulfillment_node_id, on_hand}`
//! - `GET /_sandbox/stock?product_id=&fulfillment_node_id=` → `{on_hand, allocations, atp}`
//! - `PUT /_sandbox/event_stream` `{callback_url, api_key}`
//! - `POST /_sandbox/fulfillment_requests` `{fulfillment_location_id, items: [{product_id,
//!   id?}], id?, order_id?, logical_timestamp?, deliver?}` → 201 `{id, order_id, items, event,
//!   delivered}`: assigned
//! - `POST /_sandbox/fulfillment_requests/{id}/complete` and `/fail` `{items?, logical_timestamp?,
//!   deliver?}` → `{event, delivered}` (all the request's open items when `items` is absent)
//! - `GET /_sandbox/events`; `POST /_sandbox/events/{logical_timestamp}/redeliver`
//!
//! `logical_timestamp` moves the clock forward (to reproduce a document's numbers; it must be
//! greater than the last, else 409); `deliver: false` keeps an event from the stream (one the
//! integration's filter leaves out, or lost). `delivered` is the callback's status code, 0 when
//! it could not be reached, null when no stream is set or delivery was off.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::stock::{problem, Allocation};
use super::NewStore;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ItemState {
    Assigned,
    Completed,
    Failed,
}

#[derive(Clone, Debug)]
struct Item {
    id: String,
    product_id: String,
    state: ItemState,
}

#[derive(Clone, Debug)]
struct Request {
    order_id: String,
    location: String,
    items: Vec<Item>,
}

/// The tenant's fulfillment requests, its logical clock and its event stream.
#[derive(Default)]
pub struct Fulfillment {
    requests: BTreeMap<String, Request>,
    clock: u64,
    events: BTreeMap<u64, serde_json::Value>,
    stream: Option<(String, String)>,
    next_id: u64,
}

impl Fulfillment {
    fn tick(&mut self, wanted: Option<u64>) -> Result<u64, Refusal> {
        match wanted {
            Some(lts) if lts <= self.clock => Err(Refusal {
                status: StatusCode::CONFLICT,
                code: "logical_timestamp_not_increasing",
                detail: format!(
                    "logical timestamp {lts} is not after the last one ({}): it only increases",
                    self.clock
                ),
            }),
            Some(lts) => {
                self.clock = lts;
                Ok(lts)
            }
            None => {
                self.clock += 1;
                Ok(self.clock)
            }
        }
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{:06}", self.next_id)
    }
}

fn envelope(
    tenant: &str,
    name: &str,
    request_id: &str,
    request: &Request,
    items: &[&Item],
    lts: u64,
) -> serde_json::Value {
    serde_json::json!({
        "tenant": tenant,
        "name": name,
        "published_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "payload": {
            "id": request_id,
            "order_id": request.order_id,
            "logical_timestamp": lts,
            "fulfillment_location_id": request.location,
            "associate_id": null,
            "service_level": "GROUND",
            "items": items.iter().map(|i| serde_json::json!({"id": i.id, "product_id": i.product_id})).collect::<Vec<_>>(),
        }
    })
}

/// Posts `event` to the stream, if one is set: the callback's status, 0 when unreachable.
async fn post(
    ns: &NewStore,
    stream: Option<(String, String)>,
    event: &serde_json::Value,
) -> Option<u16> {
    let (url, api_key) = stream?;
    Some(
        match ns
            .http
            .post(&url)
            .bearer_auth(&api_key)
            .json(event)
            .send()
            .await
        {
            Ok(answer) => answer.status().as_u16(),
            Err(_) => 0,
        },
    )
}

/// Records `event` at `lts` and posts it unless `deliver` is off: the delivery's status.
async fn publish(ns: &NewStore, lts: u64, event: &serde_json::Value, deliver: bool) -> Option<u16> {
    let stream = {
        let mut f = ns.fulfillment.lock().expect("fulfillment lock");
        f.events.insert(lts, event.clone());
        f.stream.clone()
    };
    match deliver {
        true => post(ns, stream, event).await,
        false => None,
    }
}

/// A control refused, answered as problem+json.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    detail: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        problem(self.status, self.code, &self.detail)
    }
}

fn bad_request(e: impl std::fmt::Display) -> Response {
    problem(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string())
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| Refusal {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_request",
        detail: e.to_string(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetStock {
    product_id: String,
    fulfillment_node_id: String,
    on_hand: i64,
}

/// `PUT /_sandbox/stock`.
pub async fn set_stock(State(ns): State<Arc<NewStore>>, body: axum::body::Bytes) -> Response {
    let set: SetStock = match parse(&body) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    ns.stock.lock().expect("stock lock").set_on_hand(
        &set.product_id,
        &set.fulfillment_node_id,
        set.on_hand,
    );
    stock_answer(&ns, &set.product_id, &set.fulfillment_node_id)
}

/// `?product_id=&fulfillment_node_id=`.
#[derive(Deserialize)]
pub struct StockQuery {
    product_id: String,
    fulfillment_node_id: String,
}

/// `GET /_sandbox/stock`.
pub async fn get_stock(State(ns): State<Arc<NewStore>>, Query(q): Query<StockQuery>) -> Response {
    stock_answer(&ns, &q.product_id, &q.fulfillment_node_id)
}

fn stock_answer(ns: &NewStore, product: &str, node: &str) -> Response {
    let entry = ns.stock.lock().expect("stock lock").get(product, node);
    Json(serde_json::json!({
        "product_id": product,
        "fulfillment_node_id": node,
        "on_hand": entry.on_hand,
        "allocations": entry.allocations,
        "atp": entry.atp(),
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stream {
    callback_url: String,
    api_key: String,
}

/// `PUT /_sandbox/event_stream`.
pub async fn set_stream(State(ns): State<Arc<NewStore>>, body: axum::body::Bytes) -> Response {
    let stream: Stream = match parse(&body) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    ns.fulfillment.lock().expect("fulfillment lock").stream =
        Some((stream.callback_url, stream.api_key));
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewItem {
    product_id: String,
    #[serde(default)]
    id: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Assign {
    fulfillment_location_id: String,
    items: Vec<NewItem>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    order_id: Option<String>,
    #[serde(default)]
    logical_timestamp: Option<u64>,
    #[serde(default = "yes")]
    deliver: bool,
}

/// `POST /_sandbox/fulfillment_requests`: a request assigned to a location; its items are
/// allocated there and `fulfillment_request.assigned` is published.
pub async fn assign(State(ns): State<Arc<NewStore>>, body: axum::body::Bytes) -> Response {
    let new: Assign = match parse(&body) {
        Ok(n) => n,
        Err(r) => return r.into_response(),
    };
    if new.items.is_empty() {
        return bad_request("a fulfillment request has at least one item");
    }
    let (id, lts, event, answer) = {
        let mut f = ns.fulfillment.lock().expect("fulfillment lock");
        let id = new.id.clone().unwrap_or_else(|| f.id("ffr"));
        if f.requests.contains_key(&id) {
            return problem(
                StatusCode::CONFLICT,
                "duplicate_fulfillment_request",
                &format!("fulfillment request {id} exists"),
            );
        }
        let lts = match f.tick(new.logical_timestamp) {
            Ok(lts) => lts,
            Err(r) => return r.into_response(),
        };
        let order_id = new.order_id.clone().unwrap_or_else(|| f.id("order"));
        let mut items = Vec::new();
        for item in &new.items {
            let item_id = item.id.clone().unwrap_or_else(|| f.id("item"));
            items.push(Item {
                id: item_id,
                product_id: item.product_id.clone(),
                state: ItemState::Assigned,
            });
        }
        let request = Request {
            order_id,
            location: new.fulfillment_location_id.clone(),
            items,
        };
        let mut stock = ns.stock.lock().expect("stock lock");
        for item in &request.items {
            stock.allocate(
                &item.product_id,
                &request.location,
                Allocation {
                    item_id: item.id.clone(),
                    fulfillment_request_id: id.clone(),
                    order_id: request.order_id.clone(),
                    assigned_at: lts,
                    completed_at: None,
                },
            );
        }
        let all: Vec<&Item> = request.items.iter().collect();
        let event = envelope(
            &ns.config.tenant,
            "fulfillment_request.assigned",
            &id,
            &request,
            &all,
            lts,
        );
        let answer = serde_json::json!({
            "id": id,
            "order_id": request.order_id,
            "items": request.items.iter().map(|i| serde_json::json!({"id": i.id, "product_id": i.product_id})).collect::<Vec<_>>(),
            "logical_timestamp": lts,
        });
        f.requests.insert(id.clone(), request);
        (id, lts, event, answer)
    };
    let delivered = publish(&ns, lts, &event, new.deliver).await;
    let mut out = answer;
    out["event"] = event;
    out["delivered"] = serde_json::json!(delivered);
    tracing::debug!(request = %id, lts, "sandbox: fulfillment request assigned");
    (StatusCode::CREATED, Json(out)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Finish {
    #[serde(default)]
    items: Option<Vec<String>>,
    #[serde(default)]
    logical_timestamp: Option<u64>,
    #[serde(default = "yes")]
    deliver: bool,
}

/// `POST /_sandbox/fulfillment_requests/{id}/complete`.
pub async fn complete(
    State(ns): State<Arc<NewStore>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    finish(ns, id, body, ItemState::Completed).await
}

/// `POST /_sandbox/fulfillment_requests/{id}/fail`.
pub async fn fail(
    State(ns): State<Arc<NewStore>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    finish(ns, id, body, ItemState::Failed).await
}

async fn finish(ns: Arc<NewStore>, id: String, body: axum::body::Bytes, to: ItemState) -> Response {
    let finish: Finish = if body.is_empty() {
        Finish {
            items: None,
            logical_timestamp: None,
            deliver: true,
        }
    } else {
        match parse(&body) {
            Ok(f) => f,
            Err(r) => return r.into_response(),
        }
    };
    let (lts, event) = {
        let mut f = ns.fulfillment.lock().expect("fulfillment lock");
        let Some(request) = f.requests.get(&id).cloned() else {
            return problem(
                StatusCode::NOT_FOUND,
                "not_found",
                &format!("fulfillment request {id} not found"),
            );
        };
        let open: Vec<&Item> = request
            .items
            .iter()
            .filter(|i| i.state == ItemState::Assigned)
            .collect();
        let chosen: Vec<&Item> = match &finish.items {
            None => open.clone(),
            Some(ids) => {
                let mut chosen = Vec::new();
                for wanted in ids {
                    match open.iter().find(|i| &i.id == wanted) {
                        Some(item) => chosen.push(*item),
                        None => {
                            return problem(
                                StatusCode::CONFLICT,
                                "item_not_open",
                                &format!("item {wanted} of {id} is not assigned and open"),
                            )
                        }
                    }
                }
                chosen
            }
        };
        if chosen.is_empty() {
            return problem(
                StatusCode::CONFLICT,
                "item_not_open",
                &format!("fulfillment request {id} has no open item"),
            );
        }
        let lts = match f.tick(finish.logical_timestamp) {
            Ok(lts) => lts,
            Err(r) => return r.into_response(),
        };
        let name = match to {
            ItemState::Completed => "fulfillment_request.items_completed",
            _ => "fulfillment_request.items_failed",
        };
        let event = envelope(&ns.config.tenant, name, &id, &request, &chosen, lts);
        let chosen_ids: Vec<String> = chosen.iter().map(|i| i.id.clone()).collect();
        {
            let mut stock = ns.stock.lock().expect("stock lock");
            for item in &chosen_ids {
                match to {
                    ItemState::Completed => stock.complete(&id, item, lts),
                    _ => stock.fail(&id, item),
                }
            }
        }
        if let Some(request) = f.requests.get_mut(&id) {
            for item in request.items.iter_mut() {
                if chosen_ids.contains(&item.id) {
                    item.state = to;
                }
            }
        }
        (lts, event)
    };
    let delivered = publish(&ns, lts, &event, finish.deliver).await;
    Json(serde_json::json!({"event": event, "delivered": delivered})).into_response()
}

/// `GET /_sandbox/events`: every event published, by logical timestamp.
pub async fn events(State(ns): State<Arc<NewStore>>) -> Response {
    let f = ns.fulfillment.lock().expect("fulfillment lock");
    Json(f.events.values().cloned().collect::<Vec<_>>()).into_response()
}

/// `POST /_sandbox/events/{logical_timestamp}/redeliver`: the event at that timestamp, posted
/// again (the stream delivers at least once).
pub async fn redeliver(State(ns): State<Arc<NewStore>>, Path(lts): Path<u64>) -> Response {
    let (event, stream) = {
        let f = ns.fulfillment.lock().expect("fulfillment lock");
        (f.events.get(&lts).cloned(), f.stream.clone())
    };
    let Some(event) = event else {
        return problem(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("no event at logical timestamp {lts}"),
        );
    };
    let delivered = post(&ns, stream, &event).await;
    Json(serde_json::json!({"event": event, "delivered": delivered})).into_response()
}
