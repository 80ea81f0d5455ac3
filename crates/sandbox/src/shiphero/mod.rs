//! ShipHero public API: `POST /auth/token` and `/auth/refresh` (JWT-shaped access tokens),
//! `POST /graphql` on a real GraphQL engine (async-graphql) with ShipHero's wrappers
//! (`{request_id complexity data}`), Relay paging inside `data`, base64 `"<Type>:<int>"` ids,
//! a credit bucket (code-30 errors), `inventory_sync` from a CSV URL processed on the
//! simulator's own clock, the single-SKU inventory mutations, and signed webhooks.
//!
//! Readings where ShipHero's documents leave details open (see `docs` of each module too):
//! - Auth errors: `/auth/token` with wrong credentials answers 403
//!   `{"error":"invalid_grant","error_description":"Wrong email or password."}` (Auth0's shape);
//!   an unknown refresh token 403 `invalid_grant`. `/graphql` with a missing, unknown or expired
//!   token answers HTTP 401 `{"errors":[{"message","code":401}],"data":null}`.
//! - Access tokens are HS256 JWTs (ShipHero's are Auth0 RS256); only their shape and `exp`
//!   (= `iat` + `expires_in`) matter to a client. The refresh token is static per account.
//! - Complexity: 1 for a single-object query, 1 + `first` (100 when absent) for a connection
//!   (the seed's items query without `first` shows 101), 0 for `inventory_sync` (the seed's
//!   example), 1 for every other mutation, 0 for `user_quota`. It is charged up front; the
//!   wrapper's `complexity` echoes it. `analyze: true` answers the complexity, data null,
//!   nothing charged.
//! - Errors are HTTP 200 `errors[]` items with `message`, `operation` (= the root field),
//!   `field`, `request_id` and `code` at the top level and also in `extensions`. Codes: 30 not
//!   enough credits, 5 not found, 6 invalid input, 9 conflict (e.g. abort after success).
//! - The request cap (7,000 requests / 5 minutes by default) answers HTTP 429 with
//!   `Retry-After` and `{"errors":[{"message","code":429}]}`.
//! - Inventory sync: a CSV of more than `row_cap` data rows (3,000) fails the whole sync
//!   (status `error`, nothing applied). A sync whose every row succeeded is `success`; one
//!   with any failed row is `error` with `"error in E out of T rows"`, its good rows applied.
//!   A sync that cannot be downloaded or whose header lacks a column is `error` with a message
//!   saying so and `total_count` 0. Aborting sets `aborted` with `error` = the reason.
//! - Bins: only those named by Dynamic Slotting sync rows exist (`locations`); per-bin
//!   quantities are not kept, so `inventory_transfer` checks its input and leaves on_hand as
//!   it is, and `location_id` on the single-SKU mutations is only recorded in
//!   `inventory_changes`.
//! - Webhooks: one delivery per changed SKU and warehouse; item-level numbers of an Inventory
//!   Update are account-wide sums, `updated_warehouse` that warehouse's. A second webhook with
//!   the same `name` and `shop_name` is refused (code 9).

mod auth;
mod credits;
mod graphql;
mod ids;
mod store;
mod sync;
mod webhooks;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::Router;

use crate::faults::FaultPlan;
use crate::server::{faults_and_log, Running, SimCore};
use crate::RequestLog;
pub use ids::{decode as base64_decode, encode as base64_encode, global_id, parse_global_id};
pub use sync::SyncSummary;
pub use webhooks::WebhookDelivery;

