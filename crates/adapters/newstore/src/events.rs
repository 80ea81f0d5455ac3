//! Fulfillment request events as NewStore's event stream posts them: the bearer api key is
//! checked in constant time, the envelope `{tenant, name, published_at, payload}` is checked
//! field by field, and the three fulfillment events (either spelling) become canonical events.

use syncd_core::model::{FulfillmentEvent, FulfillmentEventKind, FulfillmentItem};
use syncd_core::{InboundEvent, WebhookError, WebhookRequest};

/// The kind of an event name; `None` for events that are no fulfillment request's.
fn kind_of(name: &str) -> Option<FulfillmentEventKind> {
    match name {
        "fulfillment_request.assigned" | "fulfillment_request_assigned" => {
            Some(FulfillmentEventKind::Assigned)
        }
        "fulfillment_request.items_completed"
        | "fulfillment_request_completed"
        | "fulfillment_request_items_completed" => Some(FulfillmentEventKind::ItemsCompleted),
        "fulfillment_request.items_failed"
        | "fulfillment_request_failed"
        | "fulfillment_request_items_failed" => Some(FulfillmentEventKind::ItemsFailed),
        // Every other step of a fulfillment request (`.items_ready_for_handover`, …) takes a
        // logical timestamp too: noted, so that it is not taken for a gap.
        other
            if other.starts_with("fulfillment_request.")
                || other.starts_with("fulfillment_request_") =>
        {
            Some(FulfillmentEventKind::Noted)
        }
        _ => None,
    }
}

/// Whether `request` carries `Authorization: Bearer <api_key>`.
pub fn authorized(request: &WebhookRequest, api_key: &str) -> bool {
    request.bears(api_key)
}

fn field<'a>(v: &'a serde_json::Value, path: &str) -> Result<&'a serde_json::Value, WebhookError> {
    let mut at = v;
    for part in path.split('.') {
        at = at
            .get(part)
            .ok_or_else(|| WebhookError::BadRequest(format!("`{path}` is missing")))?;
    }
    Ok(at)
}

fn text(v: &serde_json::Value, path: &str) -> Result<String, WebhookError> {
    field(v, path)?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| WebhookError::BadRequest(format!("`{path}` must be a non-empty string")))
}

/// The canonical event of an envelope for `tenant`; `Ok(None)` for a valid envelope of an
/// event kind this adapter ignores. Another tenant's envelope is refused (403): its stock is
/// not the one this connector imports.
pub fn event_from_envelope(
    body: &[u8],
    tenant: &str,
) -> Result<Option<FulfillmentEvent>, WebhookError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| WebhookError::BadRequest(format!("the body is not JSON: {e}")))?;
    let sent_for = text(&v, "tenant")?;
    if sent_for != tenant {
        return Err(WebhookError::Forbidden(format!(
            "the event is tenant `{sent_for}`'s; this connector is tenant `{tenant}`'s"
        )));
    }
    let name = text(&v, "name")?;
    let Some(kind) = kind_of(&name) else {
        field(&v, "payload")?;
        return Ok(None);
    };
    if kind == FulfillmentEventKind::Noted && field(&v, "payload.logical_timestamp").is_err() {
        // A step without a timestamp takes none: nothing to note.
        return Ok(None);
    }
    let logical_timestamp = field(&v, "payload.logical_timestamp")?
        .as_u64()
        .ok_or_else(|| {
            WebhookError::BadRequest(
                "`payload.logical_timestamp` must be a non-negative integer".into(),
            )
        })?;
    let no_items = serde_json::Value::Array(Vec::new());
    let items = match field(&v, "payload.items") {
        Err(_) if kind == FulfillmentEventKind::Noted => &no_items,
        found => found?,
    };
    let items = items
        .as_array()
        .ok_or_else(|| WebhookError::BadRequest("`payload.items` must be an array".into()))?
        .iter()
        .enumerate()
        .map(|(i, item)| {
            Ok(FulfillmentItem {
                id: text(item, "id").map_err(|_| {
                    WebhookError::BadRequest(format!(
                        "`payload.items[{i}].id` must be a non-empty string"
                    ))
                })?,
                product_id: text(item, "product_id").map_err(|_| {
                    WebhookError::BadRequest(format!(
                        "`payload.items[{i}].product_id` must be a non-empty string"
                    ))
                })?,
            })
        })
        .collect::<Result<Vec<_>, WebhookError>>()?;
    Ok(Some(FulfillmentEvent {
        id: text(&v, "payload.id")?,
        kind,
        logical_timestamp,
        location: text(&v, "payload.fulfillment_location_id")?,
        order_id: field(&v, "payload.order_id")
            .ok()
            .and_then(|o| o.as_str())
            .map(str::to_string),
        items,
    }))
}

