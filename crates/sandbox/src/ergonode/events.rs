//! What a synchronization sends: the calls of each phase (attributes → categories → products →
//! relations), each `{"name", "resource_id", "synchronization": {"resource_customs", "events"}}`
//! with seed 002's event payloads, planned from the difference between the last synchronized
//! catalog (none: full state) and the current one.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::catalog::{Attribute, Catalog, Names, Product, ProductValue};

/// The phases of a synchronization, in the order they are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// `synchronization_started`.
    Start,
    /// `attribute_created|updated|deleted`.
    Attributes,
    /// `category_created|updated|deleted`.
    Categories,
    /// `product_created|updated|deleted` (values, categories, bindings).
    Products,
    /// `product_updated` with variants and children, after every product exists.
    Relations,
    /// `synchronization_ended`.
    End,
}

/// One planned call: `PUT /consume/{endpoint}` with `body`.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedCall {
    /// Its phase.
    pub phase: Phase,
    /// The endpoint (`attribute_created`, …).
    pub endpoint: String,
    /// The resource's code or SKU (none for started/ended).
    pub resource: Option<String>,
    /// The JSON body.
    pub body: Value,
}

/// How the unconfirmed parts of the wire look.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WireOptions {
    /// `resource_id.type` of categories (unconfirmed; `category_code`).
    pub category_id_type: String,
    /// `resource_id.type` of products (unconfirmed; `sku`).
    pub product_id_type: String,
    /// The key of a local value's translation items: seed 002's schema says `value`, its
    /// `product_value_added` example says `translation`.
    pub local_value_key: String,
}

impl Default for WireOptions {
    fn default() -> Self {
        WireOptions {
            category_id_type: "category_code".into(),
            product_id_type: "sku".into(),
            local_value_key: "value".into(),
        }
    }
}

fn event(kind: &str, payload: Value) -> Value {
    json!({"type": kind, "payload": payload})
}

fn translations(n: &Names) -> Value {
    Value::Array(
        n.iter()
            .map(|(language, value)| json!({"language": language, "value": value}))
            .collect(),
    )
}

fn body(endpoint: &str, id: &str, id_type: &str, events: Vec<Value>) -> Value {
    json!({
        "name": endpoint,
        "resource_id": {"id": id, "type": id_type},
        "synchronization": {"resource_customs": null, "events": events},
    })
}

fn value_json(v: &ProductValue, wire: &WireOptions) -> Value {
    match v {
        ProductValue::Global(v) => v.clone(),
        ProductValue::Local(m) => Value::Array(
            m.iter()
                .map(|(language, v)| {
                    let mut item = serde_json::Map::new();
                    item.insert("language".into(), Value::from(language.as_str()));
                    item.insert(wire.local_value_key.clone(), v.clone());
                    Value::Object(item)
                })
                .collect(),
        ),
    }
}

fn value_event(
    kind: &str,
    code: &str,
    a: Option<&Attribute>,
    v: &ProductValue,
    wire: &WireOptions,
) -> Value {
    let (attribute_type, scope) =
        a.map_or(("TEXT", "global"), |a| (a.kind.as_str(), a.scope.as_str()));
    event(
        kind,
        json!({
            "attribute_code": code,
            "attribute_type": attribute_type,
            "attribute_scope": scope,
            "value": value_json(v, wire),
        }),
    )
}

/// A `synchronization_started` / `_ended` call (bodies unconfirmed: `{"name"}` like the app
/// events, plus `"full"` when `announce_kind`).
pub fn bracket(endpoint: &str, full: bool, announce_kind: bool) -> PlannedCall {
    let mut body = json!({"name": endpoint});
    if announce_kind {
        body["full"] = Value::Bool(full);
    }
    PlannedCall {
        phase: if endpoint == "synchronization_started" {
            Phase::Start
        } else {
            Phase::End
        },
        endpoint: endpoint.into(),
        resource: None,
        body,
    }
}

