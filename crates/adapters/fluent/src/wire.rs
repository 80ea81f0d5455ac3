//! Fluent's JSON: batch bodies, batch status, and the GraphQL read-back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use syncd_core::model::{StockPosition, StockStatus};

use crate::config::FluentConfig;

/// `{"id": "..."}`.
#[derive(Debug, Deserialize)]
pub struct Created {
    pub id: String,
}

/// `POST /api/v4.1/job`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewJob {
    pub name: String,
    pub retailer_id: String,
    pub meta: serde_json::Value,
}

/// One inventory entity of a batch.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    pub location_ref: String,
    pub sku_ref: String,
    pub qty: i64,
    pub corrected_qty: i64,
    pub retailer_id: u64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "ref")]
    pub reference: String,
    pub status: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, serde_json::Value>,
}

impl Entity {
    /// The entity for `p`. Canonical attributes (Fluent's recommended keys and any other) are
    /// passed through, their dates in the recommended `YYYY-MM-DDTHH:MM:SSZ`; the correction is
    /// the source's when it has one (0, Fluent's default, otherwise).
    pub fn of(p: &StockPosition, config: &FluentConfig) -> Self {
        Entity {
            location_ref: p.location.clone(),
            sku_ref: p.sku.clone(),
            qty: p.on_hand,
            corrected_qty: p.corrected.unwrap_or(0),
            retailer_id: config.retailer_id,
            kind: config.inventory_type.clone(),
            reference: config.record_ref(&p.sku, &p.location),
            status: match p.status {
                StockStatus::Active => "ACTIVE",
                StockStatus::Inactive => "INACTIVE",
            }
            .into(),
            attributes: crate::dates::normalised(&p.attributes),
        }
    }
}

/// `POST /api/v4.1/job/{id}/batch`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewBatch<'a> {
    pub action: &'static str,
    pub entity_type: &'static str,
    pub source: &'a str,
    pub event: &'a str,
    pub catalogue_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Conditions>,
    pub entities: Vec<Entity>,
}

/// A batch's `conditions`: the transient quantities Batch Pre-Processing checks.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conditions {
    pub has_related_inventory_quantities: Vec<crate::config::RelatedQuantity>,
}

/// `GET /api/v4.1/job/{id}`.
#[derive(Debug, Deserialize)]
pub struct JobStatus {
    /// `OPEN` or `CLOSED`.
    pub status: String,
    /// The job's batches.
    #[serde(default)]
    pub batch: Vec<JobBatch>,
}

/// One of a job's batches, as `GET /job/{id}` lists them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobBatch {
    pub batch_id: String,
}

/// `GET /api/v4.1/job/{id}/batch/{batchId}?start=&count=`: the batch and one page of results.
#[derive(Debug, Deserialize)]
pub struct BatchStatus {
    pub status: String,
    /// How many results the batch has in all.
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub results: Vec<RecordStatus>,
}

/// One of `results[]`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordStatus {
    #[serde(default)]
    pub entity_ref: String,
    pub response_code: u16,
    #[serde(default)]
    pub message: String,
}

/// The read-back query: positions with their quantity of the configured type.
pub const POSITIONS_QUERY: &str = r#"query Positions($catalogue: String!, $first: Int!, $after: String, $types: [String]) {
  inventoryPositions(catalogue: {ref: $catalogue}, first: $first, after: $after) {
    pageInfo { hasNextPage }
    edges {
      cursor
      node {
        productRef
        locationRef
        status
        onHand
        quantities(type: $types) { edges { node { type status quantity attributes { name value } } } }
      }
    }
  }
}"#;

/// The read-back of written records: their quantities, by ref.
pub const QUANTITIES_QUERY: &str = r#"query Quantities($catalogue: String!, $refs: [String], $types: [String], $first: Int!, $after: String) {
  inventoryQuantities(catalogue: {ref: $catalogue}, ref: $refs, type: $types, first: $first, after: $after) {
    pageInfo { hasNextPage }
    edges { cursor node { ref type status quantity } }
  }
}"#;

