//! `POST /graphql` (and `/graphql/`): ShipHero's schema subset on a real GraphQL engine
//! (async-graphql), so any spec-compliant client works (variables, fragments, introspection).
//! Root query fields answer `{request_id complexity data}`, mutations
//! `{request_id complexity <payload>}`; lists are Relay connections inside `data(first, after,
//! last, before)`. Every root field is charged its complexity from the credit bucket first.

use std::sync::{Arc, OnceLock};

use async_graphql::{
    Context, EmptySubscription, Enum, Error, ErrorExtensions, InputObject, InputValueError,
    InputValueResult, Object, Scalar, ScalarType, Schema, SimpleObject, Value,
};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};

use super::auth::refusal;
use super::ids::{self, format_time, global_id, hex_id, parse_global_id, parse_time};
use super::store::{Store, WarehouseProduct};
use super::sync::{self, Item, SyncRecord};
use super::webhooks::{self, Event, Hook};
use super::ShipHero;

/// Page size when `first`/`last` are absent (the seed's items query without `first` costs 101).
pub const DEFAULT_FIRST: u64 = 100;

/// Error codes of `errors[].code`.
pub mod code {
    /// Not enough credits (the documented one).
    pub const CREDITS: i32 = 30;
    /// An id or SKU that does not exist.
    pub const NOT_FOUND: i32 = 5;
    /// An argument out of range.
    pub const INVALID: i32 = 6;
    /// A state that forbids the operation (abort after success, duplicate webhook).
    pub const CONFLICT: i32 = 9;
}

type ShipHeroSchema = Schema<Query, Mutation, EmptySubscription>;

fn schema() -> &'static ShipHeroSchema {
    static SCHEMA: OnceLock<ShipHeroSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| Schema::build(Query, Mutation, EmptySubscription).finish())
}

/// ShipHero's datetime scalar: answers `2019-10-07T16:39:23+00:00`, takes ISO 8601.
#[derive(Clone, Copy, Debug)]
pub struct IsoDateTime(pub DateTime<Utc>);

#[Scalar(name = "ISODateTime")]
impl ScalarType for IsoDateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => parse_time(s)
                .map(IsoDateTime)
                .ok_or_else(|| InputValueError::custom(format!("invalid datetime \"{s}\""))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(format_time(&self.0))
    }
}

/// The root field being answered: its name and request id, for errors.
struct Op {
    sh: Arc<ShipHero>,
    field: &'static str,
    request_id: String,
    complexity: u64,
}

impl Op {
    fn error(&self, code: i32, message: impl Into<String>) -> Error {
        let (field, request_id) = (self.field, self.request_id.clone());
        Error::new(message).extend_with(|_, e| {
            e.set("code", code);
            e.set("operation", field);
            e.set("field", field);
            e.set("request_id", request_id);
        })
    }

    fn warehouse(&self, id: &str) -> async_graphql::Result<u64> {
        let legacy = parse_global_id(id)
            .filter(|(kind, _)| kind.is_empty() || kind == "Warehouse")
            .map(|(_, n)| n);
        match legacy {
            Some(n)
                if self
                    .sh
                    .store
                    .lock()
                    .expect("store lock")
                    .warehouse(n)
                    .is_some() =>
            {
                Ok(n)
            }
            _ => Err(self.error(
                code::NOT_FOUND,
                format!("Warehouse with id \"{id}\" not found"),
            )),
        }
    }
}

/// The `first` (or `last`) the query asks of `data`, else [`DEFAULT_FIRST`].
fn requested_page(ctx: &Context<'_>) -> u64 {
    for field in ctx.look_ahead().field("data").selection_fields() {
        if let Ok(args) = field.arguments() {
            for (name, value) in args {
                if name.as_str() == "first" || name.as_str() == "last" {
                    if let Value::Number(n) = value {
                        return n.as_u64().unwrap_or(0);
                    }
                }
            }
        }
    }
    DEFAULT_FIRST
}

/// Starts a root field: charges `cost` unless `analyze`.
fn begin(
    ctx: &Context<'_>,
    field: &'static str,
    cost: u64,
    analyze: bool,
) -> async_graphql::Result<Op> {
    let sh = ctx.data::<Arc<ShipHero>>()?.clone();
    let op = Op {
        sh,
        field,
        request_id: hex_id(),
        complexity: cost,
    };
    if analyze {
        return Ok(op);
    }
    let spent = op.sh.credits.lock().expect("credits lock").spend(cost);
    if let Err(short) = spent {
        let seconds = short.seconds;
        let remaining = short.remaining;
        return Err(op
            .error(code::CREDITS, short.message())
            .extend_with(|_, e| {
                e.set("required_credits", cost);
                e.set("remaining_credits", remaining);
                e.set("time_remaining", format!("{seconds} seconds"));
            }));
    }
    Ok(op)
}

/// A connection query's cost: 1 + the page asked for.
fn connection_cost(ctx: &Context<'_>) -> u64 {
    1 + requested_page(ctx)
}

// ---------------------------------------------------------------------------------------------
// Paging.

/// Relay page info.
#[derive(SimpleObject, Clone)]
pub struct PageInfo {
    has_next_page: bool,
    has_previous_page: bool,
    start_cursor: Option<String>,
    end_cursor: Option<String>,
}

fn cursor(i: usize) -> String {
    ids::encode(format!("arrayconnection:{i}").as_bytes())
}

fn parse_cursor(c: &str) -> Option<usize> {
    String::from_utf8(ids::decode(c)?)
        .ok()?
        .strip_prefix("arrayconnection:")?
        .parse()
        .ok()
}

type Paged<T> = (Vec<(String, T)>, PageInfo);

