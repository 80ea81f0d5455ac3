//! Registered webhooks and their sender: every inventory change POSTs an `Inventory Update`
//! (and `Inventory Change`) body to the webhooks of that name, signed with
//! `X-ShipHero-HMAC-SHA256` = base64(HMAC-SHA256(raw body, shared_signature_secret)) and
//! identified by `X-Shiphero-Message-ID`; a receiver has `webhook_timeout_ms` to answer 2xx,
//! failures are retried `webhook_retries` times. Drops, duplicates and delays are injectable.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use super::ids::{decode, encode, global_id, hex_id};
use super::ShipHero;

/// A registered webhook.
#[derive(Clone, Debug)]
pub struct Hook {
    pub legacy_id: u64,
    pub name: String,
    pub url: String,
    pub shop_name: String,
    pub secret: String,
    pub customer_account_id: Option<String>,
}

/// One delivery (with its retries) as a test sees it.
#[derive(Clone, Debug)]
pub struct WebhookDelivery {
    /// `X-Shiphero-Message-ID`.
    pub message_id: String,
    /// The receiver.
    pub url: String,
    /// `Inventory Update` or `Inventory Change`.
    pub webhook_type: String,
    /// The raw body sent.
    pub body: String,
    /// `X-ShipHero-HMAC-SHA256`.
    pub signature: String,
    /// Dropped on purpose (never sent).
    pub dropped: bool,
    /// Sent twice on purpose.
    pub duplicated: bool,
    /// POSTs made so far.
    pub attempts: u32,
    /// A 2xx answer came back.
    pub delivered: bool,
}

/// Webhooks, injected faults and the delivery log.
#[derive(Default)]
pub struct Hooks {
    pub list: Vec<Hook>,
    pub drop_next: u64,
    pub duplicate_next: u64,
    pub delay_next: u64,
    pub delay: Duration,
    pub deliveries: Vec<WebhookDelivery>,
}

/// One on_hand change.
#[derive(Clone, Debug)]
pub struct Event {
    pub warehouse: u64,
    pub sku: String,
    pub previous_on_hand: i64,
    pub quantity: i64,
    pub reason: String,
    pub location: Option<i64>,
}

/// base64(HMAC-SHA256(body, secret)).
pub fn sign(body: &[u8], secret: &str) -> String {
    let url_safe = jsonwebtoken::crypto::sign(
        body,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        jsonwebtoken::Algorithm::HS256,
    )
    .expect("HMAC signing cannot fail");
    encode(&decode(&url_safe).expect("jsonwebtoken writes base64"))
}

fn quantities(
    on_hand: i64,
    available: i64,
    backorder: i64,
    sell_ahead: i64,
    reserve: i64,
    non_sellable: i64,
) -> serde_json::Map<String, serde_json::Value> {
    let v = json!({
        "inventory": available.to_string(),
        "backorder_quantity": backorder.to_string(),
        "on_hand": on_hand.to_string(),
        "virtual": false,
        "sell_ahead": sell_ahead,
        "qty_in_totes": 0,
        "reserve": reserve,
        "non_sellable": non_sellable,
    });
    v.as_object().cloned().unwrap_or_default()
}

fn bodies(sh: &ShipHero, event: &Event) -> (serde_json::Value, serde_json::Value) {
    let store = sh.store.lock().expect("store lock");
    let all = store.of_sku(&event.sku);
    let sum = |f: fn(&super::store::WarehouseProduct) -> i64| all.iter().map(f).sum::<i64>();
    let mut item = quantities(
        sum(|w| w.on_hand),
        sum(|w| w.available()),
        sum(|w| w.backorder),
        sum(|w| w.sell_ahead),
        sum(|w| w.reserve_inventory),
        sum(|w| w.non_sellable_quantity),
    );
    let identifier = store
        .warehouse(event.warehouse)
        .map(|w| w.identifier.clone())
        .unwrap_or_default();
    let mut warehouse = serde_json::Map::new();
    warehouse.insert("warehouse_id".into(), json!(event.warehouse));
    warehouse.insert(
        "warehouse_uuid".into(),
        json!(global_id("Warehouse", event.warehouse)),
    );
    warehouse.insert("identifier".into(), json!(identifier));
    if let Some(wp) = all.iter().find(|w| w.warehouse == event.warehouse) {
        warehouse.extend(quantities(
            wp.on_hand,
            wp.available(),
            wp.backorder,
            wp.sell_ahead,
            wp.reserve_inventory,
            wp.non_sellable_quantity,
        ));
    }
    item.insert("updated_warehouse".into(), warehouse.into());
    let mut item_with_sku = serde_json::Map::new();
    item_with_sku.insert("sku".into(), json!(event.sku));
    item_with_sku.extend(item);
    let location_name = event.location.and_then(|id| {
        store
            .locations
            .iter()
            .find(|(_, v)| **v == id)
            .map(|((_, name), _)| name.clone())
    });
    let update = json!({
        "account_id": sh.config.account_id,
        "account_uuid": sh.account_uuid(),
        "webhook_type": "Inventory Update",
        "inventory": [item_with_sku],
    });
    let change = json!({
        "webhook_type": "Inventory Change",
        "account_id": sh.config.account_id,
        "account_uuid": sh.account_uuid(),
        "warehouse_id": event.warehouse,
        "warehouse_uuid": global_id("Warehouse", event.warehouse),
        "user_id": sh.config.user_id,
        "user_uuid": sh.user_uuid(),
        "sku": event.sku,
        "quantity": event.quantity,
        "old_quantity": event.previous_on_hand,
        "location_name": location_name,
        "previous_on_hand": event.previous_on_hand,
        "timestamp": Utc::now().format("%Y-%m-%d %H:%M:%S").to_string(),
        "reason": event.reason,
        "source": "api",
        "lot_id": null,
        "lot_uuid": null,
        "lot_expiration": null,
    });
    (update, change)
}

