//! Ergonode PIM, as an app meets it (vendor notes §1, seed 002): Ergonode pushes. The simulator
//! installs an app (`POST {app_url}/handshake` with `{"shared_secret"}`, then
//! `PUT {app_url}/consume/app_installed`), signs every call with an HS256 `X-APP-TOKEN`, and
//! synchronizes its seeded catalog (`catalog`) by `PUT {app_url}/consume/{endpoint}` calls
//! (`events`): `synchronization_started`, then attributes → categories → products →
//! relations (variants and children, always as `product_updated`), then
//! `synchronization_ended`. A delta sends the changes since the last completed
//! synchronization (the first: full state), a full one everything. Delivery faults: retries
//! with backoff on non-2xx, duplicates, reordering within a phase, interruption midway.
//! Its own small HTTP API (`/_sandbox/*`) drives the same from outside.

pub mod catalog;
pub mod events;
pub mod token;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::faults::FaultPlan;
use crate::server::{faults_and_log, Running, SimCore};
use crate::RequestLog;

pub use catalog::{Catalog, Change};
pub use events::{Phase, PlannedCall, WireOptions};
pub use token::AppClaims;

/// How delivery goes wrong, on request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliveryFaults {
    /// Share of calls sent twice in a row (1.0: every call).
    pub duplicate_rate: f64,
    /// Shuffle the calls within each phase (attributes, categories, products, relations).
    pub reorder: bool,
}

/// How the simulated Ergonode is set up.
#[derive(Clone, Debug)]
pub struct ErgonodeSimConfig {
    /// Products in the seeded catalog (from 10 up it has variable and grouping products).
    pub products: usize,
    /// The port of the simulator's own API; 0 for an ephemeral one.
    pub port: u16,
    /// Faults of the simulator's own API.
    pub faults: FaultPlan,
    /// Seeds the catalog and the delivery faults' draws.
    pub seed: u64,
    /// Retries of a call answered non-2xx (or unreachable), after the first attempt.
    pub retries: u32,
    /// Backoff before the first retry, doubled each retry.
    pub retry_backoff_ms: u64,
    /// Delivery faults.
    pub delivery: DeliveryFaults,
    /// Lifetime of each `X-APP-TOKEN` (≈ 5 minutes).
    pub token_ttl_secs: i64,
    /// Go on with the next call (and send `synchronization_ended`) when a call still fails
    /// after its retries; by default the synchronization stops there, without `_ended`.
    pub continue_on_failure: bool,
    /// Add `"full": bool` to the `synchronization_started`/`_ended` bodies (unconfirmed).
    pub announce_kind: bool,
    /// The unconfirmed parts of the wire format.
    pub wire: WireOptions,
    /// Timeout of each call to the app.
    pub call_timeout: Duration,
}

impl Default for ErgonodeSimConfig {
    fn default() -> Self {
        ErgonodeSimConfig {
            products: 20,
            port: 0,
            faults: FaultPlan::none(),
            seed: 2,
            retries: 3,
            retry_backoff_ms: 50,
            delivery: DeliveryFaults::default(),
            token_ttl_secs: 300,
            continue_on_failure: false,
            announce_kind: false,
            wire: WireOptions::default(),
            call_timeout: Duration::from_secs(30),
        }
    }
}

/// Full or delta synchronization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncKind {
    /// Changes since the last completed synchronization (the first: everything).
    Delta,
    /// Everything.
    Full,
}

/// An installed app.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Installation {
    /// The app's base URL.
    pub app_url: String,
    /// The installation's id (UUID), the token's `app_installation_id`.
    pub app_installation_id: String,
    /// The shared secret sent in the handshake.
    pub shared_secret: String,
}

/// One call sent to the app, with its final answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SentCall {
    /// `handshake`, `app_installed`, `attribute_created`, … (the path after `/consume/`).
    pub endpoint: String,
    /// The resource's code or SKU (none for non-resource calls).
    pub resource: Option<String>,
    /// The synchronization it belongs to.
    pub synchronization_id: Option<String>,
    /// The last attempt's status; 0 when the app was unreachable.
    pub status: u16,
    /// Attempts made (1 + retries used).
    pub attempts: u32,
    /// A deliberate duplicate of the call before it.
    pub duplicate: bool,
    /// The body sent.
    pub body: Value,
}