/// The inbox entry of an event (its id names the delivery's content, so duplicates match).
pub fn inbound(event: &FulfillmentEvent) -> InboundEvent {
    InboundEvent {
        id: event.key().to_string(),
        payload: serde_json::to_value(event).expect("an event serializes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(name: &str) -> serde_json::Value {
        serde_json::json!({
            "tenant": "acme", "name": name, "published_at": "2024-01-01T00:00:00Z",
            "payload": {"id": "ffr-1", "order_id": "o-1", "logical_timestamp": 1234,
                "fulfillment_location_id": "DC01", "service_level": "GROUND",
                "items": [{"id": "i-1", "product_id": "SKU1"}]}
        })
    }

    #[test]
    fn both_spellings_of_the_three_events_are_understood() {
        for (name, kind) in [
            (
                "fulfillment_request.items_completed",
                FulfillmentEventKind::ItemsCompleted,
            ),
            (
                "fulfillment_request_completed",
                FulfillmentEventKind::ItemsCompleted,
            ),
            (
                "fulfillment_request.assigned",
                FulfillmentEventKind::Assigned,
            ),
            (
                "fulfillment_request_failed",
                FulfillmentEventKind::ItemsFailed,
            ),
        ] {
            let e = event_from_envelope(envelope(name).to_string().as_bytes(), "acme")
                .unwrap()
                .unwrap();
            assert_eq!(
                (e.kind, e.logical_timestamp, e.location.as_str()),
                (kind, 1234, "DC01")
            );
        }
        assert!(
            event_from_envelope(envelope("order.created").to_string().as_bytes(), "acme")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn other_fulfillment_steps_are_noted_with_their_timestamp() {
        let e = event_from_envelope(
            envelope("fulfillment_request.items_ready_for_handover")
                .to_string()
                .as_bytes(),
            "acme",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (e.kind, e.logical_timestamp),
            (FulfillmentEventKind::Noted, 1234)
        );
    }

    #[test]
    fn another_tenants_event_is_forbidden() {
        let e = event_from_envelope(
            envelope("fulfillment_request.items_completed")
                .to_string()
                .as_bytes(),
            "globex",
        )
        .unwrap_err();
        assert!(matches!(e, WebhookError::Forbidden(_)), "{e}");
        assert!(
            e.to_string().contains("acme") && e.to_string().contains("globex"),
            "{e}"
        );
    }

    #[test]
    fn a_malformed_envelope_names_the_field() {
        let mut v = envelope("fulfillment_request.items_completed");
        v["payload"]["logical_timestamp"] = serde_json::json!("soon");
        let e = event_from_envelope(v.to_string().as_bytes(), "acme").unwrap_err();
        assert!(e.to_string().contains("payload.logical_timestamp"), "{e}");
        v["payload"]["logical_timestamp"] = serde_json::json!(3);
        v["payload"]["items"][0]["product_id"] = serde_json::json!(null);
        let e = event_from_envelope(v.to_string().as_bytes(), "acme").unwrap_err();
        assert!(e.to_string().contains("payload.items[0].product_id"), "{e}");
        assert!(event_from_envelope(b"{not json", "acme").is_err());
    }
}
