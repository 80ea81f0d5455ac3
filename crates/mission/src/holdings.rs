//! What every system of the mission holds now, read from the simulators as their own users
//! would see it, and whether they agree.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use syncd_sandbox::salesforce::soql;

use crate::mission::{english_name, Mission, STORE_NODE, WAREHOUSE, WAREHOUSE_SOURCE};
use crate::MissionError;

/// NewStore's stock of one product at the store node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct NewStoreStock {
    /// On hand.
    pub on_hand: i64,
    /// Allocations still held.
    pub allocations: i64,
    /// Available to promise.
    pub atp: i64,
}

/// A Salesforce Source Item at the warehouse's source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceItem {
    /// `Quantity__c`.
    pub quantity: i64,
    /// `Status__c` (`1` in stock, `0` out of stock).
    pub status: String,
}

/// Every system's holdings, by SKU.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Holdings {
    /// Ergonode's products: SKU → English name.
    pub catalog: BTreeMap<String, Option<String>>,
    /// Salesforce's MSI sources: code → enabled.
    pub sources: BTreeMap<String, bool>,
    /// NewStore's DC locations (from imports' store mappings): node id → location.
    pub nodes: BTreeMap<String, String>,
    /// Salesforce `Product2`: `ProductCode` → `Name`.
    pub products: BTreeMap<String, String>,
    /// Salesforce Source Items at the warehouse's source.
    pub source_items: BTreeMap<String, SourceItem>,
    /// ShipHero's on hand in the warehouse.
    pub warehouse: BTreeMap<String, i64>,
    /// The ERP ledger's on hand at the store node.
    pub erp: BTreeMap<String, i64>,
    /// NewStore's stock at the store node.
    pub newstore: BTreeMap<String, NewStoreStock>,
    /// Fluent's on hand at the store node.
    pub fluent: BTreeMap<String, i64>,
}

fn number(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse::<f64>().ok().map(|f| f as i64),
        _ => None,
    }
}

impl Holdings {
    /// Reads every system now.
    pub fn read(mission: &Mission) -> Result<Self, MissionError> {
        let sandbox = &mission.sandbox;
        let mut out = Holdings::default();
        for (sku, product) in sandbox.ergonode.catalog().products {
            out.catalog.insert(sku, english_name(&product));
        }
        let org = sandbox.salesforce.store();
        let run = |soql_text: &str| -> Result<Vec<Value>, MissionError> {
            let query = soql::parse(soql_text)
                .map_err(|e| MissionError::call("a SOQL query", format!("{e:?}")))?;
            org.run(&query, false, "62.0")
                .map_err(|e| MissionError::call("a SOQL query", format!("{e:?}")))
        };
        for row in run("SELECT Source_Code__c, Enabled__c FROM Inventory_Source__c")? {
            if let Some(code) = row["Source_Code__c"].as_str() {
                let enabled = matches!(row["Enabled__c"].as_str(), Some("1" | "true"))
                    || row["Enabled__c"] == Value::Bool(true);
                out.sources.insert(code.to_string(), enabled);
            }
        }
        for row in run("SELECT Name, ProductCode FROM Product2")? {
            if let (Some(code), Some(name)) = (row["ProductCode"].as_str(), row["Name"].as_str()) {
                out.products.insert(code.to_string(), name.to_string());
            }
        }
        for row in run("SELECT Quantity__c, Status__c, Product__r.ProductCode, Inventory_Source_Field__r.Source_Code__c FROM Inventory_Source_Item__c")? {
            if row["Inventory_Source_Field__r"]["Source_Code__c"].as_str() != Some(WAREHOUSE_SOURCE) {
                continue;
            }
            if let Some(sku) = row["Product__r"]["ProductCode"].as_str() {
                out.source_items.insert(
                    sku.to_string(),
                    SourceItem {
                        quantity: number(&row["Quantity__c"]).unwrap_or_default(),
                        status: row["Status__c"].as_str().unwrap_or_default().to_string(),
                    },
                );
            }
        }
        drop(org);
        for sku in &mission.stock_skus {
            if let Some(on_hand) = sandbox.shiphero.on_hand(WAREHOUSE, sku) {
                out.warehouse.insert(sku.clone(), on_hand);
            }
        }
        let ledger_path = mission.path("ledger.json");
        if ledger_path.exists() {
            let bytes =
                std::fs::read(&ledger_path).map_err(|e| MissionError::io(&ledger_path, e))?;
            let ledger: Value = serde_json::from_slice(&bytes)
                .map_err(|e| MissionError::call("reading the ERP ledger", e))?;
            for p in ledger["positions"].as_array().into_iter().flatten() {
                if p["location"] == STORE_NODE {
                    if let (Some(sku), Some(on_hand)) = (p["sku"].as_str(), number(&p["on_hand"])) {
                        out.erp.insert(sku.to_string(), on_hand);
                    }
                }
            }
        }
        out.nodes = sandbox.newstore.nodes();
        for (product, node, entry) in sandbox.newstore.positions() {
            if node == STORE_NODE {
                out.newstore.insert(
                    product,
                    NewStoreStock {
                        on_hand: entry.on_hand,
                        allocations: entry.allocations.len() as i64,
                        atp: entry.atp(),
                    },
                );
            }
        }
        for q in sandbox.fluent.quantities() {
            if q.location_ref == STORE_NODE && q.kind == "LAST_ON_HAND" {
                out.fluent.insert(q.sku_ref, q.qty);
            }
        }
        Ok(out)
    }