/// A GraphQL answer: `data` of the query's shape, or `errors`.
#[derive(Debug, Deserialize)]
#[serde(bound = "T: serde::de::DeserializeOwned")]
pub struct GraphqlAnswer<T = PositionsData> {
    #[serde(default)]
    pub data: Option<T>,
    #[serde(default)]
    pub errors: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuantitiesData {
    pub inventory_quantities: QuantityPage,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuantityPage {
    pub page_info: PageInfo,
    pub edges: Vec<QuantityRefEdge>,
}

#[derive(Debug, Deserialize)]
pub struct QuantityRefEdge {
    pub cursor: String,
    pub node: QuantityRef,
}

/// A quantity as the read-back gives it.
#[derive(Debug, Deserialize)]
pub struct QuantityRef {
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(default)]
    pub status: Option<String>,
    pub quantity: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionsData {
    pub inventory_positions: Connection,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub page_info: PageInfo,
    pub edges: Vec<Edge>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub has_next_page: bool,
}

#[derive(Debug, Deserialize)]
pub struct Edge {
    pub cursor: String,
    pub node: PositionNode,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionNode {
    pub product_ref: String,
    pub location_ref: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub on_hand: Option<i64>,
    #[serde(default)]
    pub quantities: Option<QuantityConnection>,
}

#[derive(Debug, Deserialize)]
pub struct QuantityConnection {
    pub edges: Vec<QuantityEdge>,
}

#[derive(Debug, Deserialize)]
pub struct QuantityEdge {
    pub node: QuantityNode,
}

#[derive(Debug, Deserialize)]
pub struct QuantityNode {
    #[serde(default)]
    pub status: Option<String>,
    pub quantity: i64,
    #[serde(default)]
    pub attributes: Vec<AttributeNode>,
}

#[derive(Debug, Deserialize)]
pub struct AttributeNode {
    pub name: String,
    pub value: serde_json::Value,
}

impl PositionNode {
    /// The canonical position: the quantity of the configured type when the position has one
    /// (what batches wrote), its `onHand` otherwise.
    pub fn into_position(self) -> StockPosition {
        let quantity = self
            .quantities
            .and_then(|q| q.edges.into_iter().next())
            .map(|e| e.node);
        let status = quantity
            .as_ref()
            .and_then(|q| q.status.clone())
            .or(self.status);
        let mut p = StockPosition::new(
            self.product_ref,
            self.location_ref,
            quantity
                .as_ref()
                .map(|q| q.quantity)
                .or(self.on_hand)
                .unwrap_or(0),
        );
        if status.as_deref() == Some("INACTIVE") {
            p.status = StockStatus::Inactive;
        }
        if let Some(q) = quantity {
            p.attributes = q
                .attributes
                .into_iter()
                .map(|a| (a.name, a.value))
                .collect();
        }
        p
    }
}

/// The seed's own examples (`fixtures/seeds/004`, copied verbatim from seed 004) against our
/// wire types: what Fluent documents must parse, and what we send must have Fluent's shape.
#[cfg(test)]
mod seed_examples {
    use super::*;

    fn seed(name: &str) -> serde_json::Value {
        syncd_testkit::seed_json("004", name)
    }

    fn config() -> FluentConfig {
        serde_json::from_value(serde_json::json!({
            "base_url": "http://127.0.0.1:1",
            "account": "ACME",
            "retailer_id": 2,
            "client_id": "c",
            "client_secret": "s",
            "username": "u",
            "password": "p",
            "catalogue_ref": "FUTURE:2",
            "inventory_type": "FUTURE",
        }))
        .unwrap()
    }

    #[test]
    fn the_seeds_create_answers_give_the_job_and_batch_ids() {
        // Seed 004, "Create Job" and "Create Batch": the response is `{"id": "..."}`.
        let job: Created = serde_json::from_value(seed("create_job.response.txt")).unwrap();
        let batch: Created = serde_json::from_value(seed("create_batch.response.txt")).unwrap();
        assert_eq!((job.id.as_str(), batch.id.as_str()), ("199", "331"));
    }

    #[test]
    fn the_seeds_complete_batch_status_reads_as_complete_with_no_failures() {
        // Seed 004, "Get Batch Status": a COMPLETE batch with `start`, `count`, `total` and
        // an empty `results`.
        let status: BatchStatus =
            serde_json::from_value(seed("batch_status.complete.response.txt")).unwrap();
        assert_eq!(status.status, "COMPLETE");
        assert!(status.results.is_empty());
    }

    #[test]
    fn a_rendered_entity_has_the_fields_of_the_seeds_batch_entity() {
        // Seed 004, "Create Batch": the request body's entity. Ours is built from a position
        // holding the same values.
        let request = seed("create_batch.request.txt");
        let theirs = &request["entities"][0];
        let attributes: BTreeMap<String, serde_json::Value> =
            serde_json::from_value(theirs["attributes"].clone()).unwrap();
        let position = StockPosition {
            sku: "D45".into(),
            location: "LOC_MEL".into(),
            on_hand: 350,
            allocated: 0,
            corrected: Some(0),
            status: StockStatus::Active,
            attributes,
        };
        let ours = serde_json::to_value(Entity::of(&position, &config())).unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v.as_object().unwrap().keys().cloned().collect()
        };
        assert_eq!(keys(&ours), keys(theirs), "the entity's field names");
        for field in [
            "locationRef",
            "skuRef",
            "qty",
            "correctedQty",
            "retailerId",
            "type",
            "status",
        ] {
            assert_eq!(ours[field], theirs[field], "{field}");
        }
        // "Recommended date format is ISO 8601" (`YYYY-MM-DDTHH:MM:SSZ`): the seed's
        // `2024-10-31T00:00:00.00Z` goes out as `2024-10-31T00:00:00Z`; other values as given.
        let mut expected = theirs["attributes"].clone();
        expected["expectedOn"] = "2024-10-31T00:00:00Z".into();
        expected["expiryDate"] = "2025-12-31T23:59:59Z".into();
        expected["manufacturingBatchInfo"]["productionDate"] = "2024-01-15T00:00:00Z".into();
        assert_eq!(ours["attributes"], expected);
    }

    #[test]
    fn the_seeds_batch_with_its_conditions_renders_them_as_sent() {
        // Seed 004, "Create Batch": `conditions.hasRelatedInventoryQuantities`.
        let request = seed("create_batch.request.txt");
        let related: Vec<crate::config::RelatedQuantity> =
            serde_json::from_value(request["conditions"]["hasRelatedInventoryQuantities"].clone())
                .unwrap();
        let ours = serde_json::to_value(NewBatch {
            action: "UPSERT",
            entity_type: "INVENTORY",
            source: "SAP_ERP",
            event: "InventoryChanged",
            catalogue_ref: "FUTURE:2".into(),
            conditions: Some(Conditions {
                has_related_inventory_quantities: related,
            }),
            entities: Vec::new(),
        })
        .unwrap();
        assert_eq!(ours["conditions"], request["conditions"]);
    }

    #[test]
    fn a_rendered_batch_has_the_seeds_top_level_fields() {
        let request = seed("create_batch.request.txt");
        let config = config();
        let ours = serde_json::to_value(NewBatch {
            action: "UPSERT",
            entity_type: "INVENTORY",
            source: "SAP_ERP",
            event: "InventoryChanged",
            catalogue_ref: config.catalogue(),
            conditions: None,
            entities: Vec::new(),
        })
        .unwrap();
        for field in ["action", "entityType", "source", "event", "catalogueRef"] {
            assert_eq!(ours[field], request[field], "{field}");
        }
    }
}

/// Fluent's answers as the client reads them, fuzzed: any bytes, and the seed's COMPLETE batch
/// with its results replaced by any entries, parse or fail with an error, never a panic; a
/// result with a code that is not a 16-bit number is refused, not truncated.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(syncd_testkit::fuzz_cases()))]

        #[test]
        fn any_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = serde_json::from_slice::<Created>(&bytes);
            let _ = serde_json::from_slice::<BatchStatus>(&bytes);
            let _ = serde_json::from_slice::<GraphqlAnswer>(&bytes);
        }

        #[test]
        fn a_complete_batch_with_any_results_keeps_each_code_whole(
            results in proptest::collection::vec(
                (".{0,16}", any::<i64>(), ".{0,16}"),
                0..8,
            ),
        ) {
            let body = serde_json::json!({
                "batchId": "331",
                "entityType": "INVENTORY",
                "status": "COMPLETE",
                "start": 1,
                "count": 10,
                "total": results.len(),
                "results": results
                    .iter()
                    .map(|(r, code, message)| serde_json::json!({
                        "entityRef": r, "responseCode": code, "message": message
                    }))
                    .collect::<Vec<_>>(),
                "createdOn": "2022-10-06T00:36:09.344+0000"
            });
            let all_fit = results.iter().all(|(_, code, _)| u16::try_from(*code).is_ok());
            match serde_json::from_value::<BatchStatus>(body) {
                Ok(status) => {
                    prop_assert!(all_fit);
                    for (parsed, (_, code, _)) in status.results.iter().zip(&results) {
                        prop_assert_eq!(i64::from(parsed.response_code), *code);
                    }
                }
                Err(_) => prop_assert!(!all_fit),
            }
        }
    }
}
