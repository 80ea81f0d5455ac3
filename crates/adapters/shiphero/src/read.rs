//! Reading a warehouse's stock: `warehouse_products`, paged by its Relay connection
//! (`data(first, after)`), incremental by `updated_from`, each product a stock position at the
//! warehouse's canonical location.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use syncd_core::model::StockPosition;
use syncd_core::ConnectorError;

use crate::client::ShipHeroClient;

/// Where a read of the warehouse stands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadCursor {
    /// The pass reads what changed from here (`updated_from`); everything when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_from: Option<String>,
    /// The Relay cursor within the pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The latest `updated_at` the pass has met: the next pass starts there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<String>,
    /// What the products read at `updated_from` held (digests), so that the next pass, which
    /// reads that second again (`updated_from` is inclusive, and a product changed again in
    /// the same second shows the same `updated_at`), passes over those unchanged since.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<String>,
    /// The digests of the products this pass has met at `latest` so far.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub met: Vec<String>,
}

/// The most products whose digests a cursor keeps; past it, the second is read again whole
/// (the engine's diff makes that free, only credits are spent).
const SEEN_LIMIT: usize = 500;

fn digest(node: &Value) -> String {
    let text = format!(
        "{}|{}|{}|{}",
        node["sku"], node["on_hand"], node["allocated"], node["updated_at"]
    );
    format!("{:016x}", xxhash(text.as_bytes()))
}

/// FNV-1a, 64 bits: a stable digest (std's hasher is not stable across releases).
fn xxhash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One page: each product's position (or why not) with the cursor after it, the cursor after
/// the whole page, and whether the pass is over.
pub struct ReadPage {
    /// The positions, in the connection's order.
    pub items: Vec<(Result<StockPosition, String>, ReadCursor)>,
    /// Resumes after the page; once the pass is over, where the next pass starts.
    pub next: ReadCursor,
    /// Whether the connection has no more.
    pub done: bool,
}

fn text(value: &str) -> String {
    serde_json::to_string(value).expect("a string serializes")
}

/// A quantity given as a number or as text ("148").
pub fn quantity(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The position a `warehouse_products` node stands for.
pub fn position_of(node: &Value, location: &str) -> Result<StockPosition, String> {
    let sku = node["sku"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("a warehouse product without a sku: {node}"))?;
    let on_hand = quantity(&node["on_hand"]).ok_or_else(|| {
        format!(
            "sku {sku}: `on_hand` is not a whole number: {}",
            node["on_hand"]
        )
    })?;
    let mut position = StockPosition::new(sku, location, on_hand);
    position.allocated = quantity(&node["allocated"]).unwrap_or(0);
    Ok(position)
}

/// Reads up to `first` products after `cursor` (those of `sku` only, when given).
pub async fn read(
    client: &ShipHeroClient,
    cursor: &ReadCursor,
    first: usize,
    sku: Option<&str>,
) -> Result<ReadPage, ConnectorError> {
    let config = client.config();
    let mut filters = format!("warehouse_id: {}", text(&config.warehouse_id));
    if let Some(from) = &cursor.updated_from {
        filters.push_str(&format!(", updated_from: {}", text(from)));
    }
    if let Some(sku) = sku {
        filters.push_str(&format!(", sku: {}", text(sku)));
    }
    if let Some(customer) = &config.customer_account_id {
        filters.push_str(&format!(", customer_account_id: {}", text(customer)));
    }
    let after = cursor
        .after
        .as_deref()
        .map(|a| format!(", after: {}", text(a)))
        .unwrap_or_default();
    let query = format!(
        "query {{ warehouse_products({filters}) {{ request_id complexity data(first: {first}{after}) {{ pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ sku on_hand allocated available updated_at }} }} }} }} }}"
    );
    let answer = client
        .run("warehouse_products", &query, json!({}), first as u64 + 1)
        .await?;
    let data = &answer["data"];
    let mut latest = cursor.latest.clone();
    // Digests of the products at `latest` (the pass's boundary so far), while they fit.
    let mut boundary: Option<Vec<String>> = Some(cursor.met.clone());
    let mut after_page = cursor.after.clone();
    let mut items = Vec::new();
    for edge in data["edges"].as_array().into_iter().flatten() {
        let node = &edge["node"];
        after_page = edge["cursor"].as_str().map(str::to_string).or(after_page);
        let at = node["updated_at"].as_str().map(str::to_string);
        if let Some(at) = &at {
            if latest.as_deref().is_none_or(|l| at.as_str() > l) {
                latest = Some(at.clone());
                boundary = Some(Vec::new());
            }
        }
        let digest = digest(node);
        if at.is_some() && at == latest {
            if let Some(b) = boundary.as_mut() {
                b.push(digest.clone());
                if b.len() > SEEN_LIMIT {
                    boundary = None;
                }
            }
        }
        // Read at the previous pass's boundary, unchanged since: not a record again.
        if cursor.updated_from.is_some() && cursor.seen.contains(&digest) {
            continue;
        }
        let after = ReadCursor {
            updated_from: cursor.updated_from.clone(),
            after: after_page.clone(),
            latest: latest.clone(),
            seen: cursor.seen.clone(),
            met: Vec::new(),
        };
        items.push((position_of(node, &config.location), after));
    }
    let done = !data["pageInfo"]["hasNextPage"].as_bool().unwrap_or(false);
    let next = match done {
        true => ReadCursor {
            updated_from: latest.clone().or(cursor.updated_from.clone()),
            after: None,
            latest: None,
            // A pass that met nothing new keeps what it knew of the boundary.
            seen: match latest == cursor.updated_from && latest.is_some() {
                true => {
                    let mut seen = cursor.seen.clone();
                    seen.extend(boundary.unwrap_or_default());
                    seen.sort();
                    seen.dedup();
                    seen
                }
                false => boundary.unwrap_or_default(),
            },
            met: Vec::new(),
        },
        false => ReadCursor {
            updated_from: cursor.updated_from.clone(),
            after: after_page,
            latest,
            seen: cursor.seen.clone(),
            met: boundary.unwrap_or_default(),
        },
    };
    Ok(ReadPage { items, next, done })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_product_is_a_position_at_the_warehouse_quantities_as_numbers_or_text() {
        let node = json!({"sku": "A1", "on_hand": "148", "allocated": 3, "updated_at": "2025-02-03T13:19:30+00:00"});
        let p = position_of(&node, "WH1").unwrap();
        assert_eq!(
            (p.sku.as_str(), p.location.as_str(), p.on_hand, p.allocated),
            ("A1", "WH1", 148, 3)
        );
        let bad = json!({"sku": "A1", "on_hand": "lots"});
        assert!(position_of(&bad, "WH1").unwrap_err().contains("on_hand"));
    }
}
