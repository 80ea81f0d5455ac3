//! Fuzzing NewStore's webhook envelope parser: any bytes, and well-formed envelopes whose
//! fields hold any JSON, give an event, an ignored kind or a bad-request error, never a panic.
//! `SYNCD_FUZZ_CASES` sets the cases (see `syncd_testkit::fuzz_cases`).

use proptest::prelude::*;
use serde_json::{json, Value};
use syncd_adapter_newstore::event_from_envelope;

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A well-formed `items_completed` envelope.
fn envelope() -> Value {
    json!({
        "tenant": "sandbox",
        "name": "fulfillment_request.items_completed",
        "published_at": "2026-11-23T10:00:00.000Z",
        "payload": {
            "id": "ff1",
            "logical_timestamp": 10,
            "fulfillment_location_id": "DC01",
            "order_id": "o1",
            "items": [{"id": "item-1", "product_id": "P1"}]
        }
    })
}

/// Where a fuzzed value may replace the envelope's.
const FIELDS: &[&[&str]] = &[
    &["tenant"],
    &["name"],
    &["payload"],
    &["payload", "id"],
    &["payload", "logical_timestamp"],
    &["payload", "fulfillment_location_id"],
    &["payload", "order_id"],
    &["payload", "items"],
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(syncd_testkit::fuzz_cases()))]

    #[test]
    fn any_bytes_are_an_event_or_a_bad_request(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = event_from_envelope(&bytes, "sandbox");
    }

    #[test]
    fn an_envelope_with_any_field_replaced_is_an_event_or_a_bad_request(
        replaced in proptest::collection::vec((0..FIELDS.len(), any_json()), 1..4),
    ) {
        let mut v = envelope();
        for (field, value) in replaced {
            let path = FIELDS[field];
            let mut at = &mut v;
            for key in &path[..path.len() - 1] {
                if !at.is_object() {
                    break;
                }
                at = at.as_object_mut().unwrap().entry(*key).or_insert(json!({}));
            }
            if let Some(object) = at.as_object_mut() {
                object.insert(path[path.len() - 1].to_string(), value);
            }
        }
        let body = serde_json::to_vec(&v).unwrap();
        if let Ok(Some(event)) = event_from_envelope(&body, "sandbox") {
            // What it accepts is what the envelope says.
            prop_assert_eq!(Some(event.id.as_str()), v["payload"]["id"].as_str());
            prop_assert_eq!(Some(event.logical_timestamp), v["payload"]["logical_timestamp"].as_u64());
        }
    }

    #[test]
    fn the_untouched_envelope_is_an_event(_ in Just(())) {
        let event = event_from_envelope(&serde_json::to_vec(&envelope()).unwrap(), "sandbox").unwrap().unwrap();
        prop_assert_eq!(event.items.len(), 1);
    }
}
