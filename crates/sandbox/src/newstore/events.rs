//! The event stream: fulfillment request events posted to a webhook with the integration's
//! api key, one envelope per delivery (duplicates and any order are the caller's to arrange).

use serde::Serialize;

/// One fulfillment request event.
#[derive(Clone, Debug, Serialize)]
pub struct FulfillmentEventSpec {
    /// `fulfillment_request.assigned`, `.items_completed` or `.items_failed`.
    pub name: String,
    /// The fulfillment request's id.
    pub id: String,
    /// Its logical timestamp.
    pub logical_timestamp: u64,
    /// The fulfillment location.
    pub fulfillment_location_id: String,
    /// (item id, product id) pairs.
    pub items: Vec<(String, String)>,
}

/// One delivery: an event's envelope, as posted.
#[derive(Clone, Debug)]
pub struct Delivery(pub serde_json::Value);

impl FulfillmentEventSpec {
    /// The envelope NewStore posts.
    pub fn delivery(&self, tenant: &str) -> Delivery {
        Delivery(serde_json::json!({
            "tenant": tenant,
            "name": self.name,
            "published_at": "2026-11-23T10:00:00.000Z",
            "payload": {
                "id": self.id,
                "order_id": format!("order-{}", self.id),
                "logical_timestamp": self.logical_timestamp,
                "fulfillment_location_id": self.fulfillment_location_id,
                "associate_id": null,
                "service_level": "GROUND",
                "items": self.items.iter().map(|(id, product)| serde_json::json!({"id": id, "product_id": product})).collect::<Vec<_>>(),
            }
        }))
    }
}

/// Posts each delivery; returns the status codes (0 when the request failed).
pub async fn deliver(
    http: &reqwest::Client,
    _tenant: &str,
    url: &str,
    api_key: &str,
    deliveries: &[Delivery],
) -> Vec<u16> {
    let mut codes = Vec::with_capacity(deliveries.len());
    for d in deliveries {
        let code = match http.post(url).bearer_auth(api_key).json(&d.0).send().await {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        codes.push(code);
    }
    codes
}
