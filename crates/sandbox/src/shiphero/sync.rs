//! `inventory_sync`: the CSV is downloaded with a plain GET and processed on the simulator's
//! own clock (`pending` → `processing` → `success` | `error`, or `aborted`), a number of rows
//! per tick, whether or not anyone polls.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::ids::hex_id;
use super::webhooks::{self, Event};
use super::ShipHero;

/// One CSV row of a sync.
#[derive(Clone, Debug)]
pub struct Item {
    pub id: String,
    pub row: i64,
    pub sku: String,
    pub quantity: Option<i64>,
    pub quantity_text: String,
    pub action: String,
    pub reason: String,
    pub location_name: Option<String>,
    pub location: Option<i64>,
    pub status: String,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One inventory sync.
#[derive(Clone, Debug)]
pub struct SyncRecord {
    pub id: String,
    pub url: String,
    pub warehouse: u64,
    pub customer_account_id: Option<String>,
    pub status: String,
    pub error: Option<String>,
    pub total_count: i64,
    pub success_count: i64,
    pub error_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub items: Vec<Item>,
}

impl SyncRecord {
    /// Rows done, well or not.
    pub fn finished_count(&self) -> i64 {
        self.success_count + self.error_count
    }

    /// Still `pending` or `processing`.
    pub fn is_open(&self) -> bool {
        self.status == "pending" || self.status == "processing"
    }
}

/// A sync as a test sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncSummary {
    /// The 24-hex sync id.
    pub id: String,
    /// The CSV URL.
    pub url: String,
    /// The warehouse's legacy id.
    pub warehouse_legacy_id: u64,
    /// `pending`, `processing`, `success`, `error` or `aborted`.
    pub status: String,
    /// The batch error, e.g. `error in 3 out of 3 rows`.
    pub error: Option<String>,
    /// Data rows in the CSV.
    pub total_count: i64,
    /// Rows applied.
    pub success_count: i64,
    /// Rows failed.
    pub error_count: i64,
    /// Rows done.
    pub finished_count: i64,
}

/// Every sync, oldest first.
#[derive(Default)]
pub struct Syncs {
    pub all: Vec<SyncRecord>,
}

impl Syncs {
    /// The sync with this id.
    pub fn get(&self, id: &str) -> Option<&SyncRecord> {
        self.all.iter().find(|s| s.id == id)
    }

    /// The sync with this id, to change.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut SyncRecord> {
        self.all.iter_mut().find(|s| s.id == id)
    }

    /// Every sync as a summary.
    pub fn summaries(&self) -> Vec<SyncSummary> {
        self.all
            .iter()
            .map(|s| SyncSummary {
                id: s.id.clone(),
                url: s.url.clone(),
                warehouse_legacy_id: s.warehouse,
                status: s.status.clone(),
                error: s.error.clone(),
                total_count: s.total_count,
                success_count: s.success_count,
                error_count: s.error_count,
                finished_count: s.finished_count(),
            })
            .collect()
    }
}

/// Records a new `pending` sync and starts processing it; its id.
pub fn create(
    sh: &Arc<ShipHero>,
    url: String,
    warehouse: u64,
    customer_account_id: Option<String>,
) -> String {
    let now = Utc::now();
    let id = hex_id();
    sh.syncs.lock().expect("syncs lock").all.push(SyncRecord {
        id: id.clone(),
        url,
        warehouse,
        customer_account_id,
        status: "pending".into(),
        error: None,
        total_count: 0,
        success_count: 0,
        error_count: 0,
        created_at: now,
        updated_at: now,
        items: Vec::new(),
    });
    let sh = sh.clone();
    let sync_id = id.clone();
    tokio::spawn(async move { run(sh, sync_id).await });
    id
}

fn fail(sh: &ShipHero, id: &str, error: String) {
    let mut syncs = sh.syncs.lock().expect("syncs lock");
    if let Some(s) = syncs.get_mut(id) {
        if s.is_open() {
            s.status = "error".into();
            s.error = Some(error);
            s.updated_at = Utc::now();
        }
    }
}

async fn fetch(sh: &ShipHero, url: &str) -> Result<String, String> {
    sh.csv_fetches
        .lock()
        .expect("fetches lock")
        .push(url.to_string());
    let response = sh
        .http
        .get(url)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| format!("could not download the CSV file from {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!(
            "could not download the CSV file from {url}: HTTP {}",
            response.status().as_u16()
        ));
    }
    response
        .text()
        .await
        .map_err(|e| format!("could not download the CSV file from {url}: {e}"))
}

