//! Salesforce, as the connector to come will meet it. So far: the SOQL the simulator answers
//! (`soql`), record ids with Salesforce's checksum (`ids`), the org's objects and lookups
//! (`schema`), its records on a controllable clock, queried (`store`), and the REST endpoints
//! over them (`rest`: token grants, versions, query/queryAll with locators, single-record
//! CRUD, upsert by external id, sObject Collections with `allOrNone`, describe, `/updated` and
//! `/deleted`, limits), with the password, client-credentials, refresh-token and JWT bearer
//! grants and the SOAP login (`soap`); and the managed package's pushes of seed 000's units on
//! every change (`push`).

mod bulk;
pub mod ids;
pub mod push;
mod rest;
pub mod schema;
mod soap;
pub mod soql;
pub mod store;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use axum::routing::{get, post};
use axum::Router;

use crate::faults::FaultPlan;
use crate::server::{faults_and_log, Running, SimCore};
use crate::RequestLog;

/// The private key of the sandbox's connected-app certificate, published so that any client can
/// sign JWT bearer assertions for the sandbox. A sandbox key: never trust it anywhere else.
pub const SANDBOX_JWT_PRIVATE_KEY: &str = include_str!("sandbox_jwt.key");

/// The sandbox's connected-app certificate's public key, which checks those assertions.
pub const SANDBOX_JWT_PUBLIC_KEY: &str = include_str!("sandbox_jwt.pub");

/// How the simulated org is set up.
#[derive(Clone, Debug)]
pub struct SalesforceSimConfig {
    /// The connected app's consumer key.
    pub client_id: String,
    /// Its consumer secret.
    pub client_secret: String,
    /// The API user.
    pub username: String,
    /// The user's password.
    pub password: String,
    /// The user's security token, appended to the password in the password grant.
    pub security_token: String,
    /// The org id (15 characters).
    pub org_id: String,
    /// The user id.
    pub user_id: String,
    /// The API versions answered (`50.0` is jsforce's default).
    pub api_versions: Vec<String>,
    /// API calls allowed a day (`DailyApiRequests`); past it, 403 `REQUEST_LIMIT_EXCEEDED`.
    pub daily_api_limit: u64,
    /// The connected app's certificate (PEM public key) that JWT bearer assertions are checked
    /// against.
    pub jwt_public_key: String,
    /// The org's objects.
    pub schema: schema::Schema,
    /// The port; 0 for an ephemeral one.
    pub port: u16,
    /// The faults.
    pub faults: FaultPlan,
}

impl Default for SalesforceSimConfig {
    fn default() -> Self {
        SalesforceSimConfig {
            client_id: "syncd-sandbox-consumer-key".into(),
            client_secret: "salesforce-sandbox-secret".into(),
            username: "syncd@sandbox.example".into(),
            password: "sandbox-password".into(),
            security_token: "SANDBOXTOKEN".into(),
            org_id: "00D5f000000SANDB".into(),
            user_id: "0055f000000SYNCD".into(),
            api_versions: (31..=62).map(|v| format!("{v}.0")).collect(),
            daily_api_limit: 100_000,
            jwt_public_key: SANDBOX_JWT_PUBLIC_KEY.into(),
            schema: schema::Schema::default(),
            port: 0,
            faults: FaultPlan::none(),
        }
    }
}

/// Sessions and refresh tokens issued.
#[derive(Default)]
pub(crate) struct Tokens {
    access: HashSet<String>,
    refresh: HashSet<String>,
    issued: u64,
}

impl Tokens {
    fn issue(&mut self) -> String {
        self.issued += 1;
        let token = format!("00D5f000000SANDB!sandbox.session.{:06}", self.issued);
        self.access.insert(token.clone());
        token
    }
}

/// An open query cursor: its rows, and when (on the org's clock) it opened.
pub(crate) type OpenCursor = (Arc<Vec<serde_json::Value>>, chrono::DateTime<chrono::Utc>);

/// Where the package posts, and what it answered.
#[derive(Default)]
pub(crate) struct Pushes {
    target: Option<(String, String)>,
    answers: Vec<u16>,
}

pub(crate) struct Salesforce {
    pub config: SalesforceSimConfig,
    pub pushes: Arc<Mutex<Pushes>>,
    pub http: reqwest::Client,
    pub core: Arc<SimCore>,
    pub tokens: Mutex<Tokens>,
    pub store: Mutex<store::Store>,
    pub api_calls: Mutex<u64>,
    /// Open query cursors: each locator, its rows, and when (on the org's clock) it opened.
    pub locators: Mutex<HashMap<String, OpenCursor>>,
    locator_serial: Mutex<u64>,
    url: OnceLock<String>,
}

impl Salesforce {
    fn url(&self) -> String {
        self.url.get().cloned().unwrap_or_default()
    }

