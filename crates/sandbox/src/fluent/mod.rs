//! Fluent Commerce: OAuth password/refresh grants, the Batch Inventory API (job, batches,
//! status) with Batch Pre-Processing, an inventory store per (catalogue, location, SKU), and
//! `POST /graphql` answering `inventoryPositions` for read-back.
//!
//! Readings where Fluent's documents leave details open (each configurable in
//! [`FluentSimConfig`] where it matters):
//! - Error bodies of the REST API are `{"errors":[{"code","message"}]}`; OAuth errors are
//!   `{"error","error_description"}` (400 for a bad grant, 401 for a bad client).
//! - `GET /job/{id}` answers `{"jobId","status","batch":[{"batchId","status","createdOn"}],
//!   "name","retailerId","meta","createdOn"}` as in the documented example.
//! - A batch moves PENDING → RUNNING → COMPLETE on its own clock (`batch_pending_ms`,
//!   `batch_running_ms`), polled or not; its entities are applied when it completes.
//!   `results[]` lists only records that failed (the documented example shows a COMPLETE batch
//!   with `"total": 0` and empty results; set `results_for_all` to list every record), a page at
//!   a time: `?start=` (1-based) and `?count=` (default 10, at most `results_page_max`), echoed
//!   with `total`, the number of results.
//! - responseCodes as documented: 404 for a `locationRef` not among `known_locations`
//!   ("dependent record missing"), 301 for an entity of another retailer than the job's
//!   ("unauthorised"), 500 for `failing_skus`. A nonconforming entity (or one of
//!   `ignored_skus`) is ignored with no result at all.
//! - Requests over 2 MB get 413. Jobs may be created for `retailer_id` and `other_retailers`
//!   (retailer 2 by default, as in the seed's examples); any catalogue is accepted.
//! - Quantities are kept per type on each position (see `inventory`).
//! - Jobs close at midnight UTC after their creation day (`close_jobs_at_midnight`), or when a
//!   test closes them.
//! - The default `ref` of an entity is `<skuRef>:<locationRef>:<catalogueType>:<type>`, where
//!   catalogueType is the part of `catalogueRef` before the colon.

mod auth;
mod graphql;
mod inventory;
mod jobs;
mod wire;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::routing::{get, post};
use axum::Router;

use crate::faults::FaultPlan;
use crate::server::{faults_and_log, Running, SimCore};
use crate::RequestLog;
use inventory::Inventory;
pub use inventory::StoredQuantity;
pub use wire::FLUENT_ATTRIBUTE_KEYS;

/// The largest request body Fluent takes; larger ones get 413.
pub const MAX_REQUEST_BYTES: usize = 2 * 1024 * 1024;

/// How the simulated Fluent account is set up.
#[derive(Clone, Debug)]
pub struct FluentSimConfig {
    /// The account id.
    pub account: String,
    /// The retailer id the API user belongs to (the token's `Retailer_id`).
    pub retailer_id: u64,
    /// Other retailers of the account jobs may be created for (the seed's examples use 2).
    pub other_retailers: Vec<u64>,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// API user.
    pub username: String,
    /// API user's password.
    pub password: String,
    /// Access token lifetime (`expires_in`).
    pub token_ttl_secs: u64,
    /// Whether refresh tokens are issued.
    pub refresh_tokens: bool,
    /// `fc.enable.batch.preprocessing`.
    pub batch_preprocessing: bool,
    /// Entities per batch.
    pub batch_limit: usize,
    /// How long a batch stays PENDING.
    pub batch_pending_ms: u64,
    /// How long a batch then stays RUNNING before it is applied and COMPLETE.
    pub batch_running_ms: u64,
    /// The most results one status read returns (`count` is capped to it).
    pub results_page_max: usize,
    /// Locations records may name; any when `None`.
    pub known_locations: Option<HashSet<String>>,
    /// List every record in `results[]`, not only failures.
    pub results_for_all: bool,
    /// SKUs whose records Fluent ignores without a result, as it does a nonconforming record.
    pub ignored_skus: HashSet<String>,
    /// SKUs whose records fail with responseCode 500.
    pub failing_skus: HashSet<String>,
    /// Close jobs at midnight UTC after their creation day.
    pub close_jobs_at_midnight: bool,
    /// The port; 0 for an ephemeral one.
    pub port: u16,
    /// The faults.
    pub faults: FaultPlan,
}