/// How the simulated ShipHero account is set up.
#[derive(Clone, Debug)]
pub struct ShipHeroSimConfig {
    /// The developer user's email (`/auth/token` `username`).
    pub username: String,
    /// The developer user's password.
    pub password: String,
    /// The account's legacy id.
    pub account_id: u64,
    /// The developer user's legacy id.
    pub user_id: u64,
    /// Warehouses as (legacy id, identifier).
    pub warehouses: Vec<(u64, String)>,
    /// Dynamic Slotting account: the CSV may carry a `location` column.
    pub dynamic_slotting: bool,
    /// The credit bucket's size (`max_available`).
    pub credits_max: u64,
    /// Credits added per second (`increment_rate`).
    pub credits_refill_per_sec: u64,
    /// The most one operation may cost.
    pub credits_op_cap: u64,
    /// Requests allowed per `request_window_secs` before HTTP 429; no cap when `None`.
    pub request_cap: Option<u64>,
    /// The request cap's rolling window.
    pub request_window_secs: u64,
    /// Most CSV data rows an inventory sync takes; over it the sync fails. No cap when `None`.
    pub row_cap: Option<usize>,
    /// How long a new sync stays `pending` before the CSV is fetched.
    pub sync_pending_ms: u64,
    /// CSV rows applied per processing tick.
    pub sync_rows_per_tick: usize,
    /// Time between processing ticks.
    pub sync_tick_ms: u64,
    /// Access token lifetime (`expires_in`, 28 days).
    pub token_ttl_secs: u64,
    /// How long a webhook receiver has to answer.
    pub webhook_timeout_ms: u64,
    /// Retries after a failed webhook delivery.
    pub webhook_retries: u32,
    /// Delay before each webhook retry.
    pub webhook_retry_ms: u64,
    /// The port; 0 for an ephemeral one.
    pub port: u16,
    /// The faults.
    pub faults: FaultPlan,
}

impl Default for ShipHeroSimConfig {
    fn default() -> Self {
        ShipHeroSimConfig {
            username: "syncd@sandbox.example".into(),
            password: "sandbox-password".into(),
            account_id: 3805,
            user_id: 9123,
            warehouses: vec![(4350, "Primary".into()), (4351, "Secondary".into())],
            dynamic_slotting: false,
            credits_max: 4004,
            credits_refill_per_sec: 60,
            credits_op_cap: 4004,
            request_cap: Some(7000),
            request_window_secs: 300,
            row_cap: Some(3000),
            sync_pending_ms: 5,
            sync_rows_per_tick: 1000,
            sync_tick_ms: 10,
            token_ttl_secs: 2_419_200,
            webhook_timeout_ms: 10_000,
            webhook_retries: 5,
            webhook_retry_ms: 200,
            port: 0,
            faults: FaultPlan::none(),
        }
    }
}

/// The simulator's state.
pub(crate) struct ShipHero {
    pub config: ShipHeroSimConfig,
    pub core: Arc<SimCore>,
    pub auth: Mutex<auth::Tokens>,
    pub credits: Mutex<credits::Bucket>,
    pub requests: Mutex<VecDeque<Instant>>,
    pub store: Mutex<store::Store>,
    pub syncs: Mutex<sync::Syncs>,
    pub webhooks: Mutex<webhooks::Hooks>,
    pub csv_fetches: Mutex<Vec<String>>,
    pub http: reqwest::Client,
    pub next_legacy: AtomicU64,
}

impl ShipHero {
    /// A fresh legacy id.
    pub fn next_legacy(&self) -> u64 {
        self.next_legacy.fetch_add(1, Ordering::SeqCst)
    }

    /// The account's opaque id.
    pub fn account_uuid(&self) -> String {
        ids::global_id("Account", self.config.account_id)
    }

    /// The user's opaque id.
    pub fn user_uuid(&self) -> String {
        ids::global_id("User", self.config.user_id)
    }
}

/// A running ShipHero simulator: its URL, request log, controls and state inspection.
pub struct ShipHeroSim {
    state: Arc<ShipHero>,
    running: Running,
}

impl ShipHeroSim {
    /// Starts the simulator.
    pub async fn start(config: ShipHeroSimConfig) -> std::io::Result<Self> {
        let core = Arc::new(SimCore::new(config.faults.clone()));
        let port = config.port;
        let warehouses = config
            .warehouses
            .iter()
            .map(|(id, name)| store::Warehouse {
                legacy_id: *id,
                identifier: name.clone(),
            })
            .collect();
        let http = reqwest::Client::builder()
            .build()
            .map_err(std::io::Error::other)?;
        let state = Arc::new(ShipHero {
            credits: Mutex::new(credits::Bucket::new(&config)),
            auth: Mutex::new(auth::Tokens::new()),
            config,
            core: core.clone(),
            requests: Mutex::default(),
            store: Mutex::new(store::Store::new(warehouses)),
            syncs: Mutex::default(),
            webhooks: Mutex::default(),
            csv_fetches: Mutex::default(),
            http,
            next_legacy: AtomicU64::new(1),
        });
        let router = Router::new()
            .route("/auth/token", post(auth::token))
            .route("/auth/refresh", post(auth::refresh))
            .route("/graphql", post(graphql::graphql))
            .route("/graphql/", post(graphql::graphql))
            .with_state(state.clone())
            .route_layer(axum::middleware::from_fn_with_state(core, faults_and_log));
        let running = Running::serve(router, port).await?;
        Ok(ShipHeroSim { state, running })
    }

