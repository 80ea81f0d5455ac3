//! Fluent's JSON bodies, field for field.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

/// The attribute keys Fluent recommends; any other key is passed through as well.
pub const FLUENT_ATTRIBUTE_KEYS: [&str; 12] = [
    "expectedOn",
    "storageAreaRef",
    "condition",
    "countryOfOrigin",
    "expiryDate",
    "supplierId",
    "unitOfMeasurement",
    "serialNumber",
    "purchaseOrderNumber",
    "transferFrom",
    "inventoryPurpose",
    "manufacturingBatchInfo",
];

/// `POST /api/v4.1/job`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewJob {
    pub name: Option<String>,
    pub retailer_id: serde_json::Value,
    #[serde(default)]
    pub meta: Option<serde_json::Value>,
}

/// `POST /api/v4.1/job/{id}/batch`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewBatch {
    pub action: String,
    pub entity_type: String,
    #[serde(default)]
    pub catalogue_ref: Option<String>,
    #[serde(default)]
    pub conditions: Option<Conditions>,
    pub entities: Vec<serde_json::Value>,
}

/// A batch's `conditions`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conditions {
    /// Transient quantity types and statuses checked in de-duplication.
    #[serde(default)]
    pub has_related_inventory_quantities: Vec<super::inventory::Related>,
}

/// One inventory entity of a batch.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    pub location_ref: String,
    pub sku_ref: String,
    pub qty: i64,
    #[serde(default)]
    pub corrected_qty: Option<i64>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default, rename = "ref")]
    pub reference: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    pub retailer_id: serde_json::Value,
    #[serde(default)]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

/// One item of a batch's `results[]` (BatchRecordStatus).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordStatus {
    pub entity_id: String,
    pub entity_ref: String,
    pub response_code: u16,
    pub message: String,
}

/// `{"id": "..."}`.
#[derive(Debug, Serialize)]
pub struct Created {
    pub id: String,
}

/// Fluent's REST error answer.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(serde_json::json!({
            "errors": [{"code": status.as_u16().to_string(), "message": message.into()}]
        })),
    )
        .into_response()
}

/// The time format of Fluent's answers (`2022-10-06T00:31:08.104+0000`).
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}