impl SentCall {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What one synchronization did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SyncReport {
    /// The `synchronization_id`.
    pub id: String,
    /// Full or delta.
    pub kind: SyncKind,
    /// Calls sent (duplicates included, retries not).
    pub calls: usize,
    /// Calls still failing after their retries.
    pub failed: usize,
    /// Stopped before `synchronization_ended` (on request or by a failure).
    pub interrupted: bool,
    /// Ended with every call acknowledged: the next delta starts from this state.
    pub completed: bool,
}

/// What went wrong driving the app.
#[derive(Debug, thiserror::Error)]
pub enum ErgonodeError {
    /// No app installed yet.
    #[error("no app installed")]
    NotInstalled,
    /// The handshake was not answered 2xx (0: unreachable).
    #[error("handshake answered {0}")]
    Handshake(u16),
    /// A catalog change did not apply.
    #[error("change rejected: {0}")]
    Change(String),
}

/// A deliberately bad `X-APP-TOKEN`, for tests of the app's checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadToken {
    /// Signed with another secret.
    WrongSecret,
    /// Expired an hour ago.
    Expired,
    /// Not valid before an hour from now.
    NotYetValid,
    /// An `app_installation_id` the app never saw (signed with the real secret).
    UnknownInstallation,
    /// No `X-APP-TOKEN` header at all.
    Missing,
    /// Not a JWT.
    Garbage,
}

struct SimState {
    installation: Option<Installation>,
    catalog: Catalog,
    baseline: Option<Catalog>,
    calls: Vec<SentCall>,
    syncs: Vec<SyncReport>,
    rng: fastrand::Rng,
    delivery: DeliveryFaults,
}

struct Ergonode {
    config: ErgonodeSimConfig,
    core: Arc<SimCore>,
    http: reqwest::Client,
    url: OnceLock<String>,
    state: Mutex<SimState>,
    syncing: tokio::sync::Mutex<()>,
}

