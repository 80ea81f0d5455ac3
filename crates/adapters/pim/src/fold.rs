//! Folding synchronization events into catalog records. Each call of Ergonode's is about one
//! resource (an attribute, a category or a product, named by `resource_id`), and its events
//! say what changed in it; they are applied in order to what the catalog holds. Every event is
//! idempotent, so a call delivered twice leaves the record as once (delivery is at least once),
//! and one that arrives before its resource was created starts a skeleton the creation fills.

use std::collections::BTreeMap;

use serde_json::Value;
use syncd_core::model::{
    Attribute, AttributeScope, AttributeType, Category, Localized, Product, ProductValue,
};

/// What a call is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// An attribute, by code.
    Attribute,
    /// A category, by code.
    Category,
    /// A product, by SKU.
    Product,
}

impl Kind {
    /// The kind an endpoint (`product_updated`) is about.
    pub fn of_endpoint(endpoint: &str) -> Option<Kind> {
        if endpoint.starts_with("attribute_") {
            Some(Kind::Attribute)
        } else if endpoint.starts_with("category_") {
            Some(Kind::Category)
        } else if endpoint.starts_with("product_") {
            Some(Kind::Product)
        } else {
            None
        }
    }

    /// Its name in the catalog's keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Attribute => "attribute",
            Kind::Category => "category",
            Kind::Product => "product",
        }
    }
}

/// Translations (`[{language, value}]`, or `translation` in product values) as a map.
fn localized(value: &Value) -> Localized {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let language = t["language"].as_str()?;
            let text = t
                .get("value")
                .or_else(|| t.get("translation"))
                .and_then(Value::as_str)?;
            Some((language.to_string(), text.to_string()))
        })
        .collect()
}

fn text<'a>(payload: &'a Value, field: &str) -> &'a str {
    payload[field].as_str().unwrap_or("")
}

/// Applies `event` to the attribute `code` (`None`: not in the catalog yet).
pub fn attribute(current: Option<Attribute>, code: &str, event: &Value) -> Option<Attribute> {
    let payload = &event["payload"];
    let mut a = current.unwrap_or_else(|| Attribute {
        code: code.to_string(),
        attribute_type: AttributeType::Text,
        scope: AttributeScope::Local,
        names: Localized::new(),
        options: BTreeMap::new(),
    });
    match event["type"].as_str().unwrap_or("") {
        "attribute_created" => {
            a.code = text(payload, "code").to_string();
            if let Ok(t) = serde_json::from_value(payload["type"].clone()) {
                a.attribute_type = t;
            }
            if let Ok(s) = serde_json::from_value(payload["scope"].clone()) {
                a.scope = s;
            }
            a.names = localized(&payload["name"]);
        }
        "attribute_name_changed" => a.names.extend(localized(&payload["name"])),
        "attribute_option_created" | "attribute_option_name_changed" => {
            a.options
                .entry(text(payload, "option_code").to_string())
                .or_default()
                .extend(localized(&payload["option_name"]));
        }
        "attribute_option_code_changed" => {
            if let Some(names) = a.options.remove(text(payload, "previous_option_code")) {
                a.options
                    .entry(text(payload, "option_code").to_string())
                    .or_default()
                    .extend(names);
            }
        }
        "attribute_option_deleted" => {
            a.options.remove(text(payload, "option_code"));
        }
        _ => {}
    }
    Some(a)
}

/// Applies `event` to the category `code`.
pub fn category(current: Option<Category>, code: &str, event: &Value) -> Option<Category> {
    let payload = &event["payload"];
    let mut c = current.unwrap_or_else(|| Category {
        code: code.to_string(),
        names: Localized::new(),
    });
    match event["type"].as_str().unwrap_or("") {
        "category_created" => {
            c.code = text(payload, "code").to_string();
            c.names = localized(&payload["name"]);
        }
        // The seed's own example of a category rename is typed `attribute_name_changed`.
        "category_name_changed" | "attribute_name_changed" => {
            c.names.extend(localized(&payload["name"]))
        }
        _ => {}
    }
    Some(c)
}

/// A product value as the event gives it: translations per locale, or one global value.
fn value_of(payload: &Value) -> ProductValue {
    // Seed 002's schema keys a translation `value`, its own example `translation`: both are
    // taken (see `schemas.rs`).
    let translation = |item: &Value| {
        item.get("translation")
            .or_else(|| item.get("value"))
            .cloned()
    };
    match &payload["value"] {
        Value::Array(items)
            if items
                .iter()
                .all(|i| i.get("language").is_some() && translation(i).is_some()) =>
        {
            ProductValue::Localized(
                items
                    .iter()
                    .filter_map(|i| Some((i["language"].as_str()?.to_string(), translation(i)?)))
                    .collect(),
            )
        }
        other => ProductValue::Global(other.clone()),
    }
}

