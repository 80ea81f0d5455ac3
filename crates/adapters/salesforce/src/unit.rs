//! Seed 000's linked-sync units and the canonical records they carry.
//!
//! "Inventory Source synchronization: add Inventory Source data to the queue." A Source Item
//! change runs the linked Product synchronization: "Inventory Source Item data should be nested
//! into Product data, Inventory Source data should be nested into Inventory Source Item data." A
//! Sales Channel or Source Stock Link change runs the linked Stock synchronization: "Inventory
//! Stock Sales Channel data and Inventory Source Stock Link should be nested into Inventory Stock
//! data. Website data should be nested into Inventory Stock Sales Channel data. Inventory Source
//! data should be nested into Inventory Source Stock Link data."
//!
//! The seed's own example bodies are also shaped around the changed record (a Source Item with
//! its Product and Source nested, a Channel with its Website and Stock): every one of those
//! shapes is read. Quantities, statuses and flags arrive as text ("27", "1") and are read
//! strictly: a value that does not parse is an error naming the record and field, never a
//! guess.

use serde_json::Value;
use syncd_core::model::{
    InventorySource, InventoryStock, SourceStockLink, StockPosition, StockSalesChannel, StockStatus,
};
use syncd_core::Record;
use thiserror::Error;

use crate::names::Names;
use crate::sobject::SObject;

/// A record of a unit that cannot become a canonical record.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{object} {id}: `{field}`: {message}")]
pub struct UnitError {
    /// The object's API name.
    pub object: String,
    /// The record's `Id` (or `?`).
    pub id: String,
    /// The field at fault.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// What one top-level record of a body stands for.
#[derive(Clone, Debug, PartialEq)]
pub enum Unit {
    /// An Inventory Source, alone.
    Source(SObject),
    /// A Source Item, its Product and Source nested in it.
    SourceItem(SObject),
    /// A Product, its Source Items nested, each with its Source.
    Product(SObject),
    /// An Inventory Stock, its Channels (Website nested) and Links (Source nested).
    Stock(SObject),
    /// A Sales Channel, its Website and Stock nested.
    SalesChannel(SObject),
    /// A Source Stock Link, its Stock and Source nested.
    SourceStockLink(SObject),
}

impl Unit {
    /// The unit a top-level record stands for; `None` for an object that starts none.
    pub fn of(record: SObject, names: &Names) -> Option<Unit> {
        let kind = record.kind.as_str();
        let is = |object: &str| kind == names.custom(object) || kind == object;
        Some(if is(&names.source.object) {
            Unit::Source(record)
        } else if is(&names.source_item.object) {
            Unit::SourceItem(record)
        } else if is(&names.product.object) {
            Unit::Product(record)
        } else if is(&names.stock.object) {
            Unit::Stock(record)
        } else if is(&names.sales_channel.object) {
            Unit::SalesChannel(record)
        } else if is(&names.source_stock_link.object) {
            Unit::SourceStockLink(record)
        } else {
            return None;
        })
    }

    /// The unit's top-level record.
    pub fn record(&self) -> &SObject {
        match self {
            Unit::Source(r)
            | Unit::SourceItem(r)
            | Unit::Product(r)
            | Unit::Stock(r)
            | Unit::SalesChannel(r)
            | Unit::SourceStockLink(r) => r,
        }
    }

    /// The canonical records the unit carries, each or the error that keeps it out.
    pub fn records(&self, names: &Names) -> Vec<Result<Record, UnitError>> {
        let read = Reader { names };
        match self {
            Unit::Source(source) => vec![read.source(source).map(Record::InventorySource)],
            Unit::SourceItem(item) => {
                let product = read.nested(item, &names.product.object);
                vec![read.position(item, product).map(Record::StockPosition)]
            }
            Unit::Product(product) => read
                .nested_all(product, &names.source_item.object)
                .into_iter()
                .map(|item| {
                    read.position(item, Some(product))
                        .map(Record::StockPosition)
                })
                .collect(),
            Unit::Stock(stock) => {
                let mut out = vec![read.stock(stock).map(Record::InventoryStock)];
                out.extend(
                    read.nested_all(stock, &names.source_stock_link.object)
                        .into_iter()
                        .map(|link| read.link(link, Some(stock)).map(Record::SourceStockLink)),
                );
                out.extend(
                    read.nested_all(stock, &names.sales_channel.object)
                        .into_iter()
                        .map(|c| read.channel(c, Some(stock)).map(Record::StockSalesChannel)),
                );
                out
            }
            Unit::SalesChannel(channel) => {
                vec![read.channel(channel, None).map(Record::StockSalesChannel)]
            }
            Unit::SourceStockLink(link) => {
                vec![read.link(link, None).map(Record::SourceStockLink)]
            }
        }
    }
}

struct Reader<'a> {
    names: &'a Names,
}