impl Ergonode {
    fn url(&self) -> String {
        self.url.get().cloned().unwrap_or_default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SimState> {
        self.state.lock().expect("ergonode state lock")
    }

    fn installation(&self) -> Result<Installation, ErgonodeError> {
        self.state()
            .installation
            .clone()
            .ok_or(ErgonodeError::NotInstalled)
    }

    /// One attempt: `method url` with a fresh token; the status (0: unreachable).
    async fn attempt(&self, post: bool, url: &str, token: Option<&str>, body: &Value) -> u16 {
        let request = if post {
            self.http.post(url)
        } else {
            self.http.put(url)
        };
        let request = match token {
            Some(t) => request.header(token::HEADER, t),
            None => request,
        };
        match request
            .timeout(self.config.call_timeout)
            .json(body)
            .send()
            .await
        {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        }
    }

    /// Sends one call with retries and records it.
    async fn deliver(
        &self,
        inst: &Installation,
        endpoint: &str,
        resource: Option<String>,
        sync: Option<&str>,
        body: &Value,
        duplicate: bool,
    ) -> SentCall {
        let (post, url) = if endpoint == "handshake" {
            (
                true,
                format!("{}/handshake", inst.app_url.trim_end_matches('/')),
            )
        } else {
            (
                false,
                format!("{}/consume/{endpoint}", inst.app_url.trim_end_matches('/')),
            )
        };
        let mut attempts = 0;
        let mut status;
        loop {
            attempts += 1;
            let claims = AppClaims::now(
                &inst.app_installation_id,
                &self.url(),
                self.config.token_ttl_secs,
                sync,
            );
            let token = token::sign(&inst.shared_secret, &claims);
            status = self.attempt(post, &url, Some(&token), body).await;
            if (200..300).contains(&status) || attempts > self.config.retries {
                break;
            }
            let backoff = self
                .config
                .retry_backoff_ms
                .saturating_mul(1 << (attempts - 1).min(10));
            tokio::time::sleep(Duration::from_millis(backoff)).await;
        }
        let call = SentCall {
            endpoint: endpoint.into(),
            resource,
            synchronization_id: sync.map(str::to_string),
            status,
            attempts,
            duplicate,
            body: body.clone(),
        };
        self.state().calls.push(call.clone());
        call
    }

    async fn install(&self, app_url: &str) -> Result<Installation, ErgonodeError> {
        let inst = Installation {
            app_url: app_url.trim_end_matches('/').to_string(),
            app_installation_id: token::uuid4(),
            shared_secret: token::random_hex(32),
        };
        let hs = self
            .deliver(
                &inst,
                "handshake",
                None,
                None,
                &json!({"shared_secret": inst.shared_secret}),
                false,
            )
            .await;
        if !hs.ok() {
            return Err(ErgonodeError::Handshake(hs.status));
        }
        {
            let mut s = self.state();
            s.installation = Some(inst.clone());
            s.baseline = None;
        }
        self.deliver(
            &inst,
            "app_installed",
            None,
            None,
            &json!({"name": "app_installed"}),
            false,
        )
        .await;
        Ok(inst)
    }

    async fn uninstall(&self) -> Result<u16, ErgonodeError> {
        let inst = self.installation()?;
        let call = self
            .deliver(
                &inst,
                "app_uninstalled",
                None,
                None,
                &json!({"name": "app_uninstalled"}),
                false,
            )
            .await;
        let mut s = self.state();
        s.installation = None;
        s.baseline = None;
        Ok(call.status)
    }

    async fn synchronize(
        &self,
        kind: SyncKind,
        stop_after: Option<usize>,
    ) -> Result<SyncReport, ErgonodeError> {
        let _one_at_a_time = self.syncing.lock().await;
        let inst = self.installation()?;
        let (catalog, baseline) = {
            let s = self.state();
            (s.catalog.clone(), s.baseline.clone())
        };
        let full = kind == SyncKind::Full;
        let mut planned = events::plan(
            if full { None } else { baseline.as_ref() },
            &catalog,
            &self.config.wire,
        );
        let delivery = self.state().delivery.clone();
        if delivery.reorder {
            let mut s = self.state();
            let mut start = 0;
            while start < planned.len() {
                let phase = planned[start].phase;
                let end = planned[start..]
                    .iter()
                    .position(|c| c.phase != phase)
                    .map_or(planned.len(), |n| start + n);
                s.rng.shuffle(&mut planned[start..end]);
                start = end;
            }
        }
        let announce = self.config.announce_kind;
        let mut calls = vec![events::bracket("synchronization_started", full, announce)];
        calls.extend(planned);
        calls.push(events::bracket("synchronization_ended", full, announce));
        let id = token::uuid4();
        let mut report = SyncReport {
            id: id.clone(),
            kind,
            calls: 0,
            failed: 0,
            interrupted: false,
            completed: false,
        };
        for (i, call) in calls.into_iter().enumerate() {
            if stop_after.is_some_and(|n| i >= n) {
                report.interrupted = true;
                break;
            }
            let twice = {
                let mut s = self.state();
                let rate = delivery.duplicate_rate;
                rate > 0.0 && s.rng.f64() < rate
            };
            let sent = self
                .deliver(
                    &inst,
                    &call.endpoint,
                    call.resource.clone(),
                    Some(&id),
                    &call.body,
                    false,
                )
                .await;
            report.calls += 1;
            if !sent.ok() {
                report.failed += 1;
                if !self.config.continue_on_failure {
                    report.interrupted = true;
                    break;
                }
            }
            if twice {
                self.deliver(
                    &inst,
                    &call.endpoint,
                    call.resource,
                    Some(&id),
                    &call.body,
                    true,
                )
                .await;
                report.calls += 1;
            }
        }
        report.completed = !report.interrupted && report.failed == 0;
        let mut s = self.state();
        if report.completed {
            s.baseline = Some(catalog);
        }
        s.syncs.push(report.clone());
        Ok(report)
    }

    async fn send_bad_token(&self, bad: BadToken, endpoint: &str) -> Result<u16, ErgonodeError> {
        let inst = self.installation()?;
        let now = chrono::Utc::now().timestamp();
        let sync = token::uuid4();
        let mut claims = AppClaims::now(
            &inst.app_installation_id,
            &self.url(),
            self.config.token_ttl_secs,
            Some(&sync),
        );
        let mut secret = inst.shared_secret.clone();
        let token = match bad {
            BadToken::WrongSecret => {
                secret = token::random_hex(32);
                Some(token::sign(&secret, &claims))
            }
            BadToken::Expired => {
                claims.iat = now - 7200;
                claims.nbf = now - 7200;
                claims.exp = now - 3600;
                Some(token::sign(&secret, &claims))
            }
            BadToken::NotYetValid => {
                claims.nbf = now + 3600;
                claims.exp = now + 7200;
                Some(token::sign(&secret, &claims))
            }
            BadToken::UnknownInstallation => {
                claims.app_installation_id = token::uuid4();
                Some(token::sign(&secret, &claims))
            }
            BadToken::Missing => None,
            BadToken::Garbage => Some("not-a-jwt".to_string()),
        };
        let url = format!("{}/consume/{endpoint}", inst.app_url);
        let body = json!({"name": endpoint});
        Ok(self.attempt(false, &url, token.as_deref(), &body).await)
    }

    fn apply(&self, changes: &[Change]) -> Result<(), ErgonodeError> {
        let mut s = self.state();
        for c in changes {
            s.catalog.apply(c).map_err(ErgonodeError::Change)?;
        }
        Ok(())
    }

    fn snapshot(&self) -> Value {
        let s = self.state();
        let pending = events::plan(s.baseline.as_ref(), &s.catalog, &self.config.wire).len();
        json!({
            "url": self.url(),
            "installation": s.installation,
            "catalog": {
                "attributes": s.catalog.attributes.len(),
                "categories": s.catalog.categories.len(),
                "products": s.catalog.products.len(),
            },
            "pending_delta_calls": pending,
            "synchronizations": s.syncs,
            "calls": s.calls.iter().map(|c| json!({
                "endpoint": c.endpoint,
                "resource": c.resource,
                "synchronization_id": c.synchronization_id,
                "status": c.status,
                "attempts": c.attempts,
                "duplicate": c.duplicate,
            })).collect::<Vec<_>>(),
        })
    }
}

/// A running Ergonode simulator.
pub struct ErgonodeSim {
    state: Arc<Ergonode>,
    running: Running,
}

impl ErgonodeSim {
    /// Seeds the catalog and serves the simulator's own API on 127.0.0.1.
    pub async fn start(config: ErgonodeSimConfig) -> std::io::Result<Self> {
        let core = Arc::new(SimCore::new(config.faults.clone()));
        let port = config.port;
        let state = Arc::new(Ergonode {
            state: Mutex::new(SimState {
                installation: None,
                catalog: Catalog::seeded(config.products, config.seed),
                baseline: None,
                calls: Vec::new(),
                syncs: Vec::new(),
                rng: fastrand::Rng::with_seed(config.seed),
                delivery: config.delivery.clone(),
            }),
            http: reqwest::Client::new(),
            core: core.clone(),
            config,
            url: OnceLock::new(),
            syncing: tokio::sync::Mutex::new(()),
        });
        let router = Router::new()
            .route("/_sandbox/install", post(http_install))
            .route("/_sandbox/uninstall", post(http_uninstall))
            .route("/_sandbox/synchronize", post(http_synchronize))
            .route("/_sandbox/change", post(http_change))
            .route("/_sandbox/script", post(http_script))
            .route("/_sandbox/bad_token", post(http_bad_token))
            .route("/_sandbox/state", get(http_state))
            .with_state(state.clone())
            .route_layer(axum::middleware::from_fn_with_state(core, faults_and_log));
        let running = Running::serve(router, port).await?;
        let _ = state.url.set(running.url());
        Ok(ErgonodeSim { state, running })
    }

