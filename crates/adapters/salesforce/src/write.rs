//! Writes through sObject Collections (≤ 200 records a call, `allOrNone=false`), each record's
//! result turned into its own outcome: `UNABLE_TO_LOCK_ROW` is retried, any other refusal
//! (validation, `DUPLICATE_VALUE`) is a dead letter naming the error code and fields.
//!
//! Sources and Stocks carry their natural key in an external-id field (`Source_Code__c`, the
//! stock's `Magento_ID__c`), so they are upserted by it. A Source Item has no single field that
//! holds its key (the product's SKU and the source's code, through two lookups; its own
//! `Magento_ID__c` is Magento's number, unknown for a position that comes from elsewhere), and a
//! `Product2` is keyed by `ProductCode`, which is no external id: those are found by one SOQL
//! query for the keys not met before, then updated by `Id`, or created with their lookups set.
//! The ids found are kept, so that a steady run makes only the Collections calls.

use std::collections::HashMap;
use std::sync::Mutex;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use syncd_core::model::{InventorySource, InventoryStock, Product, StockPosition, StockStatus};
use syncd_core::{ConnectorError, Record, RecordKey, WriteOp, WriteOutcome};

use crate::client::SalesforceClient;
use crate::names::Names;
use crate::poll::{encode, quoted, relationship};

/// The `Id`s of records met so far, by canonical key (positions and products).
#[derive(Default)]
pub struct KnownIds {
    ids: Mutex<HashMap<RecordKey, String>>,
}

impl KnownIds {
    /// The id of `key`, if met.
    pub fn get(&self, key: &RecordKey) -> Option<String> {
        self.ids.lock().expect("ids lock").get(key).cloned()
    }

    /// Remembers that `key` is record `id`.
    pub fn put(&self, key: RecordKey, id: String) {
        self.ids.lock().expect("ids lock").insert(key, id);
    }

    /// Forgets `key` (its record was deleted).
    pub fn forget(&self, key: &RecordKey) {
        self.ids.lock().expect("ids lock").remove(key);
    }
}

/// One record's result in a Collections answer.
#[derive(Debug, Deserialize)]
pub struct RecordResult {
    /// The record's id, when it has one.
    #[serde(default)]
    pub id: Option<String>,
    /// Whether it was applied.
    pub success: bool,
    /// Why not.
    #[serde(default)]
    pub errors: Vec<RecordError>,
}

/// One error of a record.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordError {
    /// `UNABLE_TO_LOCK_ROW`, `DUPLICATE_VALUE`, `FIELD_CUSTOM_VALIDATION_EXCEPTION`, ...
    pub status_code: String,
    /// Salesforce's message.
    #[serde(default)]
    pub message: String,
    /// The fields at fault.
    #[serde(default)]
    pub fields: Vec<String>,
}

