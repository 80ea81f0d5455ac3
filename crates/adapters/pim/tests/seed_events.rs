//! Every example of seed 002 (`fixtures/seeds/002/events`, verbatim) is valid under its type's
//! schema, and the same example with any required field taken out is refused with the event
//! type, the pointer and the rule named; any bytes are a verdict, never a panic.

use proptest::prelude::*;
use serde_json::Value;
use syncd_adapter_pim::schemas::check;

fn examples() -> Vec<(String, Value)> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../fixtures/seeds/002/events");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            (name, serde_json::from_str(&text).unwrap())
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn every_seed_example_is_valid_under_its_schema() {
    let examples = examples();
    assert_eq!(examples.len(), 21);
    for (name, event) in examples {
        assert_eq!(check(&event, 0), Ok(true), "{name}");
    }
}

#[test]
fn an_example_missing_any_required_payload_field_is_refused_by_pointer_and_rule() {
    for (name, event) in examples() {
        let fields: Vec<String> = event["payload"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let mut refused = 0;
        for field in fields {
            let mut broken = event.clone();
            broken["payload"].as_object_mut().unwrap().remove(&field);
            // A field the schema does not require may go.
            if let Err(invalid) = check(&broken, 7) {
                refused += 1;
                {
                    assert_eq!(
                        invalid.event_type,
                        event["type"].as_str().unwrap(),
                        "{name}"
                    );
                    assert_eq!(
                        invalid.pointer, "/synchronization/events/7/payload",
                        "{name} {field}"
                    );
                    assert!(
                        invalid.rule.ends_with("required"),
                        "{name} {field}: {invalid}"
                    );
                    assert!(invalid.message.contains(&field), "{name}: {invalid}");
                }
            }
        }
        assert!(refused > 0, "{name}: every field may go?");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(syncd_testkit::fuzz_cases()))]

    /// Any JSON value as an event is valid, refused with a pointer, or of an unknown type.
    #[test]
    fn any_event_is_a_verdict(text in "\\PC{0,200}") {
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            if let Err(invalid) = check(&value, 0) {
                prop_assert!(invalid.pointer.starts_with("/synchronization/events/0"));
            }
        }
    }

    /// A seed example with any payload value replaced is valid or refused naming a pointer
    /// inside the event.
    #[test]
    fn a_seed_example_with_a_value_changed_is_a_verdict(which in 0usize..21, field in 0usize..8, value in prop_oneof![
        Just(Value::Null), any::<i64>().prop_map(Value::from), ".{0,6}".prop_map(Value::from),
        any::<bool>().prop_map(Value::from), Just(serde_json::json!([])), Just(serde_json::json!({})),
    ]) {
        let (_, mut event) = examples().swap_remove(which);
        let payload = event["payload"].as_object_mut().unwrap();
        let keys: Vec<String> = payload.keys().cloned().collect();
        payload.insert(keys[field % keys.len()].clone(), value);
        if let Err(invalid) = check(&event, 0) {
            prop_assert!(invalid.pointer.starts_with("/synchronization/events/0"), "{invalid}");
        }
    }
}