    /// The simulator's URL (also the tokens' `api_url`).
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// Its settings.
    pub fn config(&self) -> &ErgonodeSimConfig {
        &self.state.config
    }

    /// Calls per endpoint of the simulator's own API.
    pub fn log(&self) -> &RequestLog {
        &self.state.core.log
    }

    /// Replaces how the next synchronizations' calls go wrong (duplicates, order).
    pub fn set_delivery(&self, delivery: DeliveryFaults) {
        self.state.state().delivery = delivery;
    }

    /// Replaces the fault plan of the simulator's own API.
    pub fn set_faults(&self, plan: FaultPlan) {
        self.state.core.set_plan(plan);
    }

    /// Installs the app at `app_url`: handshake with a fresh secret and installation id, then
    /// `app_installed`. A new installation's first delta is the full state.
    pub async fn install(&self, app_url: &str) -> Result<Installation, ErgonodeError> {
        self.state.install(app_url).await
    }

    /// Sends `app_uninstalled` and forgets the installation; the app's answer.
    pub async fn uninstall(&self) -> Result<u16, ErgonodeError> {
        self.state.uninstall().await
    }

    /// The current installation.
    pub fn installation(&self) -> Option<Installation> {
        self.state.state().installation.clone()
    }

    /// Runs one synchronization to its end.
    pub async fn synchronize(&self, kind: SyncKind) -> Result<SyncReport, ErgonodeError> {
        self.state.synchronize(kind, None).await
    }

    /// Runs one synchronization but stops after `after_calls` calls (counting
    /// `synchronization_started`): never sends `synchronization_ended`.
    pub async fn synchronize_interrupted(
        &self,
        kind: SyncKind,
        after_calls: usize,
    ) -> Result<SyncReport, ErgonodeError> {
        self.state.synchronize(kind, Some(after_calls)).await
    }