fn page<T: Clone>(
    items: &[T],
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> async_graphql::Result<Paged<T>> {
    let bad = |c: &str| Error::new(format!("invalid cursor \"{c}\""));
    let mut start = 0;
    let mut end = items.len();
    if let Some(c) = &after {
        start = (parse_cursor(c).ok_or_else(|| bad(c))? + 1).min(end);
    }
    if let Some(c) = &before {
        end = parse_cursor(c).ok_or_else(|| bad(c))?.clamp(start, end);
    }
    let (from, to) = match (first, last) {
        (_, Some(l)) if first.is_none() => (end.saturating_sub(l.max(0) as usize).max(start), end),
        (f, _) => {
            let n = f.map_or(DEFAULT_FIRST as usize, |f| f.max(0) as usize);
            (start, (start + n).min(end))
        }
    };
    let edges: Vec<(String, T)> = (from..to).map(|i| (cursor(i), items[i].clone())).collect();
    let info = PageInfo {
        has_next_page: to < end,
        has_previous_page: from > start || from > 0 && after.is_some(),
        start_cursor: edges.first().map(|e| e.0.clone()),
        end_cursor: edges.last().map(|e| e.0.clone()),
    };
    Ok((edges, info))
}

/// A Relay connection type, its edge type, and a `{request_id complexity data(...)}` wrapper.
macro_rules! connection {
    ($result:ident, $conn:ident, $edge:ident, $node:ident) => {
        #[derive(SimpleObject)]
        pub struct $edge {
            cursor: String,
            node: $node,
        }

        #[derive(SimpleObject)]
        pub struct $conn {
            page_info: PageInfo,
            edges: Vec<$edge>,
        }

        pub struct $result {
            request_id: String,
            complexity: u64,
            items: Option<Vec<$node>>,
        }

        #[Object(rename_fields = "snake_case", rename_args = "snake_case")]
        impl $result {
            async fn request_id(&self) -> &str {
                &self.request_id
            }
            async fn complexity(&self) -> u64 {
                self.complexity
            }
            async fn data(
                &self,
                first: Option<i32>,
                after: Option<String>,
                last: Option<i32>,
                before: Option<String>,
                sort: Option<String>,
            ) -> async_graphql::Result<Option<$conn>> {
                let _ = sort;
                let Some(items) = &self.items else {
                    return Ok(None);
                };
                let (edges, page_info) = page(items, first, after, last, before)?;
                Ok(Some($conn {
                    page_info,
                    edges: edges
                        .into_iter()
                        .map(|(cursor, node)| $edge { cursor, node })
                        .collect(),
                }))
            }
        }

        impl $result {
            fn of(op: &Op, items: Option<Vec<$node>>) -> Self {
                $result {
                    request_id: op.request_id.clone(),
                    complexity: op.complexity,
                    items,
                }
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Objects.

/// A warehouse's inventory of one SKU.
#[derive(SimpleObject, Clone)]
#[graphql(name = "WarehouseProduct", rename_fields = "snake_case")]
pub struct WarehouseProductNode {
    id: String,
    legacy_id: u64,
    account_id: String,
    sku: String,
    warehouse_id: String,
    warehouse_identifier: String,
    on_hand: i64,
    allocated: i64,
    available: i64,
    backorder: i64,
    reserve_inventory: i64,
    non_sellable_quantity: i64,
    sell_ahead: i64,
    inventory_bin: Option<String>,
    active: bool,
    customer_account_id: Option<String>,
    created_at: IsoDateTime,
    updated_at: IsoDateTime,
}

fn warehouse_product(sh: &ShipHero, store: &Store, wp: &WarehouseProduct) -> WarehouseProductNode {
    WarehouseProductNode {
        id: global_id("WarehouseProduct", wp.legacy_id),
        legacy_id: wp.legacy_id,
        account_id: sh.account_uuid(),
        sku: wp.sku.clone(),
        warehouse_id: global_id("Warehouse", wp.warehouse),
        warehouse_identifier: store
            .warehouse(wp.warehouse)
            .map(|w| w.identifier.clone())
            .unwrap_or_default(),
        on_hand: wp.on_hand,
        allocated: wp.allocated,
        available: wp.available(),
        backorder: wp.backorder,
        reserve_inventory: wp.reserve_inventory,
        non_sellable_quantity: wp.non_sellable_quantity,
        sell_ahead: wp.sell_ahead,
        inventory_bin: None,
        active: wp.active,
        customer_account_id: None,
        created_at: IsoDateTime(wp.created_at),
        updated_at: IsoDateTime(wp.updated_at),
    }
}

/// A product of the account.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Product", rename_fields = "snake_case")]
pub struct ProductNode {
    id: String,
    legacy_id: u64,
    account_id: String,
    sku: String,
    name: String,
    warehouse_products: Vec<WarehouseProductNode>,
}

/// A warehouse.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Warehouse", rename_fields = "snake_case")]
pub struct WarehouseNode {
    id: String,
    legacy_id: u64,
    account_id: String,
    identifier: String,
}

/// The account.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Account", rename_fields = "snake_case")]
pub struct AccountNode {
    id: String,
    legacy_id: u64,
    email: String,
    username: String,
    status: String,
    dynamic_slotting: bool,
    is_3pl: bool,
    warehouses: Vec<WarehouseNode>,
}

/// An inventory sync batch.
#[derive(SimpleObject, Clone)]
#[graphql(name = "InventorySyncStatus", rename_fields = "snake_case")]
pub struct InventorySyncStatusNode {
    id: String,
    url: String,
    user_id: String,
    account_id: String,
    warehouse_id: String,
    customer_account_id: Option<String>,
    total_count: i64,
    success_count: i64,
    error_count: i64,
    finished_count: i64,
    status: String,
    error: Option<String>,
    created_at: IsoDateTime,
    updated_at: IsoDateTime,
}

fn sync_status(sh: &ShipHero, s: &SyncRecord) -> InventorySyncStatusNode {
    InventorySyncStatusNode {
        id: s.id.clone(),
        url: s.url.clone(),
        user_id: sh.user_uuid(),
        account_id: sh.account_uuid(),
        warehouse_id: global_id("Warehouse", s.warehouse),
        customer_account_id: s.customer_account_id.clone(),
        total_count: s.total_count,
        success_count: s.success_count,
        error_count: s.error_count,
        finished_count: s.finished_count(),
        status: s.status.clone(),
        error: s.error.clone(),
        created_at: IsoDateTime(s.created_at),
        updated_at: IsoDateTime(s.updated_at),
    }
}

/// One CSV row of a sync.
#[derive(SimpleObject, Clone)]
#[graphql(name = "InventorySyncRowStatus", rename_fields = "snake_case")]
pub struct InventorySyncRowNode {
    id: String,
    row: i64,
    sku: String,
    quantity: Option<i64>,
    action: String,
    reason: String,
    location: Option<i64>,
    status: String,
    error: Option<String>,
    created_at: IsoDateTime,
    updated_at: IsoDateTime,
}

fn sync_row(item: &Item) -> InventorySyncRowNode {
    InventorySyncRowNode {
        id: item.id.clone(),
        row: item.row,
        sku: item.sku.clone(),
        quantity: item.quantity,
        action: item.action.clone(),
        reason: item.reason.clone(),
        location: item.location,
        status: item.status.clone(),
        error: item.error.clone(),
        created_at: IsoDateTime(item.created_at),
        updated_at: IsoDateTime(item.updated_at),
    }
}

/// One on_hand change.
#[derive(SimpleObject, Clone)]
#[graphql(name = "InventoryChange", rename_fields = "snake_case")]
pub struct InventoryChangeNode {
    user_id: String,
    account_id: String,
    warehouse_id: String,
    sku: String,
    previous_on_hand: i64,
    change_in_on_hand: i64,
    reason: String,
    location_id: Option<String>,
    created_at: IsoDateTime,
}

/// A webhook; `shared_signature_secret` only in `webhook_create`'s answer.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Webhook", rename_fields = "snake_case")]
pub struct WebhookNode {
    id: String,
    legacy_id: u64,
    account_id: String,
    shop_name: String,
    name: String,
    url: String,
    source: String,
    shared_signature_secret: Option<String>,
}

fn webhook(sh: &ShipHero, hook: &Hook, with_secret: bool) -> WebhookNode {
    WebhookNode {
        id: global_id("Webhook", hook.legacy_id),
        legacy_id: hook.legacy_id,
        account_id: sh.account_uuid(),
        shop_name: hook.shop_name.clone(),
        name: hook.name.clone(),
        url: hook.url.clone(),
        source: "api".into(),
        shared_signature_secret: with_secret.then(|| hook.secret.clone()),
    }
}

/// `{id legacy_id}` of `uuid`.
#[derive(SimpleObject, Clone)]
#[graphql(name = "LegacyId", rename_fields = "snake_case")]
pub struct LegacyIdNode {
    id: String,
    legacy_id: u64,
}

/// The user's credits.
#[derive(SimpleObject)]
#[graphql(name = "UserQuota", rename_fields = "snake_case")]
pub struct UserQuota {
    credits_remaining: u64,
    max_available: u64,
    increment_rate: u64,
}

/// What `uuid` converts.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "PascalCase")]
pub enum EntityType {
    Account,
    User,
    Warehouse,
    Product,
    WarehouseProduct,
    Order,
    LineItem,
    Shipment,
    Return,
    PurchaseOrder,
    Vendor,
    Location,
    Webhook,
}

impl EntityType {
    fn type_name(self) -> &'static str {
        match self {
            EntityType::Account => "Account",
            EntityType::User => "User",
            EntityType::Warehouse => "Warehouse",
            EntityType::Product => "ProductInfo",
            EntityType::WarehouseProduct => "WarehouseProduct",
            EntityType::Order => "Order",
            EntityType::LineItem => "LineItem",
            EntityType::Shipment => "Shipment",
            EntityType::Return => "Return",
            EntityType::PurchaseOrder => "PurchaseOrder",
            EntityType::Vendor => "Vendor",
            EntityType::Location => "Location",
            EntityType::Webhook => "Webhook",
        }
    }
}

macro_rules! single_result {
    ($result:ident, $node:ident) => {
        #[derive(SimpleObject)]
        #[graphql(rename_fields = "snake_case")]
        pub struct $result {
            request_id: String,
            complexity: u64,
            data: Option<$node>,
        }

        impl $result {
            fn of(op: &Op, data: Option<$node>) -> Self {
                $result {
                    request_id: op.request_id.clone(),
                    complexity: op.complexity,
                    data,
                }
            }
        }
    };
}

single_result!(AccountQueryResult, AccountNode);
single_result!(ProductQueryResult, ProductNode);
single_result!(LegacyIdQueryResult, LegacyIdNode);
single_result!(InventorySyncStatusQueryResult, InventorySyncStatusNode);

connection!(
    WarehouseProductsQueryResult,
    WarehouseProductConnection,
    WarehouseProductEdge,
    WarehouseProductNode
);
connection!(
    InventorySyncStatusesQueryResult,
    InventorySyncStatusConnection,
    InventorySyncStatusEdge,
    InventorySyncStatusNode
);
connection!(
    InventorySyncItemsStatusQueryResult,
    InventorySyncRowStatusConnection,
    InventorySyncRowStatusEdge,
    InventorySyncRowNode
);
connection!(
    InventoryChangesQueryResult,
    InventoryChangeConnection,
    InventoryChangeEdge,
    InventoryChangeNode
);
/// A bin (no quantities: `locations` returns bins without them).
#[derive(SimpleObject, Clone)]
#[graphql(name = "Location", rename_fields = "snake_case")]
pub struct LocationNode {
    id: String,
    legacy_id: u64,
    account_id: String,
    warehouse_id: String,
    name: String,
    zone: String,
    pickable: bool,
    sellable: bool,
}

connection!(
    LocationsQueryResult,
    LocationConnection,
    LocationEdge,
    LocationNode
);
connection!(
    WebhooksQueryResult,
    WebhookConnection,
    WebhookEdge,
    WebhookNode
);

// ---------------------------------------------------------------------------------------------
// Queries.

/// The root query.
pub struct Query;

#[Object(rename_fields = "snake_case", rename_args = "snake_case")]
impl Query {
    /// The user's credits (free).
    async fn user_quota(&self, ctx: &Context<'_>) -> async_graphql::Result<UserQuota> {
        let sh = ctx.data::<Arc<ShipHero>>()?;
        let mut bucket = sh.credits.lock().expect("credits lock");
        let (max_available, increment_rate) = bucket.limits();
        Ok(UserQuota {
            credits_remaining: bucket.remaining(),
            max_available,
            increment_rate,
        })
    }

    /// The account and its warehouses.
    async fn account(
        &self,
        ctx: &Context<'_>,
        analyze: Option<bool>,
    ) -> async_graphql::Result<Option<AccountQueryResult>> {
        let analyze = analyze.unwrap_or(false);
        let op = begin(ctx, "account", 1, analyze)?;
        if analyze {
            return Ok(Some(AccountQueryResult::of(&op, None)));
        }
        let sh = &op.sh;
        let store = sh.store.lock().expect("store lock");
        let account = AccountNode {
            id: sh.account_uuid(),
            legacy_id: sh.config.account_id,
            email: sh.config.username.clone(),
            username: sh.config.username.clone(),
            status: "active".into(),
            dynamic_slotting: sh.config.dynamic_slotting,
            is_3pl: false,
            warehouses: store
                .warehouses
                .iter()
                .map(|w| WarehouseNode {
                    id: global_id("Warehouse", w.legacy_id),
                    legacy_id: w.legacy_id,
                    account_id: sh.account_uuid(),
                    identifier: w.identifier.clone(),
                })
                .collect(),
        };
        Ok(Some(AccountQueryResult::of(&op, Some(account))))
    }

    /// Inventory per warehouse and SKU, filtered; `updated_from` drives incremental reads.
    #[allow(clippy::too_many_arguments)]
    async fn warehouse_products(
        &self,
        ctx: &Context<'_>,
        warehouse_id: Option<String>,
        sku: Option<String>,
        active: Option<bool>,
        customer_account_id: Option<String>,
        created_from: Option<IsoDateTime>,
        created_to: Option<IsoDateTime>,
        updated_from: Option<IsoDateTime>,
        updated_to: Option<IsoDateTime>,
        analyze: Option<bool>,
    ) -> async_graphql::Result<Option<WarehouseProductsQueryResult>> {
        let _ = customer_account_id;
        let analyze = analyze.unwrap_or(false);
        let op = begin(ctx, "warehouse_products", connection_cost(ctx), analyze)?;
        if analyze {
            return Ok(Some(WarehouseProductsQueryResult::of(&op, None)));
        }
        let warehouse = warehouse_id.map(|w| op.warehouse(&w)).transpose()?;
        let store = op.sh.store.lock().expect("store lock");
        let mut items: Vec<&WarehouseProduct> = store
            .inventory
            .values()
            .filter(|wp| warehouse.is_none_or(|w| wp.warehouse == w))
            .filter(|wp| sku.as_ref().is_none_or(|s| &wp.sku == s))
            .filter(|wp| active.is_none_or(|a| wp.active == a))
            .filter(|wp| created_from.is_none_or(|t| wp.created_at >= t.0))
            .filter(|wp| created_to.is_none_or(|t| wp.created_at <= t.0))
            .filter(|wp| updated_from.is_none_or(|t| wp.updated_at >= t.0))
            .filter(|wp| updated_to.is_none_or(|t| wp.updated_at <= t.0))
            .collect();
        items.sort_by_key(|wp| wp.legacy_id);
        let nodes = items
            .into_iter()
            .map(|wp| warehouse_product(&op.sh, &store, wp))
            .collect();
        Ok(Some(WarehouseProductsQueryResult::of(&op, Some(nodes))))
    }

    /// One product by `sku` (or `id`), with its inventory in every warehouse.
    async fn product(
        &self,
        ctx: &Context<'_>,
        id: Option<String>,
        sku: Option<String>,
        analyze: Option<bool>,
    ) -> async_graphql::Result<Option<ProductQueryResult>> {
        let analyze = analyze.unwrap_or(false);
        let op = begin(ctx, "product", 1, analyze)?;
        if analyze {
            return Ok(Some(ProductQueryResult::of(&op, None)));
        }
        let store = op.sh.store.lock().expect("store lock");
        let found = match (&sku, &id) {
            (Some(sku), _) => store.products.get(sku).map(|n| (sku.clone(), *n)),
            (None, Some(id)) => parse_global_id(id).and_then(|(_, n)| {
                store
                    .products
                    .iter()
                    .find(|(_, legacy)| **legacy == n)
                    .map(|(s, l)| (s.clone(), *l))
            }),
            (None, None) => {
                return Err(op.error(code::INVALID, "Either sku or id is required"));
            }
        };
        let Some((sku, legacy_id)) = found else {
            return Err(op.error(code::NOT_FOUND, "Product not found"));
        };
        let product = ProductNode {
            id: global_id("ProductInfo", legacy_id),
            legacy_id,
            account_id: op.sh.account_uuid(),
            name: sku.clone(),
            warehouse_products: store
                .of_sku(&sku)
                .iter()
                .map(|wp| warehouse_product(&op.sh, &store, wp))
                .collect(),
            sku,
        };
        Ok(Some(ProductQueryResult::of(&op, Some(product))))
    }

    /// Converts a legacy id to the opaque id of `entity`.
    async fn uuid(
        &self,
        ctx: &Context<'_>,
        legacy_id: i64,
        entity: EntityType,
        analyze: Option<bool>,
    ) -> async_graphql::Result<Option<LegacyIdQueryResult>> {
        let analyze = analyze.unwrap_or(false);
        let op = begin(ctx, "uuid", 1, analyze)?;
        if analyze {
            return Ok(Some(LegacyIdQueryResult::of(&op, None)));
        }
        if legacy_id < 0 {
            return Err(op.error(code::INVALID, "legacy_id must be positive"));
        }
        Ok(Some(LegacyIdQueryResult::of(
            &op,
            Some(LegacyIdNode {
                id: global_id(entity.type_name(), legacy_id as u64),
                legacy_id: legacy_id as u64,
            }),
        )))
    }

    /// One inventory sync batch.
    async fn inventory_sync_status(
        &self,
        ctx: &Context<'_>,
        id: String,
        analyze: Option<bool>,
    ) -> async_graphql::Result<Option<InventorySyncStatusQueryResult>> {
        let analyze = analyze.unwrap_or(false);
        let op = begin(ctx, "inventory_sync_status", 1, analyze)?;
        if analyze {
            return Ok(Some(InventorySyncStatusQueryResult::of(&op, None)));
        }
        let syncs = op.sh.syncs.lock().expect("syncs lock");
        let Some(s) = syncs.get(&id) else {
            return Err(op.error(
                code::NOT_FOUND,
                format!("Inventory sync \"{id}\" not found"),
            ));
        };
        Ok(Some(InventorySyncStatusQueryResult::of(
            &op,
            Some(sync_status(&op.sh, s)),
        )))
    }

    /// Every inventory sync batch, newest first.
    async fn inventory_sync_statuses(
        &self,
        ctx: &Context<'_>,
        warehouse_id: Option<String>,
        customer_account_id: Option<String>,
        status: Option<String>,
        analyze: Option<bool>,
    ) -> async_graphql::Result<Option<InventorySyncStatusesQueryResult>> {
        let analyze = analyze.unwrap_or(false);
        let op = begin(
            ctx,
            "inventory_sync_statuses",
            connection_cost(ctx),
            analyze,
        )?;
        if analyze {
            return Ok(Some(InventorySyncStatusesQueryResult::of(&op, None)));
        }
        let warehouse = warehouse_id.map(|w| op.warehouse(&w)).transpose()?;
        let syncs = op.sh.syncs.lock().expect("syncs lock");
        let nodes = syncs
            .all
            .iter()
            .rev()
            .filter(|s| warehouse.is_none_or(|w| s.warehouse == w))
            .filter(|s| {
                customer_account_id
                    .as_ref()
                    .is_none_or(|c| s.customer_account_id.as_ref() == Some(c))
            })
            .filter(|s| status.as_ref().is_none_or(|st| &s.status == st))
            .map(|s| sync_status(&op.sh, s))
            .collect();
        Ok(Some(InventorySyncStatusesQueryResult::of(&op, Some(nodes))))
    }

    /// Every row of one sync batch, in CSV order.
    async fn inventory_sync_items_status(
        &self,
        ctx: &Context<'_>,
        id: String,
        status: Option<String>,
        analyze: Option<bool>,
    ) -> async_graphql::Result<Option<InventorySyncItemsStatusQueryResult>> {
        let analyze = analyze.unwrap_or(false);
        let op = begin(
            ctx,
            "inventory_sync_items_status",
            connection_cost(ctx),
            analyze,
        )?;
        if analyze {
            return Ok(Some(InventorySyncItemsStatusQueryResult::of(&op, None)));
        }
        let syncs = op.sh.syncs.lock().expect("syncs lock");
        let Some(s) = syncs.get(&id) else {
            return Err(op.error(
                code::NOT_FOUND,
                format!("Inventory sync \"{id}\" not found"),
            ));
        };
        let nodes = s
            .items
            .iter()
            .filter(|i| status.as_ref().is_none_or(|st| &i.status == st))
            .map(sync_row)
            .collect();
        Ok(Some(InventorySyncItemsStatusQueryResult::of(
            &op,
            Some(nodes),
        )))
    }

    /// The audit of on_hand changes, oldest first.
    #[allow(clippy::too_many_arguments)]
    async fn inventory_changes(
        &self,
        ctx: &Context<'_>,
        sku: Option<String>,
        warehouse_id: Option<String>,
        location_id: Option<String>,
        date_from: Option<IsoDateTime>,
        date_to: Option<IsoDateTime>,
        customer_account_id: Option<String>,
        reason: Option<String>,
        analyze: Option<bool>,
    ) -> async_graphql::Result<Option<InventoryChangesQueryResult>> {
        let _ = customer_account_id;
        let analyze = analyze.unwrap_or(false);
        let op = begin(ctx, "inventory_changes", connection_cost(ctx), analyze)?;
        if analyze {
            return Ok(Some(InventoryChangesQueryResult::of(&op, None)));
        }
        let warehouse = warehouse_id.map(|w| op.warehouse(&w)).transpose()?;
        let location = location_id
            .as_deref()
            .and_then(parse_global_id)
            .map(|(_, n)| n as i64);
        let store = op.sh.store.lock().expect("store lock");
        let nodes = store
            .changes
            .iter()
            .filter(|c| sku.as_ref().is_none_or(|s| &c.sku == s))
            .filter(|c| warehouse.is_none_or(|w| c.warehouse == w))
            .filter(|c| location.is_none_or(|l| c.location_id == Some(l)))
            .filter(|c| date_from.is_none_or(|t| c.created_at >= t.0))
            .filter(|c| date_to.is_none_or(|t| c.created_at <= t.0))
            .filter(|c| reason.as_ref().is_none_or(|r| &c.reason == r))
            .map(|c| InventoryChangeNode {
                user_id: op.sh.user_uuid(),
                account_id: op.sh.account_uuid(),
                warehouse_id: global_id("Warehouse", c.warehouse),
                sku: c.sku.clone(),
                previous_on_hand: c.previous_on_hand,
                change_in_on_hand: c.change_in_on_hand,
                reason: c.reason.clone(),
                location_id: c.location_id.map(|l| global_id("Location", l as u64)),
                created_at: IsoDateTime(c.created_at),
            })
            .collect();
        Ok(Some(InventoryChangesQueryResult::of(&op, Some(nodes))))
    }

    /// The bins known in a warehouse (those named by Dynamic Slotting sync rows), without
    /// quantities; `sku` keeps the bins that SKU was synced into.
    async fn locations(
        &self,
        ctx: &Context<'_>,
        warehouse_id: Option<String>,
        sku: Option<String>,
        name: Option<String>,
        analyze: Option<bool>,
    ) -> async_graphql::Result<Option<LocationsQueryResult>> {
        let analyze = analyze.unwrap_or(false);
        let op = begin(ctx, "locations", connection_cost(ctx), analyze)?;
        if analyze {
            return Ok(Some(LocationsQueryResult::of(&op, None)));
        }
        let warehouse = warehouse_id.map(|w| op.warehouse(&w)).transpose()?;
        let store = op.sh.store.lock().expect("store lock");
        let mut bins: Vec<(&(u64, String), &i64)> = store
            .locations
            .iter()
            .filter(|((w, _), _)| warehouse.is_none_or(|x| *w == x))
            .filter(|((_, n), _)| name.as_ref().is_none_or(|x| n == x))
            .filter(|((w, _), id)| {
                sku.as_ref().is_none_or(|s| {
                    store
                        .changes
                        .iter()
                        .any(|c| &c.sku == s && c.warehouse == *w && c.location_id == Some(**id))
                })
            })
            .collect();
        bins.sort_by_key(|(_, id)| **id);
        let nodes = bins
            .into_iter()
            .map(|((w, n), id)| LocationNode {
                id: global_id("Location", *id as u64),
                legacy_id: *id as u64,
                account_id: op.sh.account_uuid(),
                warehouse_id: global_id("Warehouse", *w),
                name: n.clone(),
                zone: String::new(),
                pickable: true,
                sellable: true,
            })
            .collect();
        Ok(Some(LocationsQueryResult::of(&op, Some(nodes))))
    }

    /// The registered webhooks (without their secrets).
    async fn webhooks(
        &self,
        ctx: &Context<'_>,
        customer_account_id: Option<String>,
        analyze: Option<bool>,
    ) -> async_graphql::Result<Option<WebhooksQueryResult>> {
        let analyze = analyze.unwrap_or(false);
        let op = begin(ctx, "webhooks", connection_cost(ctx), analyze)?;
        if analyze {
            return Ok(Some(WebhooksQueryResult::of(&op, None)));
        }
        let hooks = op.sh.webhooks.lock().expect("webhooks lock");
        let nodes = hooks
            .list
            .iter()
            .filter(|h| {
                customer_account_id
                    .as_ref()
                    .is_none_or(|c| h.customer_account_id.as_ref() == Some(c))
            })
            .map(|h| webhook(&op.sh, h, false))
            .collect();
        Ok(Some(WebhooksQueryResult::of(&op, Some(nodes))))
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations.

/// `inventory_sync`'s `data`.
#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct InventorySyncInput {
    url: String,
    warehouse_id: String,
    customer_account_id: Option<String>,
}

/// `inventory_sync_abort`'s `data`.
#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct InventoryAbortSyncInput {
    sync_id: String,
    reason: Option<String>,
}

/// `inventory_add` / `inventory_subtract` / `inventory_remove`'s `data`.
#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct UpdateInventoryInput {
    sku: String,
    warehouse_id: String,
    quantity: i64,
    reason: Option<String>,
    location_id: Option<String>,
    customer_account_id: Option<String>,
}

/// `inventory_replace`'s `data`.
#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct ReplaceInventoryInput {
    sku: String,
    warehouse_id: String,
    quantity: i64,
    reason: Option<String>,
    location_id: Option<String>,
    customer_account_id: Option<String>,
    includes_non_sellable: Option<bool>,
}

/// `webhook_create`'s `data`.
#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CreateWebhookInput {
    name: String,
    url: String,
    shop_name: Option<String>,
    customer_account_id: Option<String>,
}

/// `webhook_delete`'s `data`.
#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct DeleteWebhookInput {
    name: String,
    shop_name: Option<String>,
    customer_account_id: Option<String>,
}