    /// The base URL (`/auth/token`, `/graphql` below it).
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// The account's settings.
    pub fn config(&self) -> &ShipHeroSimConfig {
        &self.state.config
    }

    /// Calls per endpoint (`POST /graphql`, `POST /auth/token`, …).
    pub fn log(&self) -> &RequestLog {
        &self.state.core.log
    }

    /// Replaces the fault plan.
    pub fn set_faults(&self, plan: FaultPlan) {
        self.state.core.set_plan(plan);
    }

    /// Expires every access token issued so far: clients must refresh.
    pub fn expire_tokens(&self) {
        self.state.auth.lock().expect("auth lock").expire_all();
    }

    /// The static refresh token of the account.
    pub fn refresh_token(&self) -> String {
        self.state.auth.lock().expect("auth lock").refresh.clone()
    }

    /// Creates SKUs in a warehouse (or sets their on_hand), without webhooks.
    pub fn seed_products(&self, warehouse_legacy_id: u64, products: &[(&str, i64)]) {
        let mut store = self.state.store.lock().expect("store lock");
        for (sku, on_hand) in products {
            store.seed(warehouse_legacy_id, sku, *on_hand);
        }
    }

    /// The on_hand of `sku` in a warehouse; `None` when the SKU is not there.
    pub fn on_hand(&self, warehouse_legacy_id: u64, sku: &str) -> Option<i64> {
        self.state
            .store
            .lock()
            .expect("store lock")
            .inventory
            .get(&(warehouse_legacy_id, sku.to_string()))
            .map(|wp| wp.on_hand)
    }

    /// The opaque id of a warehouse (`4350` → `V2FyZWhvdXNlOjQzNTA=`).
    pub fn warehouse_id(&self, legacy: u64) -> String {
        ids::global_id("Warehouse", legacy)
    }

    /// Every inventory sync, oldest first.
    pub fn syncs(&self) -> Vec<SyncSummary> {
        self.state.syncs.lock().expect("syncs lock").summaries()
    }

    /// The CSV URLs downloaded, in order.
    pub fn csv_fetches(&self) -> Vec<String> {
        self.state.csv_fetches.lock().expect("fetches lock").clone()
    }

    /// The credits left now.
    pub fn credits_remaining(&self) -> u64 {
        self.state.credits.lock().expect("credits lock").remaining()
    }

    /// Refills the credit bucket.
    pub fn refill_credits(&self) {
        self.state
            .credits
            .lock()
            .expect("credits lock")
            .refill_all();
    }

    /// Silently drops the next `n` webhook deliveries (never sent).
    pub fn drop_webhooks(&self, n: u64) {
        self.state.webhooks.lock().expect("webhooks lock").drop_next += n;
    }

    /// Sends each of the next `n` webhook deliveries twice (same message id).
    pub fn duplicate_webhooks(&self, n: u64) {
        self.state
            .webhooks
            .lock()
            .expect("webhooks lock")
            .duplicate_next += n;
    }

    /// Holds each of the next `n` webhook deliveries back by `delay`, so later ones overtake it.
    pub fn delay_webhooks(&self, n: u64, delay: Duration) {
        let mut hooks = self.state.webhooks.lock().expect("webhooks lock");
        hooks.delay_next += n;
        hooks.delay = delay;
    }

    /// Every webhook delivery so far (dropped ones included), in creation order.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.state
            .webhooks
            .lock()
            .expect("webhooks lock")
            .deliveries
            .clone()
    }
}