impl Reader<'_> {
    fn fail(&self, record: &SObject, field: &str, message: impl Into<String>) -> UnitError {
        UnitError {
            object: record.kind.clone(),
            id: record.text("Id").unwrap_or("?").to_string(),
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The first record nested under the label of `object` (the org's spelling or the seed's).
    fn nested<'r>(&self, record: &'r SObject, object: &str) -> Option<&'r SObject> {
        self.nested_all(record, object).into_iter().next()
    }

    fn nested_all<'r>(&self, record: &'r SObject, object: &str) -> Vec<&'r SObject> {
        let custom = self.names.custom(object);
        record
            .related()
            .filter(|(label, _)| *label == object || *label == custom)
            .flat_map(|(_, children)| children.records.iter())
            .collect()
    }

    fn text(&self, record: &SObject, field: &str) -> Result<String, UnitError> {
        let name = self.names.custom(field);
        match record.get(&name).or_else(|| record.get(field)) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(Value::String(_)) => Err(self.fail(record, &name, "is empty")),
            Some(other) => Err(self.fail(record, &name, format!("expected text, found {other}"))),
            None => Err(self.fail(record, &name, "is missing")),
        }
    }

    fn optional_text(&self, record: &SObject, field: &str) -> Option<String> {
        let name = self.names.custom(field);
        record
            .text(&name)
            .or_else(|| record.text(field))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    /// A whole number given as text ("27") or as a JSON integer; nothing else.
    fn integer(&self, record: &SObject, field: &str) -> Result<i64, UnitError> {
        let name = self.names.custom(field);
        match record.get(&name).or_else(|| record.get(field)) {
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or_else(|| self.fail(record, &name, format!("`{n}` is not a whole number"))),
            Some(Value::String(s)) => {
                let digits = s.strip_prefix('-').unwrap_or(s);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(self.fail(record, &name, format!("`{s}` is not a whole number")));
                }
                s.parse::<i64>()
                    .map_err(|e| self.fail(record, &name, format!("`{s}`: {e}")))
            }
            Some(other) => {
                Err(self.fail(record, &name, format!("`{other}` is not a whole number")))
            }
            None => Err(self.fail(record, &name, "is missing")),
        }
    }

    /// A flag given as "1"/"0" (the package's way) or as a JSON boolean.
    fn flag(&self, record: &SObject, field: &str) -> Result<bool, UnitError> {
        let name = self.names.custom(field);
        match record.get(&name).or_else(|| record.get(field)) {
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s == "1" => Ok(true),
            Some(Value::String(s)) if s == "0" => Ok(false),
            Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(true),
            Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(false),
            Some(other) => {
                Err(self.fail(record, &name, format!("`{other}` is not \"1\" or \"0\"")))
            }
            None => Err(self.fail(record, &name, "is missing")),
        }
    }

    fn source(&self, source: &SObject) -> Result<InventorySource, UnitError> {
        let n = self.names;
        Ok(InventorySource {
            code: self.text(source, &n.source_code)?,
            name: self.text(source, "Name")?,
            enabled: self.flag(source, &n.source_enabled)?,
            description: self.optional_text(source, &n.source_description),
            country: self.optional_text(source, &n.source_country),
            postcode: self.optional_text(source, &n.source_postcode),
            frontend_name: self.optional_text(source, &n.source_frontend_name),
            // An optional flag: absent, or null where a query selects it and nobody set it.
            use_default_carrier_config: match source.get("Use_Default_Carrier_Config__c") {
                None | Some(Value::Null) => false,
                Some(_) => self.flag(source, "Use_Default_Carrier_Config__c")?,
            },
        })
    }

    /// A Source Item as a stock position: the product's SKU at the source's code.
    fn position(
        &self,
        item: &SObject,
        product: Option<&SObject>,
    ) -> Result<StockPosition, UnitError> {
        let n = self.names;
        let product = product.ok_or_else(|| {
            self.fail(
                item,
                &n.product.object,
                "the item's Product is not nested in the unit",
            )
        })?;
        let source = self.nested(item, &n.source.object).ok_or_else(|| {
            self.fail(
                item,
                &n.source.object,
                "the item's Source is not nested in the unit",
            )
        })?;
        let mut position = StockPosition::new(
            self.text(product, &n.product_sku)?,
            self.text(source, &n.source_code)?,
            self.integer(item, &n.quantity)?,
        );
        position.status = match self.flag(item, &n.status)? {
            true => StockStatus::Active,
            false => StockStatus::Inactive,
        };
        Ok(position)
    }

    fn stock(&self, stock: &SObject) -> Result<InventoryStock, UnitError> {
        Ok(InventoryStock {
            stock_id: self.text(stock, &self.names.magento_id)?,
            name: self.text(stock, "Name")?,
        })
    }

    fn stock_id_of(&self, record: &SObject, stock: Option<&SObject>) -> Result<String, UnitError> {
        let stock = stock
            .or_else(|| self.nested(record, &self.names.stock.object))
            .ok_or_else(|| {
                self.fail(
                    record,
                    &self.names.stock.object,
                    "its Stock is not nested in the unit",
                )
            })?;
        self.text(stock, &self.names.magento_id)
    }

    fn link(&self, link: &SObject, stock: Option<&SObject>) -> Result<SourceStockLink, UnitError> {
        let n = self.names;
        let source = self.nested(link, &n.source.object).ok_or_else(|| {
            self.fail(
                link,
                &n.source.object,
                "the link's Source is not nested in the unit",
            )
        })?;
        let priority = self.integer(link, &n.priority)?;
        Ok(SourceStockLink {
            stock_id: self.stock_id_of(link, stock)?,
            source_code: self.text(source, &n.source_code)?,
            priority: u32::try_from(priority).map_err(|_| {
                self.fail(
                    link,
                    &n.custom(&n.priority),
                    format!("`{priority}` is not a priority"),
                )
            })?,
        })
    }

    fn channel(
        &self,
        channel: &SObject,
        stock: Option<&SObject>,
    ) -> Result<StockSalesChannel, UnitError> {
        let n = self.names;
        let website = self.nested(channel, &n.website.object);
        let code = match website {
            Some(website) => self.text(website, &n.website_code)?,
            None => self.text(channel, &n.magento_id)?,
        };
        Ok(StockSalesChannel {
            stock_id: self.stock_id_of(channel, stock)?,
            channel_type: self.text(channel, &n.channel_type)?,
            code,
            website_name: website.and_then(|w| self.optional_text(w, "Name")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sobject::Body;

    fn unit(body: serde_json::Value) -> Unit {
        let body = Body::parse(body.to_string().as_bytes()).unwrap();
        Unit::of(body.records.into_iter().next().unwrap(), &Names::default()).unwrap()
    }

    #[test]
    fn a_quantity_that_is_not_a_whole_number_names_the_record_and_field() {
        for bad in ["27.5", " 27", "", "twenty", "1e3"] {
            let u = unit(serde_json::json!({"sf": [{
                "attributes": {"type": "Inventory_Source_Item__c"}, "Id": "a00X", "Quantity__c": bad, "Status__c": "1",
                "Product2": {"totalSize": 1, "done": true, "records": [{"attributes": {"type": "Product2"}, "ProductCode": "sku1"}]},
                "Inventory_Source__c": {"totalSize": 1, "done": true, "records": [{"attributes": {"type": "Inventory_Source__c"}, "Source_Code__c": "src"}]}
            }]}));
            let records = u.records(&Names::default());
            match &records[0] {
                Err(e) => {
                    assert_eq!(
                        (e.id.as_str(), e.field.as_str()),
                        ("a00X", "Quantity__c"),
                        "{bad:?}: {e}"
                    );
                }
                Ok(r) => panic!("{bad:?} was read as {r:?}"),
            }
        }
    }

    #[test]
    fn a_namespaced_org_is_read_by_its_own_names() {
        let names = Names {
            namespace: "tnw_mage_enterp__".into(),
            ..Names::default()
        };
        let body = Body::parse(
            serde_json::json!({"sf": [{
                "attributes": {"type": "tnw_mage_enterp__Inventory_Source__c"}, "Name": "S",
                "tnw_mage_enterp__Source_Code__c": "s1", "tnw_mage_enterp__Enabled__c": "0"
            }]})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        let u = Unit::of(body.records[0].clone(), &names).unwrap();
        let records = u.records(&names);
        match &records[0] {
            Ok(Record::InventorySource(s)) => {
                assert_eq!((s.code.as_str(), s.enabled), ("s1", false))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_source_whose_optional_carrier_flag_is_null_is_read_as_not_using_it() {
        // What a SOQL query returns for a field selected but never set.
        let names = Names::default();
        let body = Body::parse(
            serde_json::json!({"sf": [{
                "attributes": {"type": "Inventory_Source__c"}, "Name": "S",
                "Source_Code__c": "s1", "Enabled__c": "1", "Use_Default_Carrier_Config__c": null
            }]})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        let u = Unit::of(body.records[0].clone(), &names).unwrap();
        match &u.records(&names)[0] {
            Ok(Record::InventorySource(s)) => {
                assert_eq!((s.enabled, s.use_default_carrier_config), (true, false))
            }
            other => panic!("{other:?}"),
        }
    }
}