/// `inventory_sync`'s answer.
#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct InventorySyncOutput {
    request_id: String,
    complexity: u64,
    sync_id: Option<String>,
}

/// `inventory_sync_abort`'s answer.
#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct InventorySyncAbortOutput {
    request_id: String,
    complexity: u64,
    sync: Option<InventorySyncStatusNode>,
}

/// The inventory mutations' answer.
#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct UpdateInventoryOutput {
    request_id: String,
    complexity: u64,
    warehouse_product: Option<WarehouseProductNode>,
}

/// `webhook_create`'s answer.
#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct CreateWebhookOutput {
    request_id: String,
    complexity: u64,
    webhook: Option<WebhookNode>,
}

/// `inventory_transfer`'s `data`.
#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
pub struct TransferInventoryInput {
    sku: String,
    warehouse_id: String,
    location_from_id: String,
    location_to_id: String,
    quantity: i64,
    reason: Option<String>,
}

/// `inventory_transfer`'s answer.
#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct TransferInventoryOutput {
    request_id: String,
    complexity: u64,
    ok: bool,
}

/// A mutation's answer with no payload.
#[derive(SimpleObject)]
#[graphql(rename_fields = "snake_case")]
pub struct MutationOutput {
    request_id: String,
    complexity: u64,
}

