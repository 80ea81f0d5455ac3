//! NewStore Omnichannel Cloud, the inventory side: a Keycloak-style client-credentials token
//! endpoint, the import API (create, start, status) that downloads the zipped availabilities
//! from the given URI and applies them, a stock model per (product, fulfillment node) with one
//! allocation per assigned item, the stock insights and HQ stock list for read-back, and the
//! tenant's fulfillment life (requests assigned, items completed or failed, each event with the
//! next logical timestamp, posted to the event stream) driven over HTTP (`fulfillment`).
//!
//! Readings where NewStore's documents leave details open (see `FILE_NAME` and `RANGE_FIELD`):
//! - `POST /v0/d/import` takes `{provider, source_uri, revision, entities, full}` and answers
//!   201 `{id, state: "received"}`; `POST /v0/d/import/{id}/start` answers `{id, state}`;
//!   `GET /v0/d/import/{id}` answers `{id, state, errors}` with states received → (started)
//!   waiting → processing → finished | failed. A full import of availabilities fails, as
//!   documented. Received, waiting and processing jobs are open.
//! - The zip holds `availabilities.json`: `{"availabilities": [{product_id,
//!   fulfillment_node_id, quantity}], "allocation_removal": [{fulfillment_node_id (null: every
//!   node), logical_timestamp_from, logical_timestamp_to}]}`; the range field's name is
//!   configurable (`range_field`).
//! - Errors are `application/problem+json`; more than `open_job_cap` open jobs → 429 with
//!   `Retry-After`; no bearer → 401, an unknown or expired one → 403.

mod auth;
mod events;
mod fulfillment;
mod imports;
mod stock;

use std::sync::{Arc, Mutex};

use axum::routing::{get, post};
use axum::Router;

use crate::faults::FaultPlan;
use crate::server::{faults_and_log, Running, SimCore};
use crate::RequestLog;
pub use events::{Delivery, FulfillmentEventSpec};
pub use stock::{Allocation, AppliedRange, StockEntry};

/// The name of the file inside an import zip.
pub const FILE_NAME: &str = "availabilities.json";

/// How the simulated tenant is set up.
#[derive(Clone, Debug)]
pub struct NewStoreSimConfig {
    /// The tenant (`{tenant}` in the token URL).
    pub tenant: String,
    /// API client id.
    pub client_id: String,
    /// API client secret.
    pub client_secret: String,
    /// Token lifetime.
    pub token_ttl_secs: u64,
    /// Open import jobs allowed before 429.
    pub open_job_cap: usize,
    /// `Retry-After` of that 429.
    pub cap_retry_after_secs: u64,
    /// How long a started import stays `processing` after its download.
    pub processing_delay_ms: u64,
    /// The name of the allocation-removal field in the availabilities file.
    pub range_field: String,
    /// The port; 0 for an ephemeral one.
    pub port: u16,
    /// The faults.
    pub faults: FaultPlan,
}

impl Default for NewStoreSimConfig {
    fn default() -> Self {
        NewStoreSimConfig {
            tenant: "sandbox".into(),
            client_id: "syncd-sandbox".into(),
            client_secret: "newstore-sandbox-secret".into(),
            token_ttl_secs: 3600,
            open_job_cap: 20,
            cap_retry_after_secs: 5,
            processing_delay_ms: 0,
            range_field: "allocation_removal".into(),
            port: 0,
            faults: FaultPlan::none(),
        }
    }
}

pub(crate) struct NewStore {
    pub config: NewStoreSimConfig,
    pub core: Arc<SimCore>,
    pub auth: Mutex<auth::Tokens>,
    pub imports: Mutex<imports::Imports>,
    pub stock: Mutex<stock::Stock>,
    pub fulfillment: Mutex<fulfillment::Fulfillment>,
    pub http: reqwest::Client,
}

/// A running NewStore simulator.
pub struct NewStoreSim {
    state: Arc<NewStore>,
    running: Running,
}

