//! The JSON Schema of every synchronization event type, taken from seed 002 into the crate
//! (`schemas/`, verbatim), each compiled once; an event is checked against the schema of its
//! `type`.
//!
//! Two repairs are made as they load, where the seed contradicts itself. The product value
//! schemas refer to `#/components/schemas/AttributeValue`, which the seed never defines: it is
//! defined as the description beside it says ("same types as for global"), the union of the
//! global value shapes. And those schemas want a local value's translations as
//! `{language, value}` while the seed's own examples send `{language, translation}`: both are
//! taken.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

/// Seed 002's event types and their schemas.
const SCHEMAS: [(&str, &str); 21] = [
    (
        "attribute_created",
        include_str!("../schemas/attribute_created.schema.json"),
    ),
    (
        "attribute_name_changed",
        include_str!("../schemas/attribute_name_changed.schema.json"),
    ),
    (
        "attribute_option_code_changed",
        include_str!("../schemas/attribute_option_code_changed.schema.json"),
    ),
    (
        "attribute_option_created",
        include_str!("../schemas/attribute_option_created.schema.json"),
    ),
    (
        "attribute_option_deleted",
        include_str!("../schemas/attribute_option_deleted.schema.json"),
    ),
    (
        "attribute_option_name_changed",
        include_str!("../schemas/attribute_option_name_changed.schema.json"),
    ),
    (
        "category_created",
        include_str!("../schemas/category_created.schema.json"),
    ),
    (
        "category_name_changed",
        include_str!("../schemas/category_name_changed.schema.json"),
    ),
    (
        "product_added_to_category",
        include_str!("../schemas/product_added_to_category.schema.json"),
    ),
    (
        "product_binding_added",
        include_str!("../schemas/product_binding_added.schema.json"),
    ),
    (
        "product_binding_removed",
        include_str!("../schemas/product_binding_removed.schema.json"),
    ),
    (
        "product_child_added",
        include_str!("../schemas/product_child_added.schema.json"),
    ),
    (
        "product_child_quantity_changed",
        include_str!("../schemas/product_child_quantity_changed.schema.json"),
    ),
    (
        "product_child_removed",
        include_str!("../schemas/product_child_removed.schema.json"),
    ),
    (
        "product_created",
        include_str!("../schemas/product_created.schema.json"),
    ),
    (
        "product_removed_from_category",
        include_str!("../schemas/product_removed_from_category.schema.json"),
    ),
    (
        "product_value_added",
        include_str!("../schemas/product_value_added.schema.json"),
    ),
    (
        "product_value_changed",
        include_str!("../schemas/product_value_changed.schema.json"),
    ),
    (
        "product_value_removed",
        include_str!("../schemas/product_value_removed.schema.json"),
    ),
    (
        "product_variant_added",
        include_str!("../schemas/product_variant_added.schema.json"),
    ),
    (
        "product_variant_removed",
        include_str!("../schemas/product_variant_removed.schema.json"),
    ),
];

/// An event its schema refuses: its type, where in the body, and the rule it breaks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("event `{event_type}` at `{pointer}` breaks `{rule}`: {message}")]
pub struct Invalid {
    /// The event's type.
    pub event_type: String,
    /// The JSON pointer of the value at fault, from the body's root.
    pub pointer: String,
    /// The schema rule (its path in the schema, e.g. `/properties/payload/required`).
    pub rule: String,
    /// What is wrong.
    pub message: String,
}

fn validators() -> &'static HashMap<&'static str, jsonschema::Validator> {
    static VALIDATORS: OnceLock<HashMap<&'static str, jsonschema::Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        SCHEMAS
            .iter()
            .map(|(name, text)| {
                let schema: Value =
                    serde_json::from_str(text).expect("the seed's schemas are JSON");
                let validator = jsonschema::validator_for(&repaired(schema))
                    .expect("the seed's schemas compile");
                (*name, validator)
            })
            .collect()
    })
}

/// The global value shapes of a product value schema's `value.oneOf` (all but the translation
/// array), for the `AttributeValue` the seed refers to without defining it.
fn global_shapes(value_schema: &Value) -> Vec<Value> {
    value_schema["oneOf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| {
            !s["description"]
                .as_str()
                .is_some_and(|d| d.starts_with("For local"))
        })
        .cloned()
        .collect()
}

/// The schema with the seed's contradictions repaired (see the module's note).
fn repaired(mut schema: Value) -> Value {
    let value = schema["properties"]["payload"]["properties"]["value"].clone();
    if value.get("oneOf").is_none() {
        return schema;
    }
    schema["components"]["schemas"]["AttributeValue"] =
        serde_json::json!({ "oneOf": global_shapes(&value) });
    if let Some(branches) =
        schema["properties"]["payload"]["properties"]["value"]["oneOf"].as_array_mut()
    {
        for branch in branches {
            let local = branch["description"]
                .as_str()
                .is_some_and(|d| d.starts_with("For local"));
            if !local {
                continue;
            }
            let items = &mut branch["items"];
            let translated = items["properties"]["value"].clone();
            items["properties"]["translation"] = translated;
            if let Some(map) = items.as_object_mut() {
                map.remove("required");
            }
            items["anyOf"] = serde_json::json!([
                {"required": ["language", "value"]},
                {"required": ["language", "translation"]}
            ]);
        }
    }
    schema
}

/// Whether seed 002 lists the event type.
pub fn known(event_type: &str) -> bool {
    validators().contains_key(event_type)
}

/// Checks `event` (item `index` of the body's `synchronization.events`) against the schema of
/// its type; `Ok(false)` for a type the seed does not list.
pub fn check(event: &Value, index: usize) -> Result<bool, Invalid> {
    let at = format!("/synchronization/events/{index}");
    let Some(event_type) = event.get("type").and_then(Value::as_str) else {
        return Err(Invalid {
            event_type: "?".into(),
            pointer: format!("{at}/type"),
            rule: "/required".into(),
            message: "an event has a string `type`".into(),
        });
    };
    let Some(validator) = validators().get(event_type) else {
        return Ok(false);
    };
    match validator.validate(event) {
        Ok(()) => Ok(true),
        Err(e) => Err(Invalid {
            event_type: event_type.to_string(),
            pointer: format!("{at}{}", e.instance_path),
            rule: e.schema_path.to_string(),
            message: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_schema_compiles_and_a_broken_event_is_named() {
        assert_eq!(validators().len(), 21);
        let event = serde_json::json!({"type": "attribute_created", "payload": {"code": "c", "type": "COLOUR", "scope": "local", "name": []}});
        let invalid = check(&event, 3).unwrap_err();
        assert_eq!(invalid.event_type, "attribute_created");
        assert_eq!(invalid.pointer, "/synchronization/events/3/payload/type");
        assert!(invalid.rule.ends_with("enum"), "{invalid:?}");
        assert_eq!(
            check(
                &serde_json::json!({"type": "something_new", "payload": {}}),
                0
            ),
            Ok(false)
        );
    }
}
