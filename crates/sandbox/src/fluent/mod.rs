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
//! - A batch moves PENDING → RUNNING → COMPLETE one step per status read (`polls_to_complete`);
//!   its entities are applied when it completes. `results[]` lists only records that failed
//!   (the documented example shows a COMPLETE batch of 10 with empty results); set
//!   `results_for_all` to list every record.
//! - A record whose `locationRef` is not a known location (when `known_locations` is set)
//!   fails with responseCode 404 "dependent record missing".
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

/// How the simulated Fluent account is set up.
#[derive(Clone, Debug)]
pub struct FluentSimConfig {
    /// The account id.
    pub account: String,
    /// The retailer id.
    pub retailer_id: u64,
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
    /// Status reads a batch takes to complete.
    pub polls_to_complete: u32,
    /// Locations records may name; any when `None`.
    pub known_locations: Option<HashSet<String>>,
    /// List every record in `results[]`, not only failures.
    pub results_for_all: bool,
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
            client_id: "SANDBOX".into(),
            client_secret: "sandbox-client-secret".into(),
            username: "sandbox_admin".into(),
            password: "sandbox-password".into(),
            token_ttl_secs: 86_386,
            refresh_tokens: true,
            batch_preprocessing: true,
            batch_limit: 5000,
            polls_to_complete: 2,
            known_locations: None,
            results_for_all: false,
            close_jobs_at_midnight: true,
            port: 0,
            faults: FaultPlan::none(),
        }
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
            .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024));
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

    /// The LAST_ON_HAND quantities held, sorted by (catalogue, location, SKU).
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

    /// Puts quantities straight into the store (seeding a source), as LAST_ON_HAND.
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