impl NewStoreSim {
    /// Starts the simulator.
    pub async fn start(config: NewStoreSimConfig) -> std::io::Result<Self> {
        let core = Arc::new(SimCore::new(config.faults.clone()));
        let port = config.port;
        let state = Arc::new(NewStore {
            config,
            core: core.clone(),
            auth: Mutex::default(),
            imports: Mutex::default(),
            stock: Mutex::default(),
            fulfillment: Mutex::default(),
            http: reqwest::Client::new(),
        });
        let router = Router::new()
            .route(
                "/auth/realms/{tenant}/protocol/openid-connect/token",
                post(auth::token),
            )
            .route("/v0/d/import", post(imports::create))
            .route("/v0/d/import/{id}", get(imports::status))
            .route("/v0/d/import/{id}/start", post(imports::start))
            .route("/v0/stock/insights", get(stock::insights))
            .route("/_/v0/hq/stocked_products", get(stock::stocked_products))
            .with_state(state.clone())
            .route_layer(axum::middleware::from_fn_with_state(core, faults_and_log))
            // The tenant's own life, driven by tests and operators: no faults, no bearer.
            .merge(
                Router::new()
                    .route(
                        "/_sandbox/stock",
                        get(fulfillment::get_stock).put(fulfillment::set_stock),
                    )
                    .route(
                        "/_sandbox/event_stream",
                        axum::routing::put(fulfillment::set_stream),
                    )
                    .route("/_sandbox/fulfillment_requests", post(fulfillment::assign))
                    .route(
                        "/_sandbox/fulfillment_requests/{id}/complete",
                        post(fulfillment::complete),
                    )
                    .route(
                        "/_sandbox/fulfillment_requests/{id}/fail",
                        post(fulfillment::fail),
                    )
                    .route("/_sandbox/events", get(fulfillment::events))
                    .route(
                        "/_sandbox/events/{lts}/redeliver",
                        post(fulfillment::redeliver),
                    )
                    .with_state(state.clone()),
            );
        let running = Running::serve(router, port).await?;
        Ok(NewStoreSim { state, running })
    }

    /// The API base URL.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// The token URL.
    pub fn token_url(&self) -> String {
        format!(
            "{}/auth/realms/{}/protocol/openid-connect/token",
            self.url(),
            self.state.config.tenant
        )
    }

    /// The tenant's settings.
    pub fn config(&self) -> &NewStoreSimConfig {
        &self.state.config
    }

    /// Calls per endpoint.
    pub fn log(&self) -> &RequestLog {
        &self.state.core.log
    }

    /// Replaces the fault plan.
    pub fn set_faults(&self, plan: FaultPlan) {
        self.state.core.set_plan(plan);
    }

    /// Sets the on-hand of (`product`, `node`).
    pub fn set_on_hand(&self, product: &str, node: &str, on_hand: i64) {
        self.state
            .stock
            .lock()
            .expect("stock lock")
            .set_on_hand(product, node, on_hand);
    }

    /// The stock of (`product`, `node`).
    pub fn stock(&self, product: &str, node: &str) -> StockEntry {
        self.state
            .stock
            .lock()
            .expect("stock lock")
            .get(product, node)
    }

    /// Every (product, node) held, in order.
    pub fn positions(&self) -> Vec<(String, String, StockEntry)> {
        self.state.stock.lock().expect("stock lock").all()
    }

    /// How many allocations ranges removed, by the completion timestamp they were held at.
    pub fn removals(&self) -> std::collections::BTreeMap<u64, u64> {
        self.state.stock.lock().expect("stock lock").removals()
    }

    /// The DC locations imports' store mappings created: node id → the merchant's location.
    pub fn nodes(&self) -> std::collections::BTreeMap<String, String> {
        self.state.stock.lock().expect("stock lock").nodes()
    }

    /// Every range imports carried, in the order applied.
    pub fn ranges(&self) -> Vec<AppliedRange> {
        self.state.stock.lock().expect("stock lock").ranges()
    }

    /// Imports that reached `finished`.
    pub fn finished_imports(&self) -> usize {
        self.state.imports.lock().expect("imports lock").finished()
    }

    /// Imports that reached `failed` (a file that could not be downloaded, say).
    pub fn failed_imports(&self) -> usize {
        self.state.imports.lock().expect("imports lock").failed()
    }

    /// Posts fulfillment events to `url` with `api_key`, as NewStore's event stream does.
    pub async fn deliver(&self, url: &str, api_key: &str, deliveries: &[Delivery]) -> Vec<u16> {
        events::deliver(
            &self.state.http,
            &self.state.config.tenant,
            url,
            api_key,
            deliveries,
        )
        .await
    }
}
