//! The managed package's reverse sync, played by the simulator: when an MSI record changes, the
//! org posts `{"sf": [unit]}` to a configured URL, the unit built by seed 000's rules.
//!
//! - "Inventory Source synchronization: add Inventory Source data to the queue."
//! - "Inventory Source Item synchronization: run linked Product synchronization" — "Inventory
//!   Source Item data should be nested into Product data, Inventory Source data should be
//!   nested into Inventory Source Item data."
//! - "Inventory Stock Sales Channel synchronization" and "Inventory Source Stock Link
//!   synchronization: run linked Inventory Stock synchronization" — "Inventory Stock Sales
//!   Channel data and Inventory Source Stock Link should be nested into Inventory Stock data.
//!   Website data should be nested into Inventory Stock Sales Channel data. Inventory Source
//!   data should be nested into Inventory Source Stock Link data."
//!
//! Nested lists are `{"totalSize", "done", "records"}` under the nested object's API name, as
//! in the seed's examples. The package posts to the store's REST API, which takes a bearer
//! token: the post carries `Authorization: Bearer <secret>`. *(Reading: the seed does not say
//! how the package authenticates.)*

use serde_json::{Map, Value};

use super::store::Store;

fn list(records: Vec<Value>) -> Value {
    serde_json::json!({"totalSize": records.len(), "done": true, "records": records})
}

/// A record as the package renders it: its fields under `attributes`.
fn render(object: &str, fields: &Map<String, Value>, version: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let id = fields.get("Id").and_then(Value::as_str).unwrap_or("");
    out.insert(
        "attributes".into(),
        serde_json::json!({"type": object, "url": format!("/services/data/v{version}/sobjects/{object}/{id}")}),
    );
    out.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// The parent of `fields` through `lookup_field`, rendered.
fn parent(
    store: &Store,
    target: &str,
    fields: &Map<String, Value>,
    lookup_field: &str,
    version: &str,
) -> Option<Map<String, Value>> {
    let id = fields.get(lookup_field).and_then(Value::as_str)?;
    store
        .fields(target, id)
        .map(|f| render(target, &f, version))
}

/// The unit a change of record `id` of `object` posts; `None` for objects that start none.
pub fn unit(store: &Store, object: &str, id: &str, version: &str) -> Option<Value> {
    let schema = store.schema();
    // The changed record may be a deleted one: its parent's unit goes out without it.
    let fields = store.fields_even_deleted(object, id)?;
    let object = schema.object(object)?.name.clone();
    let lookup = |child: &str, target: &str| {
        schema
            .object(child)
            .and_then(|o| o.lookups.iter().find(|l| l.target == target))
            .map(|l| l.field.clone())
    };
    match object.as_str() {
        "Inventory_Source__c" => Some(Value::Object(render(&object, &fields, version))),
        // A product's change is a Source Item's, without the item (the package nests the same).
        "Inventory_Source_Item__c" => {
            let product_field = lookup("Inventory_Source_Item__c", "Product2")?;
            let product_id = fields
                .get(&product_field)
                .and_then(Value::as_str)?
                .to_string();
            let product = store.fields("Product2", &product_id)?;
            let source_field = lookup("Inventory_Source_Item__c", "Inventory_Source__c")?;
            let items: Vec<Value> = store
                .children("Inventory_Source_Item__c", &product_field, &product_id)
                .into_iter()
                .map(|item| {
                    let mut rendered = render("Inventory_Source_Item__c", &item, version);
                    if let Some(source) =
                        parent(store, "Inventory_Source__c", &item, &source_field, version)
                    {
                        rendered.insert(
                            "Inventory_Source__c".into(),
                            list(vec![Value::Object(source)]),
                        );
                    }
                    Value::Object(rendered)
                })
                .collect();
            let mut rendered = render("Product2", &product, version);
            rendered.insert("Inventory_Source_Item__c".into(), list(items));
            Some(Value::Object(rendered))
        }
        "Inventory_Stock_Sales_Channel__c" | "Inventory_Stock_Source_Link__c" => {
            let stock_field = lookup(&object, "Inventory_Stock__c")?;
            let stock_id = fields
                .get(&stock_field)
                .and_then(Value::as_str)?
                .to_string();
            unit(store, "Inventory_Stock__c", &stock_id, version)
        }
        "Inventory_Stock__c" => {
            let mut rendered = render(&object, &fields, version);
            let link_stock = lookup("Inventory_Stock_Source_Link__c", "Inventory_Stock__c")?;
            let link_source = lookup("Inventory_Stock_Source_Link__c", "Inventory_Source__c")?;
            let links: Vec<Value> = store
                .children("Inventory_Stock_Source_Link__c", &link_stock, id)
                .into_iter()
                .map(|link| {
                    let mut r = render("Inventory_Stock_Source_Link__c", &link, version);
                    if let Some(source) =
                        parent(store, "Inventory_Source__c", &link, &link_source, version)
                    {
                        r.insert(
                            "Inventory_Source__c".into(),
                            list(vec![Value::Object(source)]),
                        );
                    }
                    Value::Object(r)
                })
                .collect();
            let channel_stock = lookup("Inventory_Stock_Sales_Channel__c", "Inventory_Stock__c")?;
            let website = "tnw_mage_basic__Magento_Website__c";
            let channel_website = lookup("Inventory_Stock_Sales_Channel__c", website)?;
            let channels: Vec<Value> = store
                .children("Inventory_Stock_Sales_Channel__c", &channel_stock, id)
                .into_iter()
                .map(|channel| {
                    let mut r = render("Inventory_Stock_Sales_Channel__c", &channel, version);
                    if let Some(site) = parent(store, website, &channel, &channel_website, version)
                    {
                        r.insert(website.into(), list(vec![Value::Object(site)]));
                    }
                    Value::Object(r)
                })
                .collect();
            rendered.insert("Inventory_Stock_Source_Link__c".into(), list(links));
            rendered.insert("Inventory_Stock_Sales_Channel__c".into(), list(channels));
            Some(Value::Object(rendered))
        }
        _ => None,
    }
}
