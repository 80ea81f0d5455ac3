//! ShipHero's Inventory Update webhook: verified by `X-ShipHero-HMAC-SHA256`, the base64
//! HMAC-SHA256 of the raw body under the webhook's `shared_signature_secret` (checked in
//! constant time), and read for the SKUs whose stock moved in this warehouse. The body's own
//! numbers are not trusted as the state (deliveries are retried and unordered, and carry no
//! timestamp): they say which SKUs to read now.

use base64::Engine;
use serde_json::Value;
use syncd_core::{WebhookError, WebhookRequest};

/// Whether `request` carries a valid signature of its body under `secret`.
pub fn verified(request: &WebhookRequest, secret: &str) -> bool {
    let Some(given) = request.header("x-shiphero-hmac-sha256") else {
        return false;
    };
    let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(given.trim()) else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    ring::hmac::verify(&key, &request.body, &signature).is_ok()
}

/// The signature ShipHero sends for `body` under `secret` (for tests and the simulator).
pub fn sign(body: &[u8], secret: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&key, body).as_ref())
}

/// Whether the webhook's warehouse (`warehouse_uuid`, or `warehouse_id` as a number) is
/// `warehouse_id` (ShipHero's base64 id, `Warehouse:<legacy id>`).
fn same_warehouse(moved: &Value, warehouse_id: &str) -> bool {
    if moved["warehouse_uuid"].as_str() == Some(warehouse_id) {
        return true;
    }
    let legacy = base64::engine::general_purpose::STANDARD
        .decode(warehouse_id)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.rsplit(':').next().map(str::to_string));
    let given = match &moved["warehouse_id"] {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    };
    legacy.is_some() && legacy == given
}

/// The SKUs an Inventory Update moved in `warehouse_id`; another kind of webhook moves none.
pub fn moved_skus(body: &[u8], warehouse_id: &str) -> Result<Vec<String>, WebhookError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| WebhookError::BadRequest(format!("not JSON: {e}")))?;
    let kind = value["webhook_type"].as_str().unwrap_or("");
    if !kind.eq_ignore_ascii_case("Inventory Update") {
        return Ok(Vec::new());
    }
    let items = value["inventory"]
        .as_array()
        .ok_or_else(|| WebhookError::BadRequest("`inventory` is not a list".into()))?;
    let mut skus = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let sku = item["sku"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| WebhookError::BadRequest(format!("inventory[{i}].sku is missing")))?;
        if same_warehouse(&item["updated_warehouse"], warehouse_id)
            && !skus.iter().any(|s| s == sku)
        {
            skus.push(sku.to_string());
        }
    }
    Ok(skus)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str, signature: Option<String>) -> WebhookRequest {
        WebhookRequest {
            method: "POST".into(),
            path: "/".into(),
            headers: signature
                .map(|s| vec![("x-shiphero-hmac-sha256".to_string(), s)])
                .unwrap_or_default(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_body_verifies_only_under_its_secret_and_unchanged() {
        let body = r#"{"webhook_type":"Inventory Update","inventory":[]}"#;
        assert!(verified(
            &request(body, Some(sign(body.as_bytes(), "s3cret"))),
            "s3cret"
        ));
        assert!(!verified(
            &request(body, Some(sign(body.as_bytes(), "other"))),
            "s3cret"
        ));
        assert!(!verified(
            &request(
                &body.replace("[]", "[ ]"),
                Some(sign(body.as_bytes(), "s3cret"))
            ),
            "s3cret"
        ));
        assert!(!verified(&request(body, None), "s3cret"));
        assert!(!verified(
            &request(body, Some("not base64!".into())),
            "s3cret"
        ));
    }

    #[test]
    fn the_reference_body_moves_its_sku_in_its_warehouse_only() {
        // The reference's Inventory Update, `updated_warehouse` being "the warehouse where the
        // move happened".
        let body = r#"{"account_id":63898,"account_uuid":"QWNjb3VudDo2Mzg5OA==","webhook_type":"Inventory Update",
   "inventory":[{"sku":"A1","inventory":"113","backorder_quantity":"0","on_hand":"148","virtual":false,"sell_ahead":20,
     "qty_in_totes":1,"reserve":45,"non_sellable":1250,"updated_warehouse":{"warehouse_id":12345,
     "warehouse_uuid":"V2FyZWhvdXNlOjEyMzQ1","identifier":"Primary"}}]}"#;
        assert_eq!(
            moved_skus(body.as_bytes(), "V2FyZWhvdXNlOjEyMzQ1").unwrap(),
            vec!["A1"]
        );
        // By the legacy number alone.
        let legacy = body.replace("\"warehouse_uuid\":\"V2FyZWhvdXNlOjEyMzQ1\",", "");
        assert_eq!(
            moved_skus(legacy.as_bytes(), "V2FyZWhvdXNlOjEyMzQ1").unwrap(),
            vec!["A1"]
        );
        assert!(moved_skus(body.as_bytes(), "V2FyZWhvdXNlOjQzNTA=")
            .unwrap()
            .is_empty());
    }
}