/// The outcome a record's result stands for.
pub fn outcome_of(result: &RecordResult, context: &str, key: &str) -> WriteOutcome {
    if result.success {
        return WriteOutcome::Applied;
    }
    let text = result
        .errors
        .iter()
        .map(|e| match e.fields.is_empty() {
            true => format!("{}: {}", e.status_code, e.message),
            false => format!(
                "{}: {} (fields: {})",
                e.status_code,
                e.message,
                e.fields.join(", ")
            ),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let message = format!("{key}: {text}");
    // A lock held by another transaction, or a record rolled back for another's sake.
    let transient = result.errors.iter().all(|e| {
        matches!(
            e.status_code.as_str(),
            "UNABLE_TO_LOCK_ROW" | "ALL_OR_NONE_OPERATION_ROLLED_BACK" | "SERVER_UNAVAILABLE"
        )
    }) && !result.errors.is_empty();
    WriteOutcome::Failed(match transient {
        true => ConnectorError::retryable(context, message),
        false => ConnectorError::permanent(context, message),
    })
}

/// The writes of one batch, and where each one's outcome goes.
pub struct Writer<'a> {
    /// The org.
    pub client: &'a SalesforceClient,
    /// Its names.
    pub names: &'a Names,
    /// Ids met so far.
    pub known: &'a KnownIds,
    /// Names the connector in errors.
    pub context: &'a str,
    /// The catalog attribute a product's name is taken from.
    pub name_attribute: &'a str,
    /// The locale a product's name is taken in.
    pub locale: &'a str,
}

/// A record to send and the batch index its outcome belongs to.
struct Outgoing {
    index: usize,
    key: RecordKey,
    body: Value,
}

fn flag(on: bool) -> Value {
    Value::String(if on { "1" } else { "0" }.into())
}

impl Writer<'_> {
    fn attributes(object: &str) -> Value {
        json!({ "type": object })
    }

    /// Sends `records` in Collections calls of at most `per_call`, through `method` on `path`;
    /// each record's outcome goes into `outcomes` at its index. A call that fails as a whole
    /// fails its records with its error (nothing of it was applied).
    async fn send(
        &self,
        method: Method,
        path: &str,
        records: Vec<Outgoing>,
        per_call: usize,
        outcomes: &mut [Option<WriteOutcome>],
    ) -> Result<(), ConnectorError> {
        for chunk in records.chunks(per_call.max(1)) {
            let body = json!({
                "allOrNone": false,
                "records": chunk.iter().map(|o| o.body.clone()).collect::<Vec<_>>(),
            });
            let results: Vec<RecordResult> =
                match self.client.call(method.clone(), path, Some(&body)).await {
                    Ok(results) => results,
                    Err(e) => {
                        chunk.iter().for_each(|o| {
                            outcomes[o.index] = Some(WriteOutcome::Failed(e.clone()))
                        });
                        continue;
                    }
                };
            for (o, result) in chunk.iter().zip(&results) {
                if let (true, Some(id)) = (result.success, &result.id) {
                    self.known.put(o.key.clone(), id.clone());
                }
                if !result.success
                    && result.errors.iter().any(|e| {
                        matches!(
                            e.status_code.as_str(),
                            "ENTITY_IS_DELETED" | "NOT_FOUND" | "INVALID_CROSS_REFERENCE_KEY"
                        )
                    })
                {
                    // Deleted since we met it: found (or created) afresh on the retry.
                    self.known.forget(&o.key);
                    outcomes[o.index] = Some(WriteOutcome::Failed(ConnectorError::retryable(
                        self.context,
                        format!(
                            "{}: the record was deleted in Salesforce; it is created again",
                            o.key
                        ),
                    )));
                    continue;
                }
                outcomes[o.index] = Some(outcome_of(result, self.context, o.key.as_str()));
            }
            if results.len() != chunk.len() {
                return Err(ConnectorError::retryable(
                    self.context,
                    format!(
                        "sObject Collections answered {} results for {} records",
                        results.len(),
                        chunk.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Ids by a text field of `object`, for the `values` given (one query per 100 values:
    /// SOQL rides in the URL).
    async fn ids_by(
        &self,
        object: &str,
        field: &str,
        values: &[String],
    ) -> Result<HashMap<String, String>, ConnectorError> {
        let mut found = HashMap::new();
        for chunk in values.chunks(100) {
            let list = chunk
                .iter()
                .map(|v| quoted(v))
                .collect::<Vec<_>>()
                .join(", ");
            let soql = format!("SELECT Id, {field} FROM {object} WHERE {field} IN ({list})");
            for row in self.query_all_rows(&soql).await? {
                if let (Some(id), Some(value)) = (row["Id"].as_str(), row[field].as_str()) {
                    found.insert(value.to_string(), id.to_string());
                }
            }
        }
        Ok(found)
    }

    async fn query_all_rows(&self, soql: &str) -> Result<Vec<Value>, ConnectorError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Answer {
            records: Vec<Value>,
            #[serde(default)]
            next_records_url: Option<String>,
        }
        let mut answer: Answer = self
            .client
            .call::<(), _>(Method::GET, &format!("/query?q={}", encode(soql)), None)
            .await?;
        let mut rows = std::mem::take(&mut answer.records);
        while let Some(next) = answer.next_records_url.take() {
            answer = self.client.call::<(), _>(Method::GET, &next, None).await?;
            rows.append(&mut answer.records);
        }
        Ok(rows)
    }

    /// Finds the Source Items of the `positions` not met before, by SKU and source code.
    async fn find_items(&self, positions: &[&StockPosition]) -> Result<(), ConnectorError> {
        let n = self.names;
        let unknown: Vec<&&StockPosition> = positions
            .iter()
            .filter(|p| self.known.get(&p.key()).is_none())
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let product = relationship(&n.custom(&n.item_product_lookup));
        let source = relationship(&n.custom(&n.item_source_lookup));
        let sku_field = format!("{product}.{}", n.product_sku);
        let code_field = format!("{source}.{}", n.custom(&n.source_code));
        for chunk in unknown.chunks(100) {
            let mut skus: Vec<String> = chunk.iter().map(|p| quoted(&p.sku)).collect();
            skus.sort();
            skus.dedup();
            let mut codes: Vec<String> = chunk.iter().map(|p| quoted(&p.location)).collect();
            codes.sort();
            codes.dedup();
            let soql = format!(
                "SELECT Id, {sku_field}, {code_field} FROM {object} WHERE {sku_field} IN ({}) AND {code_field} IN ({})",
                skus.join(", "),
                codes.join(", "),
                object = n.custom(&n.source_item.object),
            );
            for row in self.query_all_rows(&soql).await? {
                let sku = row[&product][&n.product_sku].as_str();
                let code = row[&source][&n.custom(&n.source_code)].as_str();
                if let (Some(id), Some(sku), Some(code)) = (row["Id"].as_str(), sku, code) {
                    self.known
                        .put(RecordKey::compose(&[sku, code]), id.to_string());
                }
            }
        }
        Ok(())
    }

    /// Writes stock positions as Source Item quantities and statuses.
    pub async fn positions(
        &self,
        batch: &[(usize, &StockPosition)],
        per_call: usize,
        outcomes: &mut [Option<WriteOutcome>],
    ) -> Result<(), ConnectorError> {
        let n = self.names;
        let object = n.custom(&n.source_item.object);
        let all: Vec<&StockPosition> = batch.iter().map(|(_, p)| *p).collect();
        self.find_items(&all).await?;
        let fields = |p: &StockPosition| {
            let mut m = Map::new();
            m.insert("attributes".into(), Self::attributes(&object));
            m.insert(n.custom(&n.quantity), Value::String(p.on_hand.to_string()));
            m.insert(n.custom(&n.status), flag(p.status == StockStatus::Active));
            m
        };
        let mut updates = Vec::new();
        let mut new: Vec<(usize, &StockPosition)> = Vec::new();
        for &(index, p) in batch {
            match self.known.get(&p.key()) {
                Some(id) => {
                    let mut body = fields(p);
                    body.insert("Id".into(), Value::String(id));
                    updates.push(Outgoing {
                        index,
                        key: p.key(),
                        body: Value::Object(body),
                    });
                }
                None => new.push((index, p)),
            }
        }
        self.send(
            Method::PATCH,
            "/composite/sobjects",
            updates,
            per_call,
            outcomes,
        )
        .await?;
        if new.is_empty() {
            return Ok(());
        }
        // New items need their Product and Source.
        let mut skus: Vec<String> = new.iter().map(|(_, p)| p.sku.clone()).collect();
        skus.sort();
        skus.dedup();
        let mut codes: Vec<String> = new.iter().map(|(_, p)| p.location.clone()).collect();
        codes.sort();
        codes.dedup();
        let products = self
            .ids_by(&n.product.object, &n.product_sku, &skus)
            .await?;
        let sources = self
            .ids_by(
                &n.custom(&n.source.object),
                &n.custom(&n.source_code),
                &codes,
            )
            .await?;
        let mut creates = Vec::new();
        for (index, p) in new {
            let (Some(product), Some(source)) = (products.get(&p.sku), sources.get(&p.location))
            else {
                let missing = match products.contains_key(&p.sku) {
                    false => format!("no {} has {} `{}`", n.product.object, n.product_sku, p.sku),
                    true => format!(
                        "no {} has {} `{}`",
                        n.custom(&n.source.object),
                        n.custom(&n.source_code),
                        p.location
                    ),
                };
                outcomes[index] = Some(WriteOutcome::Failed(ConnectorError::permanent(
                    self.context,
                    format!("{}: {missing}", p.key()),
                )));
                continue;
            };
            let mut body = fields(p);
            body.insert(
                "Name".into(),
                Value::String(format!("{}:{}", p.location, p.sku)),
            );
            body.insert(
                n.custom(&n.item_product_lookup),
                Value::String(product.clone()),
            );
            body.insert(
                n.custom(&n.item_source_lookup),
                Value::String(source.clone()),
            );
            creates.push(Outgoing {
                index,
                key: p.key(),
                body: Value::Object(body),
            });
        }
        self.send(
            Method::POST,
            "/composite/sobjects",
            creates,
            per_call,
            outcomes,
        )
        .await
    }

    /// Upserts Inventory Sources by their code.
    pub async fn sources(
        &self,
        batch: &[(usize, &InventorySource)],
        per_call: usize,
        outcomes: &mut [Option<WriteOutcome>],
    ) -> Result<(), ConnectorError> {
        let n = self.names;
        let object = n.custom(&n.source.object);
        let external = n.custom(&n.source.external_id);
        let records = batch
            .iter()
            .map(|&(index, s)| {
                let mut m = Map::new();
                m.insert("attributes".into(), Self::attributes(&object));
                m.insert(external.clone(), Value::String(s.code.clone()));
                m.insert("Name".into(), Value::String(s.name.clone()));
                m.insert(n.custom(&n.source_enabled), flag(s.enabled));
                let optional = [
                    (&n.source_description, &s.description),
                    (&n.source_country, &s.country),
                    (&n.source_postcode, &s.postcode),
                    (&n.source_frontend_name, &s.frontend_name),
                ];
                for (field, value) in optional {
                    m.insert(
                        n.custom(field),
                        value.clone().map_or(Value::Null, Value::String),
                    );
                }
                m.insert(
                    n.custom("Use_Default_Carrier_Config__c"),
                    flag(s.use_default_carrier_config),
                );
                Outgoing {
                    index,
                    key: RecordKey::compose(&[&s.code]),
                    body: Value::Object(m),
                }
            })
            .collect();
        let path = format!("/composite/sobjects/{object}/{external}");
        self.send(Method::PATCH, &path, records, per_call, outcomes)
            .await
    }

    /// Upserts Inventory Stocks by their Magento id.
    pub async fn stocks(
        &self,
        batch: &[(usize, &InventoryStock)],
        per_call: usize,
        outcomes: &mut [Option<WriteOutcome>],
    ) -> Result<(), ConnectorError> {
        let n = self.names;
        let object = n.custom(&n.stock.object);
        let external = n.custom(&n.stock.external_id);
        let records = batch
            .iter()
            .map(|&(index, s)| Outgoing {
                index,
                key: RecordKey::compose(&[&s.stock_id]),
                body: json!({
                    "attributes": Self::attributes(&object),
                    external.clone(): s.stock_id,
                    "Name": s.name,
                }),
            })
            .collect();
        let path = format!("/composite/sobjects/{object}/{external}");
        self.send(Method::PATCH, &path, records, per_call, outcomes)
            .await
    }

    /// Writes products as `Product2` records, found by `ProductCode`.
    pub async fn products(
        &self,
        batch: &[(usize, &Product)],
        per_call: usize,
        outcomes: &mut [Option<WriteOutcome>],
    ) -> Result<(), ConnectorError> {
        let n = self.names;
        let object = &n.product.object;
        let unknown: Vec<String> = batch
            .iter()
            .filter(|(_, p)| self.known.get(&product_key(&p.sku)).is_none())
            .map(|(_, p)| p.sku.clone())
            .collect();
        for (sku, id) in self.ids_by(object, &n.product_sku, &unknown).await? {
            self.known.put(product_key(&sku), id);
        }
        let mut updates = Vec::new();
        let mut creates = Vec::new();
        for &(index, p) in batch {
            let mut m = Map::new();
            m.insert("attributes".into(), Self::attributes(object));
            m.insert(
                "Name".into(),
                Value::String(product_name(p, self.name_attribute, self.locale)),
            );
            m.insert(n.product_sku.clone(), Value::String(p.sku.clone()));
            m.insert("IsActive".into(), Value::Bool(true));
            let key = product_key(&p.sku);
            match self.known.get(&key) {
                Some(id) => {
                    m.insert("Id".into(), Value::String(id));
                    updates.push(Outgoing {
                        index,
                        key,
                        body: Value::Object(m),
                    });
                }
                None => creates.push(Outgoing {
                    index,
                    key,
                    body: Value::Object(m),
                }),
            }
        }
        self.send(
            Method::PATCH,
            "/composite/sobjects",
            updates,
            per_call,
            outcomes,
        )
        .await?;
        self.send(
            Method::POST,
            "/composite/sobjects",
            creates,
            per_call,
            outcomes,
        )
        .await
    }

    /// Deletes the `Product2` records of `skus`, found by `ProductCode`.
    pub async fn delete_products(
        &self,
        skus: &[(usize, String)],
        outcomes: &mut [Option<WriteOutcome>],
    ) -> Result<(), ConnectorError> {
        let n = self.names;
        let unknown: Vec<String> = skus
            .iter()
            .filter(|(_, sku)| self.known.get(&product_key(sku)).is_none())
            .map(|(_, sku)| sku.clone())
            .collect();
        for (sku, id) in self
            .ids_by(&n.product.object, &n.product_sku, &unknown)
            .await?
        {
            self.known.put(product_key(&sku), id);
        }
        let found: Vec<(usize, RecordKey, String)> = skus
            .iter()
            .filter_map(|(index, sku)| match self.known.get(&product_key(sku)) {
                Some(id) => Some((*index, product_key(sku), id)),
                None => {
                    // Not in Salesforce: already as the delete wants it.
                    outcomes[*index] = Some(WriteOutcome::Applied);
                    None
                }
            })
            .collect();
        self.delete_ids(found, outcomes).await
    }

    /// Deletes records by id through sObject Collections, 200 a call.
    async fn delete_ids(
        &self,
        ids: Vec<(usize, RecordKey, String)>,
        outcomes: &mut [Option<WriteOutcome>],
    ) -> Result<(), ConnectorError> {
        for chunk in ids.chunks(200) {
            let list = chunk
                .iter()
                .map(|(_, _, id)| id.as_str())
                .collect::<Vec<_>>()
                .join(",");
            let path = format!("/composite/sobjects?ids={list}&allOrNone=false");
            let results: Vec<RecordResult> =
                match self.client.call::<(), _>(Method::DELETE, &path, None).await {
                    Ok(r) => r,
                    Err(e) => {
                        chunk.iter().for_each(|(i, _, _)| {
                            outcomes[*i] = Some(WriteOutcome::Failed(e.clone()))
                        });
                        continue;
                    }
                };
            for ((index, key, _), result) in chunk.iter().zip(&results) {
                let gone = result
                    .errors
                    .iter()
                    .any(|e| matches!(e.status_code.as_str(), "ENTITY_IS_DELETED" | "NOT_FOUND"));
                self.known.forget(key);
                outcomes[*index] = Some(match gone {
                    true => WriteOutcome::Applied,
                    false => outcome_of(result, self.context, key.as_str()),
                });
            }
        }
        Ok(())
    }

    /// Deletes the Source Items of `keys` (`sku|source`), found as for an update.
    pub async fn delete_positions(
        &self,
        keys: &[(usize, StockPosition)],
        outcomes: &mut [Option<WriteOutcome>],
    ) -> Result<(), ConnectorError> {
        let all: Vec<&StockPosition> = keys.iter().map(|(_, p)| p).collect();
        self.find_items(&all).await?;
        let mut ids = Vec::new();
        for (index, p) in keys {
            match self.known.get(&p.key()) {
                Some(id) => ids.push((*index, p.key(), id)),
                // Not in Salesforce: already as the delete wants it.
                None => outcomes[*index] = Some(WriteOutcome::Applied),
            }
        }
        self.delete_ids(ids, outcomes).await?;
        Ok(())
    }
}

/// The key a product's id is kept under (apart from positions' keys).
fn product_key(sku: &str) -> RecordKey {
    RecordKey::compose(&["~product", sku])
}

/// A product's display name: its `attribute` value in `locale` (or global; else the first
/// locale's), else its SKU.
pub fn product_name(p: &Product, attribute: &str, locale: &str) -> String {
    use syncd_core::model::ProductValue;
    let text = |v: &Value| v.as_str().map(str::to_string);
    match p.values.get(attribute) {
        Some(ProductValue::Global(v)) => text(v),
        Some(ProductValue::Localized(by_locale)) => by_locale
            .get(locale)
            .and_then(text)
            .or_else(|| by_locale.values().find_map(text)),
        None => None,
    }
    .unwrap_or_else(|| p.sku.clone())
}

/// The record an upsert carries, by kind, with its batch index.
pub fn split(batch: &[WriteOp]) -> Split<'_> {
    let mut split = Split::default();
    for (i, op) in batch.iter().enumerate() {
        match op {
            WriteOp::Upsert {
                record: Record::StockPosition(p),
            } => split.positions.push((i, p)),
            WriteOp::Upsert {
                record: Record::InventorySource(s),
            } => split.sources.push((i, s)),
            WriteOp::Upsert {
                record: Record::InventoryStock(s),
            } => split.stocks.push((i, s)),
            WriteOp::Upsert {
                record: Record::Product(p),
            } => split.products.push((i, p)),
            other => split.other.push((i, other)),
        }
    }
    split
}

/// A batch sorted by what each write needs.
#[derive(Default)]
pub struct Split<'a> {
    /// Source Item upserts.
    pub positions: Vec<(usize, &'a StockPosition)>,
    /// Source upserts.
    pub sources: Vec<(usize, &'a InventorySource)>,
    /// Stock upserts.
    pub stocks: Vec<(usize, &'a InventoryStock)>,
    /// Product upserts.
    pub products: Vec<(usize, &'a Product)>,
    /// Deletes and whatever else.
    pub other: Vec<(usize, &'a WriteOp)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncd_core::error::ErrorClass;

    fn result(code: &str) -> RecordResult {
        RecordResult {
            id: None,
            success: false,
            errors: vec![RecordError {
                status_code: code.into(),
                message: "m".into(),
                fields: vec!["Quantity__c".into()],
            }],
        }
    }

    #[test]
    fn a_products_name_is_its_name_value_in_the_configured_locale() {
        use syncd_core::model::ProductValue;
        let mut p = Product {
            sku: "P1".into(),
            product_type: "SIMPLE-PRODUCT".into(),
            values: Default::default(),
            categories: Default::default(),
            bindings: Default::default(),
            variants: Default::default(),
            children: Default::default(),
        };
        assert_eq!(product_name(&p, "name", "de_DE"), "P1", "no name: its SKU");
        p.values.insert(
            "name".into(),
            ProductValue::Localized(
                [
                    ("en_GB".to_string(), json!("Boot")),
                    ("de_DE".to_string(), json!("Stiefel")),
                ]
                .into(),
            ),
        );
        assert_eq!(product_name(&p, "name", "de_DE"), "Stiefel");
        assert_eq!(
            product_name(&p, "name", "fr_FR"),
            "Stiefel",
            "another locale's"
        );
    }

    #[test]
    fn a_locked_row_is_retried_and_a_duplicate_is_a_dead_letter_naming_code_and_fields() {
        match outcome_of(&result("UNABLE_TO_LOCK_ROW"), "sf", "A|W") {
            WriteOutcome::Failed(e) => assert_eq!(e.class(), ErrorClass::Retryable, "{e}"),
            other => panic!("{other:?}"),
        }
        match outcome_of(&result("DUPLICATE_VALUE"), "sf", "A|W") {
            WriteOutcome::Failed(e) => {
                assert_eq!(e.class(), ErrorClass::Permanent, "{e}");
                let text = e.to_string();
                assert!(
                    text.contains("DUPLICATE_VALUE")
                        && text.contains("Quantity__c")
                        && text.contains("A|W"),
                    "{text}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