/// The calls between `synchronization_started` and `_ended` that take an app holding `old`
/// (none: nothing yet, i.e. a full synchronization) to `new`, in phase order.
pub fn plan(old: Option<&Catalog>, new: &Catalog, wire: &WireOptions) -> Vec<PlannedCall> {
    let empty = Catalog::default();
    let old = old.unwrap_or(&empty);
    let mut out = Vec::new();
    let mut push = |phase, endpoint: &str, id: &str, id_type: &str, events: Vec<Value>| {
        out.push(PlannedCall {
            phase,
            endpoint: endpoint.into(),
            resource: Some(id.into()),
            body: body(endpoint, id, id_type, events),
        });
    };

    // Attributes.
    for (code, a) in &new.attributes {
        match old.attributes.get(code) {
            None => {
                let mut events = vec![event(
                    "attribute_created",
                    json!({"code": code, "type": a.kind, "scope": a.scope, "name": translations(&a.name)}),
                )];
                for o in &a.options {
                    events.push(event(
                        "attribute_option_created",
                        json!({"option_code": o.code, "option_name": translations(&o.name)}),
                    ));
                }
                push(
                    Phase::Attributes,
                    "attribute_created",
                    code,
                    "attribute_code",
                    events,
                );
            }
            Some(was) => {
                let mut events = Vec::new();
                if was.name != a.name {
                    events.push(event(
                        "attribute_name_changed",
                        json!({"name": translations(&a.name)}),
                    ));
                }
                for o in &was.options {
                    if !a.options.iter().any(|n| n.id == o.id) {
                        events.push(event(
                            "attribute_option_deleted",
                            json!({"option_code": o.code}),
                        ));
                    }
                }
                for o in &a.options {
                    match was.options.iter().find(|w| w.id == o.id) {
                        None => events.push(event(
                            "attribute_option_created",
                            json!({"option_code": o.code, "option_name": translations(&o.name)}),
                        )),
                        Some(w) => {
                            if w.code != o.code {
                                events.push(event(
                                    "attribute_option_code_changed",
                                    json!({"option_code": o.code, "previous_option_code": w.code}),
                                ));
                            }
                            if w.name != o.name {
                                events.push(event(
                                    "attribute_option_name_changed",
                                    json!({"option_code": o.code, "option_name": translations(&o.name)}),
                                ));
                            }
                        }
                    }
                }
                if !events.is_empty() {
                    push(
                        Phase::Attributes,
                        "attribute_updated",
                        code,
                        "attribute_code",
                        events,
                    );
                }
            }
        }
    }
    for code in old.attributes.keys() {
        if !new.attributes.contains_key(code) {
            push(
                Phase::Attributes,
                "attribute_deleted",
                code,
                "attribute_code",
                vec![],
            );
        }
    }

    // Categories.
    let ct = wire.category_id_type.as_str();
    for (code, c) in &new.categories {
        match old.categories.get(code) {
            None => push(
                Phase::Categories,
                "category_created",
                code,
                ct,
                vec![event(
                    "category_created",
                    json!({"code": code, "name": translations(&c.name)}),
                )],
            ),
            Some(was) if was.name != c.name => push(
                Phase::Categories,
                "category_updated",
                code,
                ct,
                vec![event(
                    "category_name_changed",
                    json!({"code": code, "name": translations(&c.name)}),
                )],
            ),
            Some(_) => {}
        }
    }
    for code in old.categories.keys() {
        if !new.categories.contains_key(code) {
            push(Phase::Categories, "category_deleted", code, ct, vec![]);
        }
    }

    // Products: data.
    let pt = wire.product_id_type.as_str();
    let values = |was: Option<&Product>, p: &Product| {
        let mut events = Vec::new();
        for (code, v) in &p.values {
            let a = new.attributes.get(code);
            match was.and_then(|w| w.values.get(code)) {
                None => events.push(value_event("product_value_added", code, a, v, wire)),
                Some(w) if w != v => {
                    events.push(value_event("product_value_changed", code, a, v, wire))
                }
                Some(_) => {}
            }
        }
        if let Some(was) = was {
            for code in was.values.keys() {
                if !p.values.contains_key(code) {
                    let kind = new
                        .attributes
                        .get(code)
                        .or_else(|| old.attributes.get(code))
                        .map_or("TEXT", |a| a.kind.as_str());
                    events.push(event(
                        "product_value_removed",
                        json!({"attribute_code": code, "attribute_type": kind}),
                    ));
                }
            }
        }
        events
    };
    for (sku, p) in &new.products {
        match old.products.get(sku) {
            None => {
                let mut events = vec![event(
                    "product_created",
                    json!({"sku": sku, "type": p.kind, "category_codes": p.categories}),
                )];
                events.extend(values(None, p));
                for b in &p.bindings {
                    events.push(event("product_binding_added", json!({"attribute_code": b})));
                }
                push(Phase::Products, "product_created", sku, pt, events);
            }
            Some(was) => {
                let mut events = Vec::new();
                for c in &p.categories {
                    if !was.categories.contains(c) {
                        events.push(event(
                            "product_added_to_category",
                            json!({"category_code": c}),
                        ));
                    }
                }
                for c in &was.categories {
                    if !p.categories.contains(c) {
                        events.push(event(
                            "product_removed_from_category",
                            json!({"category_code": c}),
                        ));
                    }
                }
                events.extend(values(Some(was), p));
                for b in &p.bindings {
                    if !was.bindings.contains(b) {
                        events.push(event("product_binding_added", json!({"attribute_code": b})));
                    }
                }
                for b in &was.bindings {
                    if !p.bindings.contains(b) {
                        events.push(event(
                            "product_binding_removed",
                            json!({"attribute_code": b}),
                        ));
                    }
                }
                if !events.is_empty() {
                    push(Phase::Products, "product_updated", sku, pt, events);
                }
            }
        }
    }
    for sku in old.products.keys() {
        if !new.products.contains_key(sku) {
            push(Phase::Products, "product_deleted", sku, pt, vec![]);
        }
    }

    // Relations, always as `product_updated`.
    for (sku, p) in &new.products {
        let was = old.products.get(sku);
        let mut events = Vec::new();
        for v in &p.variants {
            if was.is_some_and(|w| w.variants.contains(v)) {
                continue;
            }
            let binding_values: Vec<Value> = p
                .bindings
                .iter()
                .filter_map(|b| {
                    let a = new.attributes.get(b)?;
                    let value = match new.products.get(v)?.values.get(b)? {
                        ProductValue::Global(Value::String(s)) => s.clone(),
                        _ => return None,
                    };
                    Some(json!({
                        "attribute_code": b,
                        "attribute_type": a.kind,
                        "attribute_scope": a.scope,
                        "value": value,
                    }))
                })
                .collect();
            events.push(event(
                "product_variant_added",
                json!({"variant_sku": v, "binding_values": binding_values}),
            ));
        }
        if let Some(was) = was {
            for v in &was.variants {
                if !p.variants.contains(v) {
                    events.push(event("product_variant_removed", json!({"variant_sku": v})));
                }
            }
        }
        for (child, qty) in &p.children {
            match was.and_then(|w| w.children.get(child)) {
                None => events.push(event(
                    "product_child_added",
                    json!({"child_sku": child, "child_quantity": qty}),
                )),
                Some(q) if q != qty => events.push(event(
                    "product_child_quantity_changed",
                    json!({"child_sku": child, "child_quantity": qty}),
                )),
                Some(_) => {}
            }
        }
        if let Some(was) = was {
            for child in was.children.keys() {
                if !p.children.contains_key(child) {
                    events.push(event("product_child_removed", json!({"child_sku": child})));
                }
            }
        }
        if !events.is_empty() {
            push(Phase::Relations, "product_updated", sku, pt, events);
        }
    }
    out
}
