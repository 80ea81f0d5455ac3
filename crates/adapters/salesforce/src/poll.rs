//! The reconciliation read by SOQL, one object per entity kind: incremental by
//! `SystemModstamp` with `Id` breaking ties (bulk loads share a stamp), one query fetching a
//! whole unit through parent paths (a Source Item's product SKU and source code, a link's stock
//! and source), paged by the query locator Salesforce answers (`nextRecordsUrl`), and each row
//! turned into the same sObject shape the managed package pushes, so that both read paths yield
//! the same canonical records through one mapping (`unit`).
//!
//! An incremental read goes through `queryAll`, so that deleted rows come back with
//! `IsDeleted = true` and become tombstones. A pass that reaches the end rewinds its cursor by
//! an overlap window, so that a row committed late, under an earlier stamp, is still read next
//! time; the engine's diff makes the rows read twice free.

use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use syncd_core::{ConnectorError, EntityKind, Record};

use crate::client::SalesforceClient;
use crate::names::Names;
use crate::sobject::{Children, Field, SObject};
use crate::unit::{Unit, UnitError};

/// Where the read of one object stands: after (`stamp`, `id`), and the query locator of the
/// rest of the pass when one is open.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollCursor {
    /// The last `SystemModstamp` read (Salesforce's spelling).
    pub stamp: Option<String>,
    /// The last `Id` read at that stamp.
    pub id: Option<String>,
    /// The `nextRecordsUrl` of the pass under way. Locators expire (15 minutes of idleness):
    /// when this one is refused the read goes on from (`stamp`, `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A parent reached through a lookup: nested into the row under `label`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parent {
    /// The relationship name (`Product__r`).
    pub relationship: String,
    /// The label the package nests the parent under (its object name).
    pub label: String,
    /// The parent's fields the unit reads.
    pub fields: Vec<String>,
}

/// How one entity kind is read: its object, its own fields and its parents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    /// The entity kind read.
    pub entity: EntityKind,
    /// The object's API name.
    pub object: String,
    /// The object's fields the unit reads.
    pub fields: Vec<String>,
    /// Its parents.
    pub parents: Vec<Parent>,
}

/// A custom lookup's relationship name (`Product__c` → `Product__r`).
pub fn relationship(lookup: &str) -> String {
    match lookup.strip_suffix("__c") {
        Some(base) => format!("{base}__r"),
        None => lookup.trim_end_matches("Id").to_string(),
    }
}

