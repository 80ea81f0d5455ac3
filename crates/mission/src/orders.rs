//! Orders in NewStore, placed through the sandbox tenant's own controls: each fulfillment
//! request assigned to the store node (its items allocated), later completed or failed, every
//! event at the tenant's next logical timestamp and posted to the daemon by the event stream.
//! What was placed is kept, to check afterwards that every shipped item left the ERP's stock
//! once and its allocation was removed once.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::mission::STORE_NODE;
use crate::MissionError;

/// A fulfillment request placed.
#[derive(Clone, Debug)]
pub struct Placed {
    /// Its id.
    pub id: String,
    /// The product of its items.
    pub sku: String,
    /// How many items.
    pub items: i64,
    /// Still open (neither completed nor failed).
    pub open: bool,
}

/// The NewStore tenant's order desk.
pub struct Orders {
    http: reqwest::Client,
    base: String,
    placed: Vec<Placed>,
    shipped: BTreeMap<String, i64>,
    completions: BTreeMap<u64, u64>,
    last_timestamp: u64,
}

impl Orders {
    /// The desk of the tenant at `base` (the sandbox NewStore's URL).
    pub fn new(base: String) -> Self {
        Orders {
            http: reqwest::Client::new(),
            base,
            placed: Vec::new(),
            shipped: BTreeMap::new(),
            completions: BTreeMap::new(),
            last_timestamp: 0,
        }
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, MissionError> {
        let what = format!("NewStore {path}");
        let answer = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|e| MissionError::call(&what, e))?;
        let status = answer.status();
        let text = answer
            .text()
            .await
            .map_err(|e| MissionError::call(&what, e))?;
        if !status.is_success() {
            return Err(MissionError::call(what, format!("{status}: {text}")));
        }
        serde_json::from_str(&text).map_err(|e| MissionError::call(what, e))
    }

    fn timestamp_of(&mut self, answer: &Value) -> u64 {
        let lts = answer["event"]["payload"]["logical_timestamp"]
            .as_u64()
            .or_else(|| answer["logical_timestamp"].as_u64())
            .or_else(|| answer["event"]["logical_timestamp"].as_u64())
            .unwrap_or(self.last_timestamp + 1);
        self.last_timestamp = self.last_timestamp.max(lts);
        lts
    }

    /// A request for `items` of `sku` assigned to the store node; `deliver: false` keeps its
    /// event from the stream (to be redelivered later, out of order). Gives its id and the
    /// event's logical timestamp.
    pub async fn assign(
        &mut self,
        sku: &str,
        items: i64,
        deliver: bool,
    ) -> Result<(String, u64), MissionError> {
        let answer = self
            .post(
                "/_sandbox/fulfillment_requests",
                json!({
                    "fulfillment_location_id": STORE_NODE,
                    "items": (0..items).map(|_| json!({"product_id": sku})).collect::<Vec<_>>(),
                    "deliver": deliver,
                }),
            )
            .await?;
        let id = answer["id"].as_str().unwrap_or_default().to_string();
        let lts = self.timestamp_of(&answer);
        self.placed.push(Placed {
            id: id.clone(),
            sku: sku.to_string(),
            items,
            open: true,
        });
        Ok((id, lts))
    }

    /// Every open item of request `id` shipped (`complete`) or not (`fail`).
    pub async fn finish(
        &mut self,
        id: &str,
        ship: bool,
        deliver: bool,
    ) -> Result<u64, MissionError> {
        let verb = if ship { "complete" } else { "fail" };
        let answer = self
            .post(
                &format!("/_sandbox/fulfillment_requests/{id}/{verb}"),
                json!({"deliver": deliver}),
            )
            .await?;
        let lts = self.timestamp_of(&answer);
        if let Some(placed) = self.placed.iter_mut().find(|p| p.id == id && p.open) {
            placed.open = false;
            if ship {
                *self.shipped.entry(placed.sku.clone()).or_default() += placed.items;
                *self.completions.entry(lts).or_default() += placed.items as u64;
            }
        }
        Ok(lts)
    }

    /// The stream posts the event at `lts` again (a duplicate, or a late one).
    pub async fn redeliver(&self, lts: u64) -> Result<(), MissionError> {
        self.post(&format!("/_sandbox/events/{lts}/redeliver"), json!({}))
            .await
            .map(|_| ())
    }

    /// The requests still open.
    pub fn open(&self) -> Vec<Placed> {
        self.placed.iter().filter(|p| p.open).cloned().collect()
    }

    /// Items of `sku` allocated and not yet finished.
    pub fn open_items(&self, sku: &str) -> i64 {
        self.placed
            .iter()
            .filter(|p| p.open && p.sku == sku)
            .map(|p| p.items)
            .sum()
    }

    /// Items shipped, by SKU.
    pub fn shipped(&self) -> &BTreeMap<String, i64> {
        &self.shipped
    }

    /// Items shipped, by the logical timestamp of their completion.
    pub fn completions(&self) -> &BTreeMap<u64, u64> {
        &self.completions
    }
}