impl Default for FluentSimConfig {
    fn default() -> Self {
        FluentSimConfig {
            account: "SANDBOX".into(),
            retailer_id: 1,
            other_retailers: vec![2],
            client_id: "SANDBOX".into(),
            client_secret: "sandbox-client-secret".into(),
            username: "sandbox_admin".into(),
            password: "sandbox-password".into(),
            token_ttl_secs: 86_386,
            refresh_tokens: true,
            batch_preprocessing: true,
            batch_limit: 5000,
            // Done within 30 ms, before a client's first status read at 50 ms: benchmarks
            // measure the client, not a made-up processing time.
            batch_pending_ms: 10,
            batch_running_ms: 20,
            results_page_max: 1000,
            known_locations: None,
            results_for_all: false,
            ignored_skus: HashSet::new(),
            failing_skus: HashSet::new(),
            close_jobs_at_midnight: true,
            port: 0,
            faults: FaultPlan::none(),
        }
    }
}

impl FluentSimConfig {
    /// Every retailer of the account.
    pub fn retailers(&self) -> Vec<u64> {
        let mut all = vec![self.retailer_id];
        all.extend(
            self.other_retailers
                .iter()
                .filter(|r| **r != self.retailer_id),
        );
        all
    }
}

/// The simulator's state.
pub(crate) struct Fluent {
    pub config: FluentSimConfig,
    pub core: Arc<SimCore>,
    pub auth: Mutex<auth::Tokens>,
    pub jobs: Mutex<jobs::Jobs>,
    pub inventory: Mutex<Inventory>,
}

/// A running Fluent simulator: its URL, request log and state inspection.
pub struct FluentSim {
    state: Arc<Fluent>,
    running: Running,
}

impl FluentSim {
    /// Starts the simulator.
    pub async fn start(config: FluentSimConfig) -> std::io::Result<Self> {
        let core = Arc::new(SimCore::new(config.faults.clone()));
        let port = config.port;
        let state = Arc::new(Fluent {
            config,
            core: core.clone(),
            auth: Mutex::default(),
            jobs: Mutex::default(),
            inventory: Mutex::default(),
        });
        let router = Router::new()
            .route("/oauth/token", post(auth::token))
            .route("/api/v4.1/job", post(jobs::create_job))
            .route("/api/v4.1/job/{id}", get(jobs::get_job))
            .route("/api/v4.1/job/{id}/batch", post(jobs::create_batch))
            .route("/api/v4.1/job/{id}/batch/{batch_id}", get(jobs::get_batch))
            .route("/graphql", post(graphql::graphql))
            .with_state(state.clone())
            .route_layer(axum::middleware::from_fn_with_state(core, faults_and_log))
            // "Request ≤2 MB (else 413)".
            .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES));
        let running = Running::serve(router, port).await?;
        Ok(FluentSim { state, running })
    }

    /// The base URL.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// The account's settings.
    pub fn config(&self) -> &FluentSimConfig {
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

    /// Every quantity held, of every type, sorted by (catalogue, location, SKU) then type.
    pub fn quantities(&self) -> Vec<StoredQuantity> {
        self.state.inventory.lock().expect("inventory lock").all()
    }

    /// How many times each record was applied by a batch, by `ref`.
    pub fn applications(&self) -> std::collections::BTreeMap<String, u64> {
        self.state
            .inventory
            .lock()
            .expect("inventory lock")
            .applications()
    }

    /// Puts quantities straight into the store (seeding a source), each as its type's.
    pub fn seed(&self, quantities: Vec<StoredQuantity>) {
        let mut inventory = self.state.inventory.lock().expect("inventory lock");
        for q in quantities {
            inventory.put(q);
        }
    }

    /// Empties the inventory store.
    pub fn clear(&self) {
        *self.state.inventory.lock().expect("inventory lock") = Inventory::default();
    }

    /// Closes job `id`, as midnight would.
    pub fn close_job(&self, id: &str) {
        self.state.jobs.lock().expect("jobs lock").close(id);
    }

    /// The ids of every job created.
    pub fn job_ids(&self) -> Vec<String> {
        self.state.jobs.lock().expect("jobs lock").ids()
    }
}
