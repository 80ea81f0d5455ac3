//! The reconciliation read of Source Items by SOQL: incremental by `SystemModstamp` with `Id`
//! breaking ties (bulk loads share a stamp), one query fetching a whole unit through parent
//! paths (the item's product SKU and source code), and the rows turned into the same sObject
//! shape the managed package pushes, so that both read paths yield the same canonical records
//! through one mapping (`unit`). A pass that reaches the end rewinds its cursor by an overlap
//! window, so that a row committed late, under an earlier stamp, is still read next time; the
//! engine's diff makes the rows read twice free.

use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use syncd_core::model::StockPosition;
use syncd_core::{ConnectorError, Record};

use crate::client::SalesforceClient;
use crate::names::Names;
use crate::sobject::{Children, Field, SObject};
use crate::unit::{Unit, UnitError};

/// Where the read of Source Items stands: after (`stamp`, `id`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollCursor {
    /// The last `SystemModstamp` read (Salesforce's spelling).
    pub stamp: Option<String>,
    /// The last `Id` read at that stamp.
    pub id: Option<String>,
}

/// A custom lookup's relationship name (`Product__c` → `Product__r`).
fn relationship(lookup: &str) -> String {
    match lookup.strip_suffix("__c") {
        Some(base) => format!("{base}__r"),
        None => lookup.trim_end_matches("Id").to_string(),
    }
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The SOQL of one page of Source Items after `cursor`.
pub fn source_items_query(names: &Names, cursor: &PollCursor, limit: usize) -> String {
    let n = names;
    let product = relationship(&n.custom(&n.item_product_lookup));
    let source = relationship(&n.custom(&n.item_source_lookup));
    let mut soql = format!(
        "SELECT Id, SystemModstamp, {quantity}, {status}, {product}.{sku}, {source}.{code} FROM {object}",
        quantity = n.custom(&n.quantity),
        status = n.custom(&n.status),
        sku = n.product_sku,
        code = n.custom(&n.source_code),
        object = n.custom(&n.source_item.object),
    );
    if let Some(stamp) = &cursor.stamp {
        let id = cursor.id.as_deref().unwrap_or("");
        soql.push_str(&format!(
            " WHERE SystemModstamp > {stamp} OR (SystemModstamp = {stamp} AND Id > {})",
            quoted(id)
        ));
    }
    soql.push_str(&format!(" ORDER BY SystemModstamp, Id LIMIT {limit}"));
    soql
}

/// A query row in the shape the package pushes: the item, its Product and Source nested.
fn as_pushed(row: &Value, names: &Names) -> Option<SObject> {
    let mut item = SObject::parse(row, "row").ok()?;
    let n = names;
    let mut nest = |relationship_name: String, object: &str| {
        let parent = item
            .fields
            .iter()
            .position(|(name, _)| *name == relationship_name);
        if let Some(at) = parent {
            let (_, field) = item.fields.remove(at);
            if let Field::Value(value @ Value::Object(_)) = field {
                let mut value = value;
                if value.get("attributes").is_none() {
                    value["attributes"] = serde_json::json!({"type": object});
                }
                if let Ok(parent) = SObject::parse(&value, "row") {
                    item.fields.push((
                        object.to_string(),
                        Field::Children(Children::of(vec![parent])),
                    ));
                }
            }
        }
    };
    nest(
        relationship(&n.custom(&n.item_product_lookup)),
        &n.product.object,
    );
    nest(
        relationship(&n.custom(&n.item_source_lookup)),
        &n.custom(&n.source.object),
    );
    Some(item)
}

/// One page of Source Items as stock positions (or why one cannot be), and the cursor after
/// each; `done` when the object has no more rows.
pub struct PolledPage {
    /// Each row's position or error, with the cursor right after it.
    pub items: Vec<(Result<StockPosition, UnitError>, PollCursor)>,
    /// Whether the read reached the end.
    pub done: bool,
}

/// Reads the Source Items after `cursor`, at most `limit`.
pub async fn source_items(
    client: &SalesforceClient,
    names: &Names,
    cursor: &PollCursor,
    limit: usize,
) -> Result<PolledPage, ConnectorError> {
    let soql = source_items_query(names, cursor, limit);
    let mut path = String::from("/query?q=");
    path.push_str(&encode(&soql));
    let answer: Value = client.call::<(), _>(Method::GET, &path, None).await?;
    let rows = answer["records"].as_array().cloned().unwrap_or_default();
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let after = PollCursor {
            stamp: row["SystemModstamp"].as_str().map(str::to_string),
            id: row["Id"].as_str().map(str::to_string),
        };
        let position = match as_pushed(row, names).and_then(|r| Unit::of(r, names)) {
            Some(unit) => match unit.records(names).into_iter().next() {
                Some(Ok(Record::StockPosition(p))) => Ok(p),
                Some(Err(e)) => Err(e),
                _ => Err(UnitError {
                    object: names.source_item.object.clone(),
                    id: after.id.clone().unwrap_or_default(),
                    field: "Id".into(),
                    message: "the row is no Source Item".into(),
                }),
            },
            None => Err(UnitError {
                object: names.source_item.object.clone(),
                id: after.id.clone().unwrap_or_default(),
                field: "attributes".into(),
                message: "the row is not an sObject record".into(),
            }),
        };
        items.push((position, after));
    }
    Ok(PolledPage {
        done: rows.len() < limit,
        items,
    })
}

/// The cursor a finished pass leaves: the last stamp read, less `overlap`, so that a row
/// committed late under an earlier stamp is read again next time.
pub fn rewound(last: &PollCursor, overlap: Duration) -> PollCursor {
    let Some(stamp) = last.stamp.as_deref() else {
        return last.clone();
    };
    let parsed = chrono::DateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(stamp));
    match parsed {
        Ok(at) => {
            let back = at - chrono::Duration::from_std(overlap).unwrap_or_default();
            PollCursor {
                stamp: Some(back.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()),
                id: None,
            }
        }
        Err(_) => last.clone(),
    }
}

/// SOQL in a query string: what a URL cannot carry, escaped.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_incremental_query_breaks_ties_by_id_and_quotes_what_it_must() {
        let cursor = PollCursor {
            stamp: Some("2022-03-03T10:53:23.000+0000".into()),
            id: Some("a00'x".into()),
        };
        let q = source_items_query(&Names::default(), &cursor, 200);
        assert!(q.contains("Product__r.ProductCode"), "{q}");
        assert!(
            q.contains("Inventory_Source_Field__r.Source_Code__c"),
            "{q}"
        );
        assert!(
            q.contains("WHERE SystemModstamp > 2022-03-03T10:53:23.000+0000 OR (SystemModstamp = 2022-03-03T10:53:23.000+0000 AND Id > 'a00\\'x')"),
            "{q}"
        );
        assert!(q.ends_with("ORDER BY SystemModstamp, Id LIMIT 200"));
    }

    #[test]
    fn a_finished_pass_rewinds_by_the_overlap() {
        let last = PollCursor {
            stamp: Some("2022-03-03T10:53:23.000+0000".into()),
            id: Some("a00".into()),
        };
        assert_eq!(
            rewound(&last, Duration::from_secs(300)),
            PollCursor {
                stamp: Some("2022-03-03T10:48:23.000+0000".into()),
                id: None,
            }
        );
    }
}