    /// The calls a synchronization of `kind` would send now, between started and ended.
    pub fn plan(&self, kind: SyncKind) -> Vec<PlannedCall> {
        let s = self.state.state();
        let base = match kind {
            SyncKind::Full => None,
            SyncKind::Delta => s.baseline.as_ref(),
        };
        events::plan(base, &s.catalog, &self.state.config.wire)
    }

    /// Every call sent so far, in order.
    pub fn calls(&self) -> Vec<SentCall> {
        self.state.state().calls.clone()
    }

    /// Every synchronization so far.
    pub fn synchronizations(&self) -> Vec<SyncReport> {
        self.state.state().syncs.clone()
    }

    /// Applies catalog edits (all or up to the first that fails).
    pub fn change(&self, changes: &[Change]) -> Result<(), ErgonodeError> {
        self.state.apply(changes)
    }

    /// Applies the scripted edits (see `Catalog::script`): with the full synchronization before
    /// them, the next delta carries every one of seed 002's event types. Returns them.
    pub fn script(&self) -> Result<Vec<Change>, ErgonodeError> {
        let changes = self.state.state().catalog.script();
        self.state.apply(&changes)?;
        Ok(changes)
    }

    /// The current catalog.
    pub fn catalog(&self) -> Catalog {
        self.state.state().catalog.clone()
    }

    /// Sends `PUT /consume/{endpoint}` with a bad token; the app's answer (0: unreachable).
    pub async fn send_bad_token(
        &self,
        bad: BadToken,
        endpoint: &str,
    ) -> Result<u16, ErgonodeError> {
        self.state.send_bad_token(bad, endpoint).await
    }

    /// Signs a token for the current installation (for tests that call the app directly).
    pub fn token(&self, synchronization_id: Option<&str>) -> Result<String, ErgonodeError> {
        let inst = self.state.installation()?;
        let claims = AppClaims::now(
            &inst.app_installation_id,
            &self.url(),
            self.state.config.token_ttl_secs,
            synchronization_id,
        );
        Ok(token::sign(&inst.shared_secret, &claims))
    }
}

fn error(e: ErgonodeError) -> Response {
    let status = match e {
        ErgonodeError::NotInstalled => StatusCode::CONFLICT,
        ErgonodeError::Handshake(_) => StatusCode::BAD_GATEWAY,
        ErgonodeError::Change(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    (status, Json(json!({"error": e.to_string()}))).into_response()
}

#[derive(Deserialize)]
struct InstallBody {
    app_url: String,
}

async fn http_install(State(s): State<Arc<Ergonode>>, Json(b): Json<InstallBody>) -> Response {
    match s.install(&b.app_url).await {
        Ok(inst) => Json(inst).into_response(),
        Err(e) => error(e),
    }
}

async fn http_uninstall(State(s): State<Arc<Ergonode>>) -> Response {
    match s.uninstall().await {
        Ok(status) => Json(json!({"app_status": status})).into_response(),
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
struct SyncBody {
    #[serde(default)]
    full: bool,
    #[serde(default)]
    after_calls: Option<usize>,
}

async fn http_synchronize(State(s): State<Arc<Ergonode>>, Json(b): Json<SyncBody>) -> Response {
    let kind = if b.full {
        SyncKind::Full
    } else {
        SyncKind::Delta
    };
    match s.synchronize(kind, b.after_calls).await {
        Ok(r) => Json(r).into_response(),
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ChangeBody {
    Many(Vec<Change>),
    One(Change),
}

async fn http_change(State(s): State<Arc<Ergonode>>, Json(b): Json<ChangeBody>) -> Response {
    let changes = match b {
        ChangeBody::Many(v) => v,
        ChangeBody::One(c) => vec![c],
    };
    match s.apply(&changes) {
        Ok(()) => Json(json!({"applied": changes.len()})).into_response(),
        Err(e) => error(e),
    }
}

async fn http_script(State(s): State<Arc<Ergonode>>) -> Response {
    let changes = s.state().catalog.script();
    match s.apply(&changes) {
        Ok(()) => Json(json!({"applied": changes})).into_response(),
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
struct BadTokenBody {
    kind: BadToken,
    #[serde(default = "default_bad_endpoint")]
    endpoint: String,
}

fn default_bad_endpoint() -> String {
    "synchronization_started".into()
}

async fn http_bad_token(State(s): State<Arc<Ergonode>>, Json(b): Json<BadTokenBody>) -> Response {
    match s.send_bad_token(b.kind, &b.endpoint).await {
        Ok(status) => Json(json!({"app_status": status})).into_response(),
        Err(e) => error(e),
    }
}

async fn http_state(State(s): State<Arc<Ergonode>>) -> Json<Value> {
    Json(s.snapshot())
}
