//! What the connector parses from outside, fuzzed: a push body (any bytes, and the seed's bodies
//! with a value changed) becomes events or a 400 naming where, and a query row of any shape
//! becomes a record or an error naming its field; never a panic.

use proptest::prelude::*;
use serde_json::{json, Value};
use syncd_adapter_salesforce::poll::Shape;
use syncd_adapter_salesforce::push::{decode, events, Ages};
use syncd_adapter_salesforce::Names;
use syncd_core::{EntityKind, WebhookError};

const BODIES: [&str; 5] = [
    "inventory_source.sf.json",
    "inventory_source_item.sf.json",
    "inventory_stock.sf.json",
    "inventory_stock_sales_channel.sf.json",
    "inventory_source_stock_link.sf.json",
];

const KINDS: [EntityKind; 5] = [
    EntityKind::StockPosition,
    EntityKind::InventorySource,
    EntityKind::InventoryStock,
    EntityKind::SourceStockLink,
    EntityKind::StockSalesChannel,
];

/// One store of ages for every case: a connector's database stays open for the process.
fn ages() -> &'static Ages {
    static AGES: std::sync::OnceLock<Ages> = std::sync::OnceLock::new();
    AGES.get_or_init(|| {
        Ages::new(
            std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("fuzz-push-ages-{}", std::process::id())),
        )
    })
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,8}".prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(json!({})),
        Just(json!([])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(syncd_testkit::fuzz_cases()))]

    /// Any bytes pushed are events or a bad request, never a panic.
    #[test]
    fn any_pushed_bytes_are_events_or_a_bad_request(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        match events(&bytes, &Names::default(), &KINDS, ages()) {
            Ok(events) => for e in &events { let _ = decode(e); },
            Err(WebhookError::BadRequest(_)) => {}
            Err(other) => prop_assert!(false, "{other}"),
        }
    }

    /// A seed body with any value changed, anywhere in its first record, is taken: each event
    /// decodes to a record or to the error naming the field.
    #[test]
    fn a_seed_body_with_a_value_changed_is_taken_record_by_record(
        which in 0..BODIES.len(),
        field in 0usize..64,
        value in value(),
    ) {
        let mut body: Value = serde_json::from_str(&syncd_testkit::seed_example("000", BODIES[which])).unwrap();
        let record = body["sf"][0].as_object_mut().unwrap();
        let keys: Vec<String> = record.keys().filter(|k| *k != "attributes").cloned().collect();
        record.insert(keys[field % keys.len()].clone(), value);
        if let Ok(events) = events(body.to_string().as_bytes(), &Names::default(), &KINDS, ages()) {
            for e in &events {
                if let Err(why) = decode(e) {
                    prop_assert!(why.contains('`'), "the error names no field: {why}");
                }
            }
        }
    }

    /// A query row with any value in any field the read selects is a record or an error
    /// naming the field.
    #[test]
    fn a_query_row_of_any_shape_is_a_record_or_names_its_field(
        kind in 0..KINDS.len(),
        values in proptest::collection::vec(value(), 16),
    ) {
        let names = Names::default();
        let shape = Shape::of(&names, KINDS[kind]).unwrap();
        let mut row = json!({"attributes": {"type": shape.object}, "Id": "a00", "SystemModstamp": "2022-03-03T10:53:23.000+0000"});
        let mut values = values.into_iter();
        for f in &shape.fields {
            row[f] = values.next().unwrap();
        }
        for p in &shape.parents {
            let mut parent = json!({});
            for f in &p.fields {
                parent[f] = values.next().unwrap_or(Value::Null);
            }
            row[&p.relationship] = parent;
        }
        if let Err(e) = shape.record_of(&row, &names) {
            prop_assert!(!e.field.is_empty(), "{e}");
        }
    }
}