    /// Posts the unit of every record written since the last call (each unit once), as the
    /// managed package does, when a target is set.
    pub(crate) fn push_changes(&self) {
        let changes = self.store.lock().expect("store lock").take_changes();
        let Some((url, secret)) = self.pushes.lock().expect("push lock").target.clone() else {
            return;
        };
        let mut bodies: Vec<serde_json::Value> = Vec::new();
        {
            let store = self.store.lock().expect("store lock");
            for (object, id) in changes {
                if let Some(unit) = push::unit(&store, &object, &id, "54.0") {
                    if !bodies.contains(&unit) {
                        bodies.push(unit);
                    }
                }
            }
        }
        for unit in bodies {
            let http = self.http.clone();
            let (url, secret, pushes) = (url.clone(), secret.clone(), self.pushes.clone());
            tokio::spawn(async move {
                let answer = http
                    .post(&url)
                    .bearer_auth(&secret)
                    .json(&serde_json::json!({"sf": [unit]}))
                    .send()
                    .await
                    .map_or(0, |r| r.status().as_u16());
                pushes.lock().expect("push lock").answers.push(answer);
            });
        }
    }

    fn next_locator(&self) -> String {
        let mut n = self.locator_serial.lock().expect("locator lock");
        *n += 1;
        ids::id("01g", "5f", *n)
    }
}

/// A running Salesforce simulator.
pub struct SalesforceSim {
    state: Arc<Salesforce>,
    running: Running,
}

impl SalesforceSim {
    /// Starts the simulator.
    pub async fn start(config: SalesforceSimConfig) -> std::io::Result<Self> {
        let core = Arc::new(SimCore::new(config.faults.clone()));
        let port = config.port;
        let state = Arc::new(Salesforce {
            store: Mutex::new(store::Store::new(config.schema.clone())),
            config,
            pushes: Arc::default(),
            http: reqwest::Client::new(),
            core: core.clone(),
            tokens: Mutex::default(),
            api_calls: Mutex::new(0),
            locators: Mutex::default(),
            locator_serial: Mutex::new(0),
            url: OnceLock::new(),
        });
        let router = Router::new()
            .route("/_sandbox/push_to", axum::routing::put(rest::push_to))
            .route("/services/oauth2/token", post(rest::token))
            .route("/services/data/", get(rest::versions))
            .route("/services/Soap/u/{version}", post(soap::login))
            .route("/services/data/{version}/query", get(rest::query))
            .route("/services/data/{version}/queryAll", get(rest::query_all))
            .route("/services/data/{version}/query/{next}", get(rest::more))
            .route("/services/data/{version}/limits", get(rest::limits))
            .route(
                "/services/data/{version}/sobjects/{object}",
                post(rest::create),
            )
            .route("/services/data/{version}/sobjects", get(rest::sobjects))
            .route(
                "/services/data/{version}/sobjects/{object}/describe",
                get(rest::describe),
            )
            .route(
                "/services/data/{version}/sobjects/{object}/{id}",
                get(rest::record).patch(rest::record).delete(rest::record),
            )
            .route(
                "/services/data/{version}/sobjects/{object}/{which}/",
                get(rest::replication),
            )
            .route(
                "/services/data/{version}/sobjects/{object}/{field}/{value}",
                axum::routing::patch(rest::upsert_one),
            )
            .route(
                "/services/data/{version}/composite/sobjects",
                post(rest::collection_write)
                    .patch(rest::collection_write)
                    .delete(rest::collection_delete),
            )
            .route(
                "/services/data/{version}/composite/sobjects/{object}/{field}",
                axum::routing::patch(rest::collection_upsert),
            )
            .route(
                "/services/data/{version}/composite/sobjects/{object}",
                post(rest::collection_retrieve),
            )
            .route("/services/data/{version}", get(rest::version_root))
            .route("/services/data/{version}/", get(rest::version_root))
            .with_state(state.clone())
            .merge(bulk::router(state.clone()))
            .route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                rest::push_after,
            ))
            .route_layer(axum::middleware::from_fn_with_state(core, faults_and_log));
        let running = Running::serve(router, port).await?;
        let _ = state.url.set(running.url());
        Ok(SalesforceSim { state, running })
    }

    /// The instance (and login) URL.
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// The org's settings.
    pub fn config(&self) -> &SalesforceSimConfig {
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

    /// A refresh token, as the org's web flow would hand one to an admin.
    pub fn refresh_token(&self) -> String {
        let mut tokens = self.state.tokens.lock().expect("tokens lock");
        tokens.issued += 1;
        let token = format!("5Aep861sandbox.refresh.{:06}", tokens.issued);
        tokens.refresh.insert(token.clone());
        token
    }

    /// Ends every session, as an org's session timeout does: the next call answers 401.
    pub fn expire_sessions(&self) {
        self.state
            .tokens
            .lock()
            .expect("tokens lock")
            .access
            .clear();
    }

    /// Plays the managed package: from now on every change posts its unit to `url` with
    /// `Authorization: Bearer <secret>`.
    pub fn push_to(&self, url: &str, secret: &str) {
        self.state.pushes.lock().expect("push lock").target = Some((url.into(), secret.into()));
    }

    /// The status each push was answered with (0: unreachable), in the order answered.
    pub fn push_answers(&self) -> Vec<u16> {
        self.state.pushes.lock().expect("push lock").answers.clone()
    }

    /// Makes the next `n` record writes fail with `UNABLE_TO_LOCK_ROW`.
    pub fn lock_rows(&self, n: u32) {
        self.store().lock_rows(n);
    }

    /// The org's records, to seed, change, or move the clock of.
    pub fn store(&self) -> std::sync::MutexGuard<'_, store::Store> {
        self.state.store.lock().expect("store lock")
    }
}