#[derive(Clone, Copy)]
enum Change {
    Add,
    Subtract,
    Replace,
}

fn update_inventory(
    op: &Op,
    sku: &str,
    warehouse_id: &str,
    quantity: i64,
    reason: Option<String>,
    location_id: Option<String>,
    change: Change,
) -> async_graphql::Result<UpdateInventoryOutput> {
    if quantity < 0 {
        return Err(op.error(code::INVALID, "quantity must not be negative"));
    }
    let warehouse = op.warehouse(warehouse_id)?;
    let location = match location_id.as_deref() {
        None | Some("") => None,
        Some(l) => Some(
            parse_global_id(l)
                .map(|(_, n)| n as i64)
                .ok_or_else(|| op.error(code::NOT_FOUND, format!("Location \"{l}\" not found")))?,
        ),
    };
    let reason = reason.unwrap_or_default();
    let (event, node) = {
        let mut store = op.sh.store.lock().expect("store lock");
        let Some(current) = store
            .inventory
            .get(&(warehouse, sku.to_string()))
            .map(|wp| wp.on_hand)
        else {
            return Err(op.error(
                code::NOT_FOUND,
                format!("SKU \"{sku}\" does not exist in warehouse {warehouse_id}"),
            ));
        };
        let target = match change {
            Change::Add => current + quantity,
            Change::Subtract => current - quantity,
            Change::Replace => quantity,
        };
        store.set_on_hand(warehouse, sku, target, &reason, location);
        let wp = store
            .inventory
            .get(&(warehouse, sku.to_string()))
            .cloned()
            .expect("present");
        (
            Event {
                warehouse,
                sku: sku.to_string(),
                previous_on_hand: current,
                quantity: target,
                reason,
                location,
            },
            warehouse_product(&op.sh, &store, &wp),
        )
    };
    webhooks::inventory_changed(&op.sh, vec![event]);
    Ok(UpdateInventoryOutput {
        request_id: op.request_id.clone(),
        complexity: op.complexity,
        warehouse_product: Some(node),
    })
}

