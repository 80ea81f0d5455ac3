//! `POST /graphql`: the `inventoryPositions`, `inventoryPosition` and `inventoryQuantities`
//! queries (Relay paging) over the inventory store, on a real GraphQL engine (async-graphql).
//! Field names follow Fluent's schema; a page holds at most [`MAX_FIRST`] nodes, and a query's
//! complexity (each field 1, a connection's fields times its `first`) may not exceed
//! [`MAX_COMPLEXITY`], as Fluent documents.

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
use super::inventory::{Position, StoredQuantity};
use super::Fluent;

/// The largest `first` answered.
pub const MAX_FIRST: usize = 5000;

/// Fluent's query complexity limit.
pub const MAX_COMPLEXITY: usize = 11_111;

type FluentSchema = Schema<Query, EmptyMutation, EmptySubscription>;

fn schema() -> &'static FluentSchema {
    static SCHEMA: OnceLock<FluentSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .limit_complexity(MAX_COMPLEXITY)
            .finish()
    })
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
    cursor: String,
    node: InventoryQuantity,
}

#[derive(SimpleObject)]
struct InventoryQuantityConnection {
    edges: Vec<InventoryQuantityEdge>,
    page_info: PageInfo,
}

struct InventoryPosition(Position);

impl InventoryPosition {
    fn any(&self) -> &StoredQuantity {
        self.0.any().expect("a stored position holds a quantity")
    }
}

#[Object]
impl InventoryPosition {
    #[graphql(name = "ref")]
    async fn reference(&self) -> String {
        format!("{}:{}", self.any().sku_ref, self.any().location_ref)
    }
    #[graphql(name = "type")]
    async fn kind(&self) -> &str {
        "DEFAULT"
    }
    async fn status(&self) -> &str {
        self.0.status()
    }
    async fn product_ref(&self) -> &str {
        &self.any().sku_ref
    }
    async fn location_ref(&self) -> &str {
        &self.any().location_ref
    }
    async fn on_hand(&self) -> i64 {
        self.0.on_hand()
    }
    async fn updated_on(&self) -> &str {
        &self.any().updated_on
    }
    async fn quantities(
        &self,
        #[graphql(name = "type")] kinds: Option<Vec<String>>,
    ) -> InventoryQuantityConnection {
        let edges = self
            .0
            .quantities
            .values()
            .filter(|q| kinds.as_ref().is_none_or(|k| k.contains(&q.kind)))
            .map(|q| InventoryQuantityEdge {
                cursor: q.reference.clone(),
                node: InventoryQuantity(q.clone()),
            })
            .collect();
        InventoryQuantityConnection {
            edges,
            page_info: PageInfo {
                has_next_page: false,
                has_previous_page: false,
            },
        }
    }
}

/// The root query.
pub struct Query;

fn cursor_of(p: &Position) -> String {
    let q = p.any().expect("a stored position holds a quantity");
    serde_json::json!([q.location_ref, q.sku_ref]).to_string()
}

fn catalogue_or_default(fluent: &Fluent, catalogue: Option<CatalogueKey>) -> String {
    catalogue
        .map(|c| c.reference)
        .unwrap_or_else(|| format!("DEFAULT:{}", fluent.config.retailer_id))
}

fn first_of(first: Option<i32>) -> usize {
    first.unwrap_or(100).clamp(1, MAX_FIRST as i32) as usize
}

#[Object]
impl Query {
    #[graphql(complexity = "first_of(first) * child_complexity")]
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
        let catalogue = catalogue_or_default(fluent, catalogue);
        let after = match after {
            None => None,
            Some(c) => Some(
                serde_json::from_str::<(String, String)>(&c)
                    .map_err(|_| async_graphql::Error::new(format!("invalid cursor `{c}`")))?,
            ),
        };
        let (page, more) = fluent.inventory.lock().expect("inventory lock").page(
            &catalogue,
            location_ref.as_deref(),
            product_ref.as_deref(),
            after.clone(),
            first_of(first),
        );
        Ok(InventoryPositionConnection {
            edges: page
                .into_iter()
                .map(|p| InventoryPositionEdge {
                    cursor: cursor_of(&p),
                    node: InventoryPosition(p),
                })
                .collect(),
            page_info: PageInfo {
                has_next_page: more,
                has_previous_page: after.is_some(),
            },
        })
    }

    /// One position by its ref (`<productRef>:<locationRef>`).
    async fn inventory_position(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "ref")] reference: String,
        catalogue: Option<CatalogueKey>,
    ) -> async_graphql::Result<Option<InventoryPosition>> {
        let fluent = ctx.data::<Arc<Fluent>>()?;
        let catalogue = catalogue_or_default(fluent, catalogue);
        let Some((sku, location)) = reference.rsplit_once(':') else {
            return Ok(None);
        };
        Ok(fluent
            .inventory
            .lock()
            .expect("inventory lock")
            .position(&catalogue, location, sku)
            .map(InventoryPosition))
    }

    /// Quantities by ref and type, across positions.
    #[graphql(complexity = "first_of(first) * child_complexity")]
    async fn inventory_quantities(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "ref")] refs: Option<Vec<String>>,
        #[graphql(name = "type")] kinds: Option<Vec<String>>,
        catalogue: Option<CatalogueKey>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<InventoryQuantityConnection> {
        let fluent = ctx.data::<Arc<Fluent>>()?;
        let catalogue = catalogue_or_default(fluent, catalogue);
        let skip = match &after {
            None => 0,
            Some(c) => c
                .parse::<usize>()
                .map_err(|_| async_graphql::Error::new(format!("invalid cursor `{c}`")))?,
        };
        let (page, more) = fluent.inventory.lock().expect("inventory lock").quantities(
            &catalogue,
            refs.as_deref(),
            kinds.as_deref(),
            skip,
            first_of(first),
        );
        Ok(InventoryQuantityConnection {
            edges: page
                .into_iter()
                .enumerate()
                .map(|(i, q)| InventoryQuantityEdge {
                    cursor: (skip + i + 1).to_string(),
                    node: InventoryQuantity(q),
                })
                .collect(),
            page_info: PageInfo {
                has_next_page: more,
                has_previous_page: skip > 0,
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