    /// Where two systems that should agree do not, one line each; empty when all agree.
    pub fn disagreements(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (sku, name) in &self.catalog {
            match (self.products.get(sku), name) {
                (None, _) => out.push(format!("{sku}: in the catalog, not a Salesforce Product2")),
                (Some(held), Some(name)) if held != name => out.push(format!(
                    "{sku}: the catalog names it {name:?}, Salesforce {held:?}"
                )),
                _ => {}
            }
        }
        for (sku, on_hand) in &self.warehouse {
            if !self.catalog.contains_key(sku) {
                continue;
            }
            match self.source_items.get(sku) {
                Some(item) if item.quantity == *on_hand => {}
                Some(item) => out.push(format!(
                    "{sku}: ShipHero has {on_hand} on hand, Salesforce's Source Item {}",
                    item.quantity
                )),
                None => out.push(format!(
                    "{sku}: ShipHero has {on_hand}, Salesforce no Source Item"
                )),
            }
        }
        for sku in self.source_items.keys() {
            if !self.warehouse.contains_key(sku) {
                out.push(format!(
                    "{sku}: a Salesforce Source Item ShipHero does not stock"
                ));
            }
        }
        for (sku, on_hand) in &self.erp {
            if !self.catalog.contains_key(sku) {
                continue;
            }
            match self.newstore.get(sku) {
                Some(stock) if stock.on_hand == *on_hand => {}
                Some(stock) => out.push(format!(
                    "{sku}: the ERP has {on_hand} on hand, NewStore {}",
                    stock.on_hand
                )),
                None => out.push(format!("{sku}: the ERP has {on_hand}, NewStore nothing")),
            }
            if self.fluent.get(sku) != Some(on_hand) {
                out.push(format!(
                    "{sku}: the ERP has {on_hand} on hand, Fluent {:?}",
                    self.fluent.get(sku)
                ));
            }
        }
        for (code, enabled) in &self.sources {
            if *enabled && !self.nodes.contains_key(code) {
                out.push(format!(
                    "source {code}: enabled in Salesforce, not a NewStore DC location"
                ));
            }
        }
        for (sku, stock) in &self.newstore {
            if stock.atp < 0 {
                out.push(format!("{sku}: NewStore shows ATP {}", stock.atp));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agreeing() -> Holdings {
        let mut h = Holdings::default();
        h.catalog.insert("A".into(), Some("Boot".into()));
        h.products.insert("A".into(), "Boot".into());
        h.warehouse.insert("A".into(), 5);
        h.source_items.insert(
            "A".into(),
            SourceItem {
                quantity: 5,
                status: "0".into(),
            },
        );
        h.erp.insert("A".into(), 7);
        h.newstore.insert(
            "A".into(),
            NewStoreStock {
                on_hand: 7,
                allocations: 2,
                atp: 5,
            },
        );
        h.fluent.insert("A".into(), 7);
        h.sources.insert("DC".into(), true);
        h.sources.insert("OLD".into(), false);
        h.nodes.insert("DC".into(), "DC".into());
        h
    }

    #[test]
    fn systems_holding_what_their_sources_hold_agree() {
        assert_eq!(agreeing().disagreements(), Vec::<String>::new());
    }

    #[test]
    fn each_system_out_of_step_is_named() {
        let mut h = agreeing();
        h.products.insert("A".into(), "A".into());
        h.source_items.get_mut("A").unwrap().quantity = 6;
        h.fluent.remove("A");
        h.newstore.get_mut("A").unwrap().atp = -1;
        h.nodes.clear();
        let found = h.disagreements();
        assert_eq!(found.len(), 5, "{found:#?}");
        for system in [
            "Salesforce \"A\"",
            "Source Item 6",
            "Fluent None",
            "ATP -1",
            "source DC",
        ] {
            assert!(
                found.iter().any(|d| d.contains(system)),
                "{system}: {found:#?}"
            );
        }
    }

    #[test]
    fn stock_of_a_sku_the_catalog_lacks_is_not_expected_anywhere() {
        let mut h = agreeing();
        h.warehouse.insert("LATE".into(), 3);
        h.erp.insert("LATE".into(), 3);
        assert_eq!(h.disagreements(), Vec::<String>::new());
    }
}