/// The root mutation.
pub struct Mutation;

#[Object(rename_fields = "snake_case", rename_args = "snake_case")]
impl Mutation {
    /// Starts an inventory sync from a CSV at `url`; processed asynchronously.
    async fn inventory_sync(
        &self,
        ctx: &Context<'_>,
        data: InventorySyncInput,
    ) -> async_graphql::Result<Option<InventorySyncOutput>> {
        let op = begin(ctx, "inventory_sync", 0, false)?;
        let warehouse = op.warehouse(&data.warehouse_id)?;
        let url = data.url.trim().to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(op.error(
                code::INVALID,
                format!("url \"{url}\" is not an http(s) URL"),
            ));
        }
        let id = sync::create(&op.sh, url, warehouse, data.customer_account_id);
        Ok(Some(InventorySyncOutput {
            request_id: op.request_id.clone(),
            complexity: op.complexity,
            sync_id: Some(id),
        }))
    }

    /// Aborts a sync that has not finished; rows already applied stay.
    async fn inventory_sync_abort(
        &self,
        ctx: &Context<'_>,
        data: InventoryAbortSyncInput,
    ) -> async_graphql::Result<Option<InventorySyncAbortOutput>> {
        let op = begin(ctx, "inventory_sync_abort", 1, false)?;
        let mut syncs = op.sh.syncs.lock().expect("syncs lock");
        let Some(s) = syncs.get_mut(&data.sync_id) else {
            return Err(op.error(
                code::NOT_FOUND,
                format!("Inventory sync \"{}\" not found", data.sync_id),
            ));
        };
        if !s.is_open() {
            return Err(op.error(
                code::CONFLICT,
                format!(
                    "Inventory sync \"{}\" can't be aborted: its status is {}",
                    s.id, s.status
                ),
            ));
        }
        s.status = "aborted".into();
        s.error = Some(data.reason.unwrap_or_else(|| "Aborted".into()));
        s.updated_at = Utc::now();
        let node = sync_status(&op.sh, s);
        Ok(Some(InventorySyncAbortOutput {
            request_id: op.request_id.clone(),
            complexity: op.complexity,
            sync: Some(node),
        }))
    }

    /// Adds `quantity` to on_hand.
    async fn inventory_add(
        &self,
        ctx: &Context<'_>,
        data: UpdateInventoryInput,
    ) -> async_graphql::Result<Option<UpdateInventoryOutput>> {
        let op = begin(ctx, "inventory_add", 1, false)?;
        let d = data;
        let _ = d.customer_account_id;
        update_inventory(
            &op,
            &d.sku,
            &d.warehouse_id,
            d.quantity,
            d.reason,
            d.location_id,
            Change::Add,
        )
        .map(Some)
    }

    /// Subtracts `quantity` from on_hand.
    async fn inventory_subtract(
        &self,
        ctx: &Context<'_>,
        data: UpdateInventoryInput,
    ) -> async_graphql::Result<Option<UpdateInventoryOutput>> {
        let op = begin(ctx, "inventory_subtract", 1, false)?;
        let d = data;
        update_inventory(
            &op,
            &d.sku,
            &d.warehouse_id,
            d.quantity,
            d.reason,
            d.location_id,
            Change::Subtract,
        )
        .map(Some)
    }

    /// Removes `quantity` from a bin (from on_hand).
    async fn inventory_remove(
        &self,
        ctx: &Context<'_>,
        data: UpdateInventoryInput,
    ) -> async_graphql::Result<Option<UpdateInventoryOutput>> {
        let op = begin(ctx, "inventory_remove", 1, false)?;
        let d = data;
        update_inventory(
            &op,
            &d.sku,
            &d.warehouse_id,
            d.quantity,
            d.reason,
            d.location_id,
            Change::Subtract,
        )
        .map(Some)
    }

    /// Sets on_hand to `quantity` (absolute).
    async fn inventory_replace(
        &self,
        ctx: &Context<'_>,
        data: ReplaceInventoryInput,
    ) -> async_graphql::Result<Option<UpdateInventoryOutput>> {
        let op = begin(ctx, "inventory_replace", 1, false)?;
        let d = data;
        let _ = (d.includes_non_sellable, d.customer_account_id);
        update_inventory(
            &op,
            &d.sku,
            &d.warehouse_id,
            d.quantity,
            d.reason,
            d.location_id,
            Change::Replace,
        )
        .map(Some)
    }

    /// Moves `quantity` between two bins of a warehouse: on_hand (per warehouse) is unchanged.
    async fn inventory_transfer(
        &self,
        ctx: &Context<'_>,
        data: TransferInventoryInput,
    ) -> async_graphql::Result<Option<TransferInventoryOutput>> {
        let op = begin(ctx, "inventory_transfer", 1, false)?;
        let _ = data.reason;
        if data.quantity <= 0 {
            return Err(op.error(code::INVALID, "quantity must be positive"));
        }
        let warehouse = op.warehouse(&data.warehouse_id)?;
        for l in [&data.location_from_id, &data.location_to_id] {
            if parse_global_id(l).is_none() {
                return Err(op.error(code::NOT_FOUND, format!("Location \"{l}\" not found")));
            }
        }
        let store = op.sh.store.lock().expect("store lock");
        let Some(wp) = store.inventory.get(&(warehouse, data.sku.clone())) else {
            return Err(op.error(
                code::NOT_FOUND,
                format!(
                    "SKU \"{}\" does not exist in warehouse {}",
                    data.sku, data.warehouse_id
                ),
            ));
        };
        if wp.on_hand < data.quantity {
            return Err(op.error(
                code::INVALID,
                format!(
                    "cannot transfer {} of SKU \"{}\": only {} on hand",
                    data.quantity, data.sku, wp.on_hand
                ),
            ));
        }
        Ok(Some(TransferInventoryOutput {
            request_id: op.request_id.clone(),
            complexity: op.complexity,
            ok: true,
        }))
    }

    /// Registers a webhook; the only answer carrying `shared_signature_secret`.
    async fn webhook_create(
        &self,
        ctx: &Context<'_>,
        data: CreateWebhookInput,
    ) -> async_graphql::Result<Option<CreateWebhookOutput>> {
        let op = begin(ctx, "webhook_create", 1, false)?;
        if !(data.url.starts_with("http://") || data.url.starts_with("https://")) {
            return Err(op.error(
                code::INVALID,
                format!("url \"{}\" is not an http(s) URL", data.url),
            ));
        }
        let hook = webhooks::create(
            &op.sh,
            data.name,
            data.url,
            data.shop_name.unwrap_or_else(|| "api".into()),
            data.customer_account_id,
        )
        .map_err(|e| op.error(code::CONFLICT, e))?;
        Ok(Some(CreateWebhookOutput {
            request_id: op.request_id.clone(),
            complexity: op.complexity,
            webhook: Some(webhook(&op.sh, &hook, true)),
        }))
    }

    /// Deletes the webhook of `name` (and `shop_name`, `api` by default).
    async fn webhook_delete(
        &self,
        ctx: &Context<'_>,
        data: DeleteWebhookInput,
    ) -> async_graphql::Result<Option<MutationOutput>> {
        let op = begin(ctx, "webhook_delete", 1, false)?;
        let shop = data.shop_name.unwrap_or_else(|| "api".into());
        let _ = data.customer_account_id;
        let mut hooks = op.sh.webhooks.lock().expect("webhooks lock");
        let before = hooks.list.len();
        hooks
            .list
            .retain(|h| !(h.name == data.name && h.shop_name == shop));
        if hooks.list.len() == before {
            return Err(op.error(
                code::NOT_FOUND,
                format!("Webhook \"{}\" not found for shop \"{shop}\"", data.name),
            ));
        }
        Ok(Some(MutationOutput {
            request_id: op.request_id.clone(),
            complexity: op.complexity,
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP.

fn over_request_cap(sh: &ShipHero) -> Option<Response> {
    let cap = sh.config.request_cap?;
    let window = std::time::Duration::from_secs(sh.config.request_window_secs);
    let now = std::time::Instant::now();
    let mut requests = sh.requests.lock().expect("requests lock");
    while requests
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        requests.pop_front();
    }
    if requests.len() as u64 >= cap {
        let wait = requests
            .front()
            .map_or(1, |t| (window - now.duration_since(*t)).as_secs().max(1));
        return Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, wait.to_string())],
                Json(serde_json::json!({"errors": [{
                    "message": format!("Too many requests: at most {cap} requests per {} seconds", window.as_secs()),
                    "code": 429,
                }], "data": null})),
            )
                .into_response(),
        );
    }
    requests.push_back(now);
    None
}

/// Copies each error's extensions (`code`, `operation`, `field`, `request_id`, …) to the
/// error itself, where ShipHero puts them.
fn lift_extensions(value: &mut serde_json::Value) {
    let Some(errors) = value.get_mut("errors").and_then(|e| e.as_array_mut()) else {
        return;
    };
    for error in errors {
        let Some(error) = error.as_object_mut() else {
            continue;
        };
        let Some(extensions) = error.get("extensions").and_then(|e| e.as_object()).cloned() else {
            continue;
        };
        for (k, v) in extensions {
            error.entry(k).or_insert(v);
        }
    }
}

/// The GraphQL endpoint.
pub async fn graphql(State(sh): State<Arc<ShipHero>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = over_request_cap(&sh) {
        return refused;
    }
    if let Some(denied) = refusal(&sh, &headers) {
        return denied;
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({"errors": [{"message": format!("invalid GraphQL request body: {e}")}]})),
            )
                .into_response()
        }
    };
    let response = schema().execute(request.data(sh.clone())).await;
    let mut value = serde_json::to_value(&response).unwrap_or_default();
    lift_extensions(&mut value);
    Json(value).into_response()
}