/// Applies `event` to the product `sku`.
pub fn product(current: Option<Product>, sku: &str, event: &Value) -> Option<Product> {
    let payload = &event["payload"];
    let mut p = current.unwrap_or_else(|| Product {
        sku: sku.to_string(),
        product_type: String::new(),
        values: BTreeMap::new(),
        categories: Default::default(),
        bindings: Default::default(),
        variants: Default::default(),
        children: BTreeMap::new(),
    });
    match event["type"].as_str().unwrap_or("") {
        "product_created" => {
            p.sku = text(payload, "sku").to_string();
            p.product_type = text(payload, "type").to_string();
            p.categories.extend(
                payload["category_codes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string),
            );
        }
        "product_added_to_category" => {
            p.categories
                .insert(text(payload, "category_code").to_string());
        }
        "product_removed_from_category" => {
            p.categories.remove(text(payload, "category_code"));
        }
        "product_binding_added" => {
            p.bindings
                .insert(text(payload, "attribute_code").to_string());
        }
        "product_binding_removed" => {
            p.bindings.remove(text(payload, "attribute_code"));
        }
        "product_child_added" | "product_child_quantity_changed" => {
            let quantity = payload["child_quantity"].as_u64().unwrap_or(0);
            p.children.insert(
                text(payload, "child_sku").to_string(),
                u32::try_from(quantity).unwrap_or(u32::MAX),
            );
        }
        "product_child_removed" => {
            p.children.remove(text(payload, "child_sku"));
        }
        "product_value_added" | "product_value_changed" => {
            let code = text(payload, "attribute_code").to_string();
            let value = value_of(payload);
            // A local value given for some locales adds to the others it holds.
            match (p.values.get_mut(&code), value) {
                (Some(ProductValue::Localized(held)), ProductValue::Localized(given)) => {
                    held.extend(given)
                }
                (_, value) => {
                    p.values.insert(code, value);
                }
            }
        }
        "product_value_removed" => {
            p.values.remove(text(payload, "attribute_code"));
        }
        "product_variant_added" => {
            p.variants.insert(text(payload, "variant_sku").to_string());
        }
        "product_variant_removed" => {
            p.variants.remove(text(payload, "variant_sku"));
        }
        _ => {}
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_product_is_built_event_by_event_and_twice_is_the_same_as_once() {
        let events = [
            json!({"type": "product_created", "payload": {"sku": "P1", "type": "GROUPING-PRODUCT", "category_codes": ["shoes"]}}),
            json!({"type": "product_value_added", "payload": {"attribute_code": "name", "attribute_type": "TEXT", "attribute_scope": "local", "value": [{"language": "en_GB", "translation": "Boot"}]}}),
            json!({"type": "product_value_changed", "payload": {"attribute_code": "name", "attribute_type": "TEXT", "attribute_scope": "local", "value": [{"language": "de_DE", "translation": "Stiefel"}]}}),
            json!({"type": "product_child_added", "payload": {"child_sku": "C1", "child_quantity": 2}}),
            json!({"type": "product_child_quantity_changed", "payload": {"child_sku": "C1", "child_quantity": 3}}),
            json!({"type": "product_removed_from_category", "payload": {"category_code": "shoes"}}),
        ];
        let mut once = None;
        for e in &events {
            once = product(once, "P1", e);
        }
        let mut twice = None;
        for e in events.iter().chain(&events) {
            twice = product(twice, "P1", e);
        }
        let once = once.unwrap();
        assert_eq!(Some(&once), twice.as_ref());
        assert_eq!(once.product_type, "GROUPING-PRODUCT");
        assert!(once.categories.is_empty());
        assert_eq!(once.children["C1"], 3);
        match &once.values["name"] {
            ProductValue::Localized(names) => {
                assert_eq!(
                    (names["en_GB"].as_str(), names["de_DE"].as_str()),
                    (Some("Boot"), Some("Stiefel"))
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_local_value_is_localized_whether_its_translations_are_keyed_value_or_translation() {
        // Seed 002's schema: local values are items of `{"language", "value"}`; its
        // `product_value_added` example sends `{"language": "en_GB", "translation": ...}`.
        for key in ["value", "translation"] {
            let event = json!({"type": "product_value_added", "payload": {"attribute_code": "name", "attribute_type": "TEXT", "attribute_scope": "local", "value": [{"language": "en_GB", key: "Boot"}]}});
            let p = product(None, "P1", &event).unwrap();
            match &p.values["name"] {
                ProductValue::Localized(names) => {
                    assert_eq!(names["en_GB"].as_str(), Some("Boot"), "{key}")
                }
                other => panic!("{key}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_option_renamed_keeps_its_names_and_deleting_it_twice_is_harmless() {
        let mut a = attribute(
            None,
            "colour",
            &json!({"type": "attribute_created", "payload": {"code": "colour", "type": "SELECT", "scope": "global", "name": [{"language": "en_GB", "value": "Colour"}]}}),
        );
        a = attribute(
            a,
            "colour",
            &json!({"type": "attribute_option_created", "payload": {"option_code": "rd", "option_name": [{"language": "en_GB", "value": "Red"}]}}),
        );
        a = attribute(
            a,
            "colour",
            &json!({"type": "attribute_option_code_changed", "payload": {"option_code": "red", "previous_option_code": "rd"}}),
        );
        let a = a.unwrap();
        assert_eq!(a.options["red"]["en_GB"], "Red");
        assert_eq!(a.attribute_type, AttributeType::Select);
        let deleted = attribute(
            Some(a),
            "colour",
            &json!({"type": "attribute_option_deleted", "payload": {"option_code": "red"}}),
        );
        let again = attribute(
            deleted.clone(),
            "colour",
            &json!({"type": "attribute_option_deleted", "payload": {"option_code": "red"}}),
        );
        assert_eq!(deleted, again);
        assert!(again.unwrap().options.is_empty());
    }
}