/// A text literal in SOQL.
pub fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl Shape {
    /// How `entity` is read from the org `names` describes; `None` for a kind it does not hold.
    pub fn of(names: &Names, entity: EntityKind) -> Option<Shape> {
        let n = names;
        let c = |name: &str| n.custom(name);
        let parent = |lookup: &str, label: String, fields: Vec<String>| Parent {
            relationship: relationship(&c(lookup)),
            label,
            fields,
        };
        let source_fields = || vec![c(&n.source_code)];
        let stock_fields = || vec![c(&n.magento_id), "Name".to_string()];
        Some(match entity {
            EntityKind::StockPosition => Shape {
                entity,
                object: c(&n.source_item.object),
                fields: vec![c(&n.quantity), c(&n.status)],
                parents: vec![
                    parent(
                        &n.item_product_lookup,
                        n.product.object.clone(),
                        vec![n.product_sku.clone()],
                    ),
                    parent(&n.item_source_lookup, c(&n.source.object), source_fields()),
                ],
            },
            EntityKind::InventorySource => Shape {
                entity,
                object: c(&n.source.object),
                fields: vec![
                    "Name".into(),
                    c(&n.source_code),
                    c(&n.source_enabled),
                    c(&n.source_description),
                    c(&n.source_postcode),
                    c(&n.source_country),
                    c(&n.source_frontend_name),
                    c("Use_Default_Carrier_Config__c"),
                ],
                parents: vec![],
            },
            EntityKind::InventoryStock => Shape {
                entity,
                object: c(&n.stock.object),
                fields: stock_fields(),
                parents: vec![],
            },
            EntityKind::SourceStockLink => Shape {
                entity,
                object: c(&n.source_stock_link.object),
                fields: vec!["Name".into(), c(&n.magento_id), c(&n.priority)],
                parents: vec![
                    parent(&n.link_stock_lookup, c(&n.stock.object), stock_fields()),
                    parent(&n.link_source_lookup, c(&n.source.object), source_fields()),
                ],
            },
            EntityKind::StockSalesChannel => Shape {
                entity,
                object: c(&n.sales_channel.object),
                fields: vec!["Name".into(), c(&n.magento_id), c(&n.channel_type)],
                parents: vec![
                    parent(&n.channel_stock_lookup, c(&n.stock.object), stock_fields()),
                    parent(
                        &n.channel_website_lookup,
                        c(&n.website.object),
                        vec![c(&n.website_code), "Name".into()],
                    ),
                ],
            },
            _ => return None,
        })
    }

    /// The SOQL of the rows after `cursor`, in `SystemModstamp, Id` order.
    pub fn query(&self, cursor: &PollCursor) -> String {
        let mut select = vec![
            "Id".to_string(),
            "SystemModstamp".into(),
            "IsDeleted".into(),
        ];
        select.extend(self.fields.iter().cloned());
        for p in &self.parents {
            select.extend(p.fields.iter().map(|f| format!("{}.{f}", p.relationship)));
        }
        let mut soql = format!("SELECT {} FROM {}", select.join(", "), self.object);
        if let Some(stamp) = &cursor.stamp {
            let id = cursor.id.as_deref().unwrap_or("");
            soql.push_str(&format!(
                " WHERE SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id > {})",
                quoted(id)
            ));
        }
        soql.push_str(" ORDER BY SystemModstamp, Id");
        soql
    }

    /// A query row in the shape the package pushes: each parent nested under its label.
    fn as_pushed(&self, row: &Value) -> Option<SObject> {
        let mut record = SObject::parse(row, "row").ok()?;
        for parent in &self.parents {
            let at = record
                .fields
                .iter()
                .position(|(name, _)| *name == parent.relationship);
            let Some(at) = at else { continue };
            let (_, field) = record.fields.remove(at);
            if let Field::Value(mut value @ Value::Object(_)) = field {
                if value.get("attributes").is_none() {
                    value["attributes"] = serde_json::json!({"type": parent.label});
                }
                if let Ok(nested) = SObject::parse(&value, "row") {
                    record.fields.push((
                        parent.label.clone(),
                        Field::Children(Children::of(vec![nested])),
                    ));
                }
            }
        }
        Some(record)
    }

    /// The record of this shape's kind that a row stands for.
    pub fn record_of(&self, row: &Value, names: &Names) -> Result<Record, UnitError> {
        let id = row["Id"].as_str().unwrap_or("?").to_string();
        let unit = self.as_pushed(row).and_then(|r| Unit::of(r, names));
        let Some(unit) = unit else {
            return Err(UnitError {
                object: self.object.clone(),
                id,
                field: "attributes".into(),
                message: "the row is not a record of this object".into(),
            });
        };
        unit.records(names)
            .into_iter()
            .find(|r| r.as_ref().map_or(true, |r| r.entity() == self.entity))
            .unwrap_or_else(|| {
                Err(UnitError {
                    object: self.object.clone(),
                    id,
                    field: "Id".into(),
                    message: format!("the row carries no {}", self.entity),
                })
            })
    }
}

/// One row read: its record (or why it has none), whether it was deleted, and the cursor right
/// after it.
#[derive(Debug)]
pub struct PolledRow {
    /// The record, or the error naming the field at fault.
    pub record: Result<Record, UnitError>,
    /// `IsDeleted`: a tombstone.
    pub deleted: bool,
    /// Resumes right after this row.
    pub after: PollCursor,
}