/// The rows of a CSV, or why the file as a whole is refused.
fn parse(text: &str, dynamic_slotting: bool, row_cap: Option<usize>) -> Result<Vec<Item>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("invalid CSV file: {e}"))?
        .iter()
        .map(|h| {
            h.trim_start_matches('\u{feff}')
                .trim_start_matches('#')
                .to_lowercase()
        })
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let missing: Vec<&str> = ["sku", "quantity", "action", "reason"]
        .into_iter()
        .filter(|c| column(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "invalid CSV header: missing column(s) {}; the header must be sku,quantity,action,reason{}",
            missing.join(", "),
            if dynamic_slotting { " (and location)" } else { "" }
        ));
    }
    let (sku, quantity, action, reason) = (
        column("sku").unwrap_or(0),
        column("quantity").unwrap_or(0),
        column("action").unwrap_or(0),
        column("reason").unwrap_or(0),
    );
    // The location column is read on Dynamic Slotting accounts only.
    let location = column("location").filter(|_| dynamic_slotting);
    let now = Utc::now();
    let mut items = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("invalid CSV file: {e}"))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        let get = |c: usize| record.get(c).unwrap_or("").to_string();
        let quantity_text = get(quantity);
        items.push(Item {
            id: hex_id(),
            row: i as i64 + 1,
            sku: get(sku),
            quantity: quantity_text.parse().ok(),
            quantity_text,
            action: get(action),
            reason: get(reason),
            location_name: location.map(get).filter(|l| !l.is_empty()),
            location: None,
            status: "pending".into(),
            error: None,
            created_at: now,
            updated_at: now,
        });
    }
    if let Some(cap) = row_cap {
        if items.len() > cap {
            return Err(format!(
                "the CSV file has {} rows, more than the {cap} allowed",
                items.len()
            ));
        }
    }
    Ok(items)
}

async fn run(sh: Arc<ShipHero>, id: String) {
    tokio::time::sleep(Duration::from_millis(sh.config.sync_pending_ms)).await;
    let url = {
        let syncs = sh.syncs.lock().expect("syncs lock");
        match syncs.get(&id) {
            Some(s) if s.is_open() => s.url.clone(),
            _ => return,
        }
    };
    let items = match fetch(&sh, &url)
        .await
        .and_then(|text| parse(&text, sh.config.dynamic_slotting, sh.config.row_cap))
    {
        Ok(items) => items,
        Err(e) => return fail(&sh, &id, e),
    };
    {
        let mut syncs = sh.syncs.lock().expect("syncs lock");
        let Some(s) = syncs.get_mut(&id) else { return };
        if !s.is_open() {
            return;
        }
        s.status = "processing".into();
        s.total_count = items.len() as i64;
        s.items = items;
        s.updated_at = Utc::now();
    }
    let per_tick = sh.config.sync_rows_per_tick.max(1);
    loop {
        tokio::time::sleep(Duration::from_millis(sh.config.sync_tick_ms)).await;
        let (events, done) = apply_some(&sh, &id, per_tick);
        webhooks::inventory_changed(&sh, events);
        if done {
            return;
        }
    }
}

fn check(sh: &ShipHero, warehouse: u64, item: &Item) -> Result<i64, String> {
    if item.sku.is_empty() {
        return Err("sku is required".into());
    }
    if !item.action.eq_ignore_ascii_case("replace") {
        return Err(format!(
            "Only replace is supported for action (got \"{}\")",
            item.action
        ));
    }
    let Some(quantity) = item.quantity else {
        return Err(format!(
            "quantity \"{}\" is not an integer",
            item.quantity_text
        ));
    };
    if quantity < 0 {
        return Err(format!("quantity {quantity} is negative"));
    }
    let store = sh.store.lock().expect("store lock");
    if !store.inventory.contains_key(&(warehouse, item.sku.clone())) {
        let name = store
            .warehouse(warehouse)
            .map_or(warehouse.to_string(), |w| w.identifier.clone());
        return Err(format!(
            "SKU \"{}\" does not exist in warehouse {name}",
            item.sku
        ));
    }
    Ok(quantity)
}

/// Applies up to `n` pending rows; the inventory changes made and whether the sync is over.
fn apply_some(sh: &ShipHero, id: &str, n: usize) -> (Vec<Event>, bool) {
    let mut syncs = sh.syncs.lock().expect("syncs lock");
    let Some(s) = syncs.get_mut(id) else {
        return (Vec::new(), true);
    };
    if !s.is_open() {
        return (Vec::new(), true);
    }
    let warehouse = s.warehouse;
    let mut events = Vec::new();
    let now = Utc::now();
    let start = s.finished_count() as usize;
    for i in start..(start + n).min(s.items.len()) {
        let item = &s.items[i];
        match check(sh, warehouse, item) {
            Ok(quantity) => {
                let mut store = sh.store.lock().expect("store lock");
                let location = item
                    .location_name
                    .as_deref()
                    .map(|name| store.location(warehouse, name));
                let reason = if item.reason.is_empty() {
                    "Inventory sync".to_string()
                } else {
                    item.reason.clone()
                };
                let previous = store
                    .set_on_hand(warehouse, &item.sku, quantity, &reason, location)
                    .unwrap_or(0);
                events.push(Event {
                    warehouse,
                    sku: item.sku.clone(),
                    previous_on_hand: previous,
                    quantity,
                    reason,
                    location,
                });
                let item = &mut s.items[i];
                item.location = location;
                item.status = "success".into();
                s.success_count += 1;
            }
            Err(e) => {
                let item = &mut s.items[i];
                item.status = "error".into();
                item.error = Some(e);
                s.error_count += 1;
            }
        }
        s.items[i].updated_at = now;
    }
    s.updated_at = now;
    let done = s.finished_count() >= s.total_count;
    if done {
        if s.error_count == 0 {
            s.status = "success".into();
        } else {
            s.status = "error".into();
            s.error = Some(format!(
                "error in {} out of {} rows",
                s.error_count, s.total_count
            ));
        }
    }
    (events, done)
}
