//! `POST /graphql`: the `inventoryPositions` query (Relay paging) over the inventory store, on a
//! real GraphQL engine (async-graphql). Field names follow Fluent's schema; a page holds at
//! most [`MAX_FIRST`] positions.

use std::sync::{Arc, OnceLock};

use async_graphql::{
    Context, EmptyMutation, EmptySubscription, InputObject, Json as GqlJson, Object, Schema,
    SimpleObject,
};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::auth::refusal;
use super::inventory::StoredQuantity;
use super::Fluent;

/// The largest `first` answered.
pub const MAX_FIRST: usize = 5000;

type FluentSchema = Schema<Query, EmptyMutation, EmptySubscription>;

fn schema() -> &'static FluentSchema {
    static SCHEMA: OnceLock<FluentSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::build(Query, EmptyMutation, EmptySubscription).finish())
}

/// `{ref: "..."}` of a catalogue.
#[derive(InputObject)]
#[graphql(name = "InventoryCatalogueKey")]
struct CatalogueKey {
    #[graphql(name = "ref")]
    reference: String,
}

#[derive(SimpleObject)]
struct PageInfo {
    has_next_page: bool,
    has_previous_page: bool,
}

#[derive(SimpleObject)]
struct InventoryPositionEdge {
    cursor: String,
    node: InventoryPosition,
}

#[derive(SimpleObject)]
struct InventoryPositionConnection {
    edges: Vec<InventoryPositionEdge>,
    page_info: PageInfo,
}

#[derive(SimpleObject)]
struct Attribute {
    name: String,
    #[graphql(name = "type")]
    kind: String,
    value: GqlJson<serde_json::Value>,
}

struct InventoryQuantity(StoredQuantity);

#[Object]
impl InventoryQuantity {
    #[graphql(name = "ref")]
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    #[graphql(name = "type")]
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn quantity(&self) -> i64 {
        self.0.qty
    }
    async fn condition(&self) -> Option<String> {
        self.0
            .attributes
            .get("condition")
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }
    async fn expected_on(&self) -> Option<String> {
        self.0
            .attributes
            .get("expectedOn")
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }
    async fn storage_area_ref(&self) -> Option<String> {
        self.0
            .attributes
            .get("storageAreaRef")
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }
    async fn attributes(&self) -> Vec<Attribute> {
        self.0
            .attributes
            .iter()
            .map(|(name, value)| Attribute {
                name: name.clone(),
                kind: match value {
                    serde_json::Value::String(_) => "STRING",
                    serde_json::Value::Number(_) => "NUMBER",
                    serde_json::Value::Bool(_) => "BOOLEAN",
                    _ => "JSON",
                }
                .into(),
                value: GqlJson(value.clone()),
            })
            .collect()
    }
}

#[derive(SimpleObject)]
struct InventoryQuantityEdge {
    node: InventoryQuantity,
}

#[derive(SimpleObject)]
struct InventoryQuantityConnection {
    edges: Vec<InventoryQuantityEdge>,
}

struct InventoryPosition(StoredQuantity);

#[Object]
impl InventoryPosition {
    #[graphql(name = "ref")]
    async fn reference(&self) -> String {
        format!("{}:{}", self.0.sku_ref, self.0.location_ref)
    }
    #[graphql(name = "type")]
    async fn kind(&self) -> &str {
        "DEFAULT"
    }
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn product_ref(&self) -> &str {
        &self.0.sku_ref
    }
    async fn location_ref(&self) -> &str {
        &self.0.location_ref
    }
    async fn on_hand(&self) -> i64 {
        self.0.qty
    }
    async fn updated_on(&self) -> &str {
        &self.0.updated_on
    }
    async fn quantities(
        &self,
        #[graphql(name = "type")] kinds: Option<Vec<String>>,
    ) -> InventoryQuantityConnection {
        let wanted = kinds.is_none_or(|k| k.contains(&self.0.kind));
        InventoryQuantityConnection {
            edges: if wanted {
                vec![InventoryQuantityEdge {
                    node: InventoryQuantity(self.0.clone()),
                }]
            } else {
                Vec::new()
            },
        }
    }
}

/// The root query.
pub struct Query;

fn cursor_of(q: &StoredQuantity) -> String {
    serde_json::json!([q.location_ref, q.sku_ref]).to_string()
}

#[Object]
impl Query {
    async fn inventory_positions(
        &self,
        ctx: &Context<'_>,
        catalogue: Option<CatalogueKey>,
        location_ref: Option<Vec<String>>,
        product_ref: Option<Vec<String>>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<InventoryPositionConnection> {
        let fluent = ctx.data::<Arc<Fluent>>()?;
        let catalogue = catalogue
            .map(|c| c.reference)
            .unwrap_or_else(|| format!("DEFAULT:{}", fluent.config.retailer_id));
        let after = match after {
            None => None,
            Some(c) => Some(
                serde_json::from_str::<(String, String)>(&c)
                    .map_err(|_| async_graphql::Error::new(format!("invalid cursor `{c}`")))?,
            ),
        };
        let first = first.unwrap_or(100).clamp(1, MAX_FIRST as i32) as usize;
        let (page, more) = fluent.inventory.lock().expect("inventory lock").page(
            &catalogue,
            location_ref.as_deref(),
            product_ref.as_deref(),
            after.clone(),
            first,
        );
        Ok(InventoryPositionConnection {
            edges: page
                .into_iter()
                .map(|q| InventoryPositionEdge {
                    cursor: cursor_of(&q),
                    node: InventoryPosition(q),
                })
                .collect(),
            page_info: PageInfo {
                has_next_page: more,
                has_previous_page: after.is_some(),
            },
        })
    }
}

/// The GraphQL endpoint.
pub async fn graphql(
    State(fluent): State<Arc<Fluent>>,
    headers: HeaderMap,
    Json(request): Json<async_graphql::Request>,
) -> Response {
    if let Some(denied) = refusal(&fluent, &headers) {
        return denied;
    }
    let response = schema().execute(request.data(fluent)).await;
    Json(response).into_response()
}