/// Sends the webhooks for these changes (those that changed on_hand).
pub fn inventory_changed(sh: &Arc<ShipHero>, mut events: Vec<Event>) {
    // Only the quantities move here, so "available" changes exactly when on_hand does.
    events.retain(|e| e.previous_on_hand != e.quantity);
    if events.is_empty() || sh.webhooks.lock().expect("webhooks lock").list.is_empty() {
        return;
    }
    for event in events {
        let (update, change) = bodies(sh, &event);
        let mut hooks = sh.webhooks.lock().expect("webhooks lock");
        let targets: Vec<Hook> = hooks.list.clone();
        for hook in targets {
            let body = if hook.name.eq_ignore_ascii_case("Inventory Update") {
                &update
            } else if hook.name.eq_ignore_ascii_case("Inventory Change") {
                &change
            } else {
                continue;
            };
            let raw = body.to_string();
            let take = |n: &mut u64| {
                let hit = *n > 0;
                if hit {
                    *n -= 1;
                }
                hit
            };
            // A dropped delivery does not use up an injected duplicate or delay.
            let dropped = take(&mut hooks.drop_next);
            let duplicated = !dropped && take(&mut hooks.duplicate_next);
            let delay = if !dropped && take(&mut hooks.delay_next) {
                hooks.delay
            } else {
                Duration::ZERO
            };
            let delivery = WebhookDelivery {
                message_id: hex_id(),
                url: hook.url.clone(),
                webhook_type: hook.name.clone(),
                signature: sign(raw.as_bytes(), &hook.secret),
                body: raw,
                dropped,
                duplicated,
                attempts: 0,
                delivered: false,
            };
            let index = hooks.deliveries.len();
            hooks.deliveries.push(delivery.clone());
            if dropped {
                continue;
            }
            let copies = if duplicated { 2 } else { 1 };
            for _ in 0..copies {
                let sh = sh.clone();
                let delivery = delivery.clone();
                tokio::spawn(async move { send(sh, index, delivery, delay).await });
            }
        }
    }
}

async fn send(sh: Arc<ShipHero>, index: usize, delivery: WebhookDelivery, delay: Duration) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let timeout = Duration::from_millis(sh.config.webhook_timeout_ms);
    for attempt in 0..=sh.config.webhook_retries {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(sh.config.webhook_retry_ms)).await;
        }
        let result = sh
            .http
            .post(&delivery.url)
            .timeout(timeout)
            .header("content-type", "application/json")
            .header("X-ShipHero-HMAC-SHA256", &delivery.signature)
            .header("X-Shiphero-Message-ID", &delivery.message_id)
            .body(delivery.body.clone())
            .send()
            .await;
        let ok = matches!(&result, Ok(r) if r.status().is_success());
        {
            let mut hooks = sh.webhooks.lock().expect("webhooks lock");
            if let Some(d) = hooks.deliveries.get_mut(index) {
                d.attempts += 1;
                d.delivered |= ok;
            }
        }
        if ok {
            return;
        }
    }
}

/// Registers a webhook; its secret, or why not.
pub fn create(
    sh: &ShipHero,
    name: String,
    url: String,
    shop_name: String,
    customer_account_id: Option<String>,
) -> Result<Hook, String> {
    let mut hooks = sh.webhooks.lock().expect("webhooks lock");
    if hooks
        .list
        .iter()
        .any(|h| h.name == name && h.shop_name == shop_name)
    {
        return Err(format!(
            "A webhook named \"{name}\" already exists for shop \"{shop_name}\""
        ));
    }
    let hook = Hook {
        legacy_id: sh.next_legacy(),
        name,
        url,
        shop_name,
        secret: format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
        customer_account_id,
    };
    hooks.list.push(hook.clone());
    Ok(hook)
}