/// One batch of rows, and where the pass goes on.
#[derive(Debug)]
pub struct Polled {
    /// The rows, in `SystemModstamp, Id` order.
    pub rows: Vec<PolledRow>,
    /// The locator of the rest of the pass, if any is left.
    pub next: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryAnswer {
    records: Vec<Value>,
    #[serde(default)]
    next_records_url: Option<String>,
}

/// Reads the next batch of `shape` after `cursor`: from its open locator, or by a new query
/// (through `queryAll`, deleted rows included, when `with_deleted`). `batch` is the
/// `batchSize` asked for (Salesforce keeps it within 200–2000).
pub async fn read(
    client: &SalesforceClient,
    names: &Names,
    shape: &Shape,
    cursor: &PollCursor,
    with_deleted: bool,
    batch: usize,
) -> Result<Polled, ConnectorError> {
    let options = format!("batchSize={}", batch.clamp(200, 2000));
    let headers = [("Sforce-Query-Options", options.as_str())];
    let mut answer: Option<QueryAnswer> = None;
    if let Some(locator) = &cursor.next {
        match client
            .call_with::<(), QueryAnswer>(Method::GET, locator, None, &headers)
            .await
        {
            Ok(a) => answer = Some(a),
            // An expired or unknown locator: the stamp and id say where to go on from.
            Err(ConnectorError::Permanent { message, .. }) => {
                tracing::info!(object = %shape.object, %message, "query locator refused: querying again from the cursor");
            }
            Err(e) => return Err(e),
        }
    }
    let answer = match answer {
        Some(a) => a,
        None => {
            let endpoint = if with_deleted { "/queryAll" } else { "/query" };
            let path = format!("{endpoint}?q={}", encode(&shape.query(cursor)));
            client
                .call_with::<(), QueryAnswer>(Method::GET, &path, None, &headers)
                .await?
        }
    };
    let rows = answer
        .records
        .iter()
        .map(|row| PolledRow {
            record: shape.record_of(row, names),
            deleted: row["IsDeleted"].as_bool().unwrap_or(false),
            after: PollCursor {
                stamp: row["SystemModstamp"].as_str().map(str::to_string),
                id: row["Id"].as_str().map(str::to_string),
                next: None,
            },
        })
        .collect();
    Ok(Polled {
        rows,
        next: answer.next_records_url,
    })
}

/// The cursor a finished pass leaves: the last stamp read, less `overlap`, so that a row
/// committed late under an earlier stamp is read again next time. No overlap leaves the exact
/// cursor.
pub fn rewound(last: &PollCursor, overlap: Duration) -> PollCursor {
    let Some(stamp) = last.stamp.as_deref().filter(|_| !overlap.is_zero()) else {
        return PollCursor {
            next: None,
            ..last.clone()
        };
    };
    let parsed = chrono::DateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(stamp));
    match parsed {
        Ok(at) => {
            let back = at - chrono::Duration::from_std(overlap).unwrap_or_default();
            PollCursor {
                stamp: Some(back.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()),
                id: None,
                next: None,
            }
        }
        Err(_) => PollCursor {
            next: None,
            ..last.clone()
        },
    }
}

/// Text in a query string, form-encoded.
pub fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_incremental_query_breaks_ties_by_id_and_quotes_what_it_must() {
        let cursor = PollCursor {
            stamp: Some("2022-03-03T10:53:23.000+0000".into()),
            id: Some("a00'x".into()),
            next: None,
        };
        let shape = Shape::of(&Names::default(), EntityKind::StockPosition).unwrap();
        let q = shape.query(&cursor);
        assert!(q.contains("Product__r.ProductCode"), "{q}");
        assert!(
            q.contains("Inventory_Source_Field__r.Source_Code__c"),
            "{q}"
        );
        assert!(
            q.contains("WHERE SystemModstamp > 2022-03-03T10:53:23.000+0000 OR (SystemModstamp = 2022-03-03T10:53:23.000+0000 AND Id > 'a00\\'x')"),
            "{q}"
        );
        assert!(q.ends_with("ORDER BY SystemModstamp, Id"));
    }

    #[test]
    fn every_msi_kind_has_a_shape_and_other_kinds_none() {
        for entity in EntityKind::ALL {
            let expected = matches!(
                entity,
                EntityKind::StockPosition
                    | EntityKind::InventorySource
                    | EntityKind::InventoryStock
                    | EntityKind::SourceStockLink
                    | EntityKind::StockSalesChannel
            );
            assert_eq!(
                Shape::of(&Names::default(), entity).is_some(),
                expected,
                "{entity}"
            );
        }
    }

    #[test]
    fn a_finished_pass_rewinds_by_the_overlap() {
        let last = PollCursor {
            stamp: Some("2022-03-03T10:53:23.000+0000".into()),
            id: Some("a00".into()),
            next: Some("/services/data/v62.0/query/01g-2000".into()),
        };
        assert_eq!(
            rewound(&last, Duration::from_secs(300)),
            PollCursor {
                stamp: Some("2022-03-03T10:48:23.000+0000".into()),
                id: None,
                next: None,
            }
        );
    }
}
