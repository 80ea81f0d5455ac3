//! The Ergonode simulator plays Ergonode against a tiny app served here, which records the
//! handshake and every `PUT /consume/{event}` and checks each `X-APP-TOKEN` (HS256, the
//! handshake's secret), as vendor notes §1 and seed 002 describe Ergonode's Apps framework.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{post, put};
use axum::{Json, Router};
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use syncd_sandbox::ergonode::{
    BadToken, DeliveryFaults, ErgonodeSim, ErgonodeSimConfig, SyncKind, WireOptions,
};

/// One call the app received (answered 2xx or not).
#[derive(Clone, Debug)]
struct Received {
    endpoint: String,
    body: Value,
    claims: Value,
    status: u16,
}

#[derive(Default)]
struct AppState {
    /// (app_installation_id, shared_secret) from the handshake.
    installed: Mutex<Option<(String, String)>>,
    received: Mutex<Vec<Received>>,
    /// Endpoint → how many more times to answer 500.
    fail: Mutex<HashMap<String, u32>>,
}

type App = Arc<AppState>;

fn verify(token: &str, secret: &str) -> Option<Value> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "nbf", "iat"]);
    decode::<Value>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .ok()
    .map(|d| d.claims)
}

fn token_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-app-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn handshake(
    State(app): State<App>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    let Some(secret) = body["shared_secret"].as_str() else {
        return StatusCode::BAD_REQUEST;
    };
    let Some(claims) = token_of(&headers).and_then(|t| verify(&t, secret)) else {
        return StatusCode::UNAUTHORIZED;
    };
    let id = claims["app_installation_id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    *app.installed.lock().unwrap() = Some((id, secret.to_string()));
    app.received.lock().unwrap().push(Received {
        endpoint: "handshake".into(),
        body,
        claims,
        status: 200,
    });
    StatusCode::OK
}

async fn consume(
    State(app): State<App>,
    Path(event): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    let Some((id, secret)) = app.installed.lock().unwrap().clone() else {
        return StatusCode::UNAUTHORIZED;
    };
    let Some(claims) = token_of(&headers).and_then(|t| verify(&t, &secret)) else {
        return StatusCode::UNAUTHORIZED;
    };
    if claims["app_installation_id"] != json!(id) {
        return StatusCode::UNAUTHORIZED;
    }
    let status = {
        let mut fail = app.fail.lock().unwrap();
        match fail.get_mut(&event) {
            Some(n) if *n > 0 => {
                *n -= 1;
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::OK,
        }
    };
    app.received.lock().unwrap().push(Received {
        endpoint: event,
        body,
        claims,
        status: status.as_u16(),
    });
    status
}

/// The app under test on 127.0.0.1: its base URL and what it received.
async fn app() -> (String, App) {
    let state: App = Arc::default();
    let router = Router::new()
        .route("/handshake", post(handshake))
        .route("/consume/{event}", put(consume))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, state)
}

fn config() -> ErgonodeSimConfig {
    ErgonodeSimConfig {
        retry_backoff_ms: 5,
        ..ErgonodeSimConfig::default()
    }
}

/// Runs `test` with a deadline, so a hung call fails the test instead of hanging it.
async fn within<F: Future<Output = ()>>(test: F) {
    tokio::time::timeout(Duration::from_secs(60), test)
        .await
        .expect("the test finished before its deadline");
}

/// The successfully answered consume calls, from index `from` on.
fn consumed(app: &App, from: usize) -> Vec<Received> {
    app.received.lock().unwrap()[from..]
        .iter()
        .filter(|r| r.status == 200)
        .cloned()
        .collect()
}

fn received_len(app: &App) -> usize {
    app.received.lock().unwrap().len()
}

fn seed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seeds/002")
}

/// Seed 002's 21 event types (the fixtures' file names).
fn seed_types() -> BTreeSet<String> {
    std::fs::read_dir(seed_dir().join("events"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".json")
                .to_string()
        })
        .collect()
}

/// Structural check: every field `required` by `schema` is in `value`, recursively through
/// `properties` and array `items` (no `oneOf`).
fn check(schema: &Value, value: &Value, at: &str) {
    if let Some(required) = schema["required"].as_array() {
        for field in required {
            let field = field.as_str().unwrap();
            assert!(
                value.get(field).is_some(),
                "{at}: `{field}` is required: {value}"
            );
        }
    }
    if let (Some(props), Some(obj)) = (schema["properties"].as_object(), value.as_object()) {
        for (name, sub) in props {
            if let Some(v) = obj.get(name) {
                check(sub, v, &format!("{at}.{name}"));
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            check(items, v, &format!("{at}[{i}]"));
        }
    }
    if let Some(allowed) = schema["enum"].as_array() {
        assert!(allowed.contains(value), "{at}: {value} not in {allowed:?}");
    }
}

/// Checks every event of `body` against its seed schema; returns the event types.
fn check_events(body: &Value) -> Vec<String> {
    let events = body["synchronization"]["events"]
        .as_array()
        .expect("events");
    events
        .iter()
        .map(|e| {
            let kind = e["type"].as_str().expect("type").to_string();
            let path = seed_dir().join(format!("schemas/{kind}.schema.json"));
            let schema: Value = serde_json::from_str(
                &std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("a schema for {kind}")),
            )
            .unwrap();
            check(&schema, e, &kind);
            kind
        })
        .collect()
}

const RELATION_TYPES: [&str; 5] = [
    "product_variant_added",
    "product_variant_removed",
    "product_child_added",
    "product_child_quantity_changed",
    "product_child_removed",
];

/// The phase of a received call: started 0, attributes 1, categories 2, products 3,
/// relations 4, ended 5.
fn phase(r: &Received) -> u8 {
    let e = r.endpoint.as_str();
    if e == "synchronization_started" {
        0
    } else if e.starts_with("attribute_") {
        1
    } else if e.starts_with("category_") {
        2
    } else if e == "synchronization_ended" {
        5
    } else {
        let events = r.body["synchronization"]["events"].as_array().unwrap();
        let relations = !events.is_empty()
            && events
                .iter()
                .all(|ev| RELATION_TYPES.contains(&ev["type"].as_str().unwrap()));
        if relations {
            assert_eq!(
                e, "product_updated",
                "relations always come as product_updated"
            );
            4
        } else {
            3
        }
    }
}

fn endpoints(calls: &[Received]) -> Vec<String> {
    calls.iter().map(|r| r.endpoint.clone()).collect()
}

/// "Handshake at install: Ergonode sends `POST {app_url}/handshake` with `X-APP-TOKEN` and body
/// `{"shared_secret": "…"}`. The App stores the secret keyed by the claims
/// `app_installation_id` and `api_url`" and "`/consume/app_installed` body
/// `{"name":"app_installed"}`" (§1.2, §1.5).
#[tokio::test]
async fn install_does_the_handshake_then_app_installed() {
    within(async {
        let (url, app) = app().await;
        let sim = ErgonodeSim::start(config()).await.unwrap();
        let inst = sim.install(&url).await.unwrap();
        let got = app.received.lock().unwrap().clone();
        assert_eq!(endpoints(&got), ["handshake", "app_installed"]);
        assert_eq!(got[0].body, json!({"shared_secret": inst.shared_secret}));
        assert_eq!(got[1].body, json!({"name": "app_installed"}));
        for r in &got {
            assert_eq!(
                r.claims["app_installation_id"],
                json!(inst.app_installation_id)
            );
            assert_eq!(r.claims["api_url"], json!(sim.url()));
            assert!(r.claims.get("synchronization_id").is_none());
            let ttl = r.claims["exp"].as_i64().unwrap() - r.claims["iat"].as_i64().unwrap();
            assert!((240..=360).contains(&ttl), "about five minutes: {ttl}");
        }
        assert_eq!(inst.app_installation_id.len(), 36, "a UUID");
        let calls = sim.calls();
        assert_eq!(calls.len(), 2);
        assert!(calls.iter().all(|c| c.status == 200 && c.attempts == 1));
    })
    .await;
}

/// "Phases: start → … → attributes → categories → products → relations (variants, children,
/// product-relation values; always as `product_updated`, after all products exist) → end" and
/// "Synchronization calls add claim `synchronization_id`" (§1.6, §1.2); events per seed 002.
#[tokio::test]
async fn a_full_synchronization_sends_the_phases_in_order_with_valid_events() {
    within(async {
        let (url, app) = app().await;
        let sim = ErgonodeSim::start(config()).await.unwrap();
        sim.install(&url).await.unwrap();
        let from = received_len(&app);
        let report = sim.synchronize(SyncKind::Full).await.unwrap();
        assert!(report.completed && !report.interrupted, "{report:?}");
        let got = consumed(&app, from);
        assert_eq!(got.len(), report.calls);
        assert_eq!(got.first().unwrap().endpoint, "synchronization_started");
        assert_eq!(got.last().unwrap().endpoint, "synchronization_ended");
        let phases: Vec<u8> = got.iter().map(phase).collect();
        assert!(
            phases.windows(2).all(|w| w[0] <= w[1]),
            "phase order: {phases:?}"
        );
        for p in 0..=5 {
            assert!(phases.contains(&p), "phase {p} present: {phases:?}");
        }
        let catalog = sim.catalog();
        let products = got
            .iter()
            .filter(|r| r.endpoint == "product_created")
            .count();
        assert_eq!(products, catalog.products.len());
        assert_eq!(products, 20, "the default catalog");
        for r in &got {
            assert_eq!(r.claims["synchronization_id"], json!(report.id));
            if phase(r) == 0 || phase(r) == 5 {
                continue;
            }
            assert_eq!(r.body["name"], json!(r.endpoint));
            assert_eq!(r.body["synchronization"]["resource_customs"], Value::Null);
            let id_type = match phase(r) {
                1 => "attribute_code",
                2 => "category_code",
                _ => "sku",
            };
            assert_eq!(r.body["resource_id"]["type"], json!(id_type));
            assert!(r.body["resource_id"]["id"].is_string());
            let types = check_events(&r.body);
            assert!(!types.is_empty());
        }
        // A variable product's variants carry their SELECT binding values.
        let variant = got
            .iter()
            .flat_map(|r| {
                r.body["synchronization"]["events"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .find(|e| e["type"] == "product_variant_added")
            .expect("a variant");
        assert_eq!(
            variant["payload"]["binding_values"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    })
    .await;
}

/// Seed 002 lists 21 event types, each "included with" attribute/category/product
/// created/updated events: a full synchronization plus the scripted delta produce all of them;
/// "`synchronization.events` is always `[]` for `*_deleted`" (§1.6).
#[tokio::test]
async fn full_sync_and_the_scripted_delta_produce_all_21_event_types() {
    within(async {
        let (url, app) = app().await;
        let sim = ErgonodeSim::start(config()).await.unwrap();
        sim.install(&url).await.unwrap();
        let from = received_len(&app);
        sim.synchronize(SyncKind::Full).await.unwrap();
        sim.script().unwrap();
        let report = sim.synchronize(SyncKind::Delta).await.unwrap();
        assert!(report.completed, "{report:?}");
        let mut seen = BTreeSet::new();
        for r in consumed(&app, from) {
            if r.endpoint.ends_with("_deleted") {
                assert_eq!(r.body["synchronization"]["events"], json!([]));
            }
            if phase(&r) != 0 && phase(&r) != 5 {
                seen.extend(check_events(&r.body));
            }
        }
        let wanted = seed_types();
        assert_eq!(wanted.len(), 21);
        let missing: Vec<_> = wanted.difference(&seen).collect();
        assert!(missing.is_empty(), "never produced: {missing:?}");
        assert!(seen.is_subset(&wanted), "only seed types: {seen:?}");
    })
    .await;
}

/// "`synchronization` = delta (first run sends full state, later runs only changes since the
/// previous run)" (§1.3).
#[tokio::test]
async fn a_delta_sends_only_the_changes() {
    within(async {
        let (url, app) = app().await;
        let sim = ErgonodeSim::start(config()).await.unwrap();
        sim.install(&url).await.unwrap();
        let from = received_len(&app);
        let first = sim.synchronize(SyncKind::Delta).await.unwrap();
        let full_calls = consumed(&app, from).len();
        assert_eq!(first.calls, full_calls);
        assert!(
            full_calls > 30,
            "the first delta is the full state: {full_calls}"
        );

        let from = received_len(&app);
        sim.synchronize(SyncKind::Delta).await.unwrap();
        assert_eq!(
            endpoints(&consumed(&app, from)),
            ["synchronization_started", "synchronization_ended"],
            "nothing changed"
        );

        sim.change(&[syncd_sandbox::ergonode::Change::RenameCategory {
            code: "shoes".into(),
            language: "de_DE".into(),
            name: "Stiefel".into(),
        }])
        .unwrap();
        let from = received_len(&app);
        sim.synchronize(SyncKind::Delta).await.unwrap();
        let got = consumed(&app, from);
        assert_eq!(
            endpoints(&got),
            [
                "synchronization_started",
                "category_updated",
                "synchronization_ended"
            ]
        );
        assert_eq!(
            got[1].body["resource_id"],
            json!({"id": "shoes", "type": "category_code"})
        );
        let events = &got[1].body["synchronization"]["events"];
        assert_eq!(events[0]["type"], "category_name_changed");
        assert!(events[0]["payload"]["name"]
            .as_array()
            .unwrap()
            .contains(&json!({"language": "de_DE", "value": "Stiefel"})));

        // A full synchronization still sends everything.
        let from = received_len(&app);
        sim.synchronize(SyncKind::Full).await.unwrap();
        assert_eq!(consumed(&app, from).len(), full_calls);
    })
    .await;
}

/// "All are `PUT /consume/{event}`, 2xx = success" (§1.6): a non-2xx answer is retried.
#[tokio::test]
async fn a_non_2xx_answer_is_retried() {
    within(async {
        let (url, app) = app().await;
        let sim = ErgonodeSim::start(ErgonodeSimConfig {
            retries: 3,
            ..config()
        })
        .await
        .unwrap();
        sim.install(&url).await.unwrap();
        app.fail
            .lock()
            .unwrap()
            .insert("category_created".into(), 2);
        let report = sim.synchronize(SyncKind::Full).await.unwrap();
        assert!(report.completed, "{report:?}");
        let calls = sim.calls();
        let first = calls
            .iter()
            .find(|c| c.endpoint == "category_created")
            .unwrap();
        assert_eq!((first.status, first.attempts), (200, 3));
        let answered: Vec<u16> = app
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.endpoint == "category_created")
            .map(|r| r.status)
            .take(3)
            .collect();
        assert_eq!(answered, [500, 500, 200]);

        // Out of retries: the synchronization stops, no `_ended`, nothing becomes the baseline.
        app.fail
            .lock()
            .unwrap()
            .insert("category_created".into(), 10);
        let from = received_len(&app);
        let report = sim.synchronize(SyncKind::Full).await.unwrap();
        assert!(report.interrupted && !report.completed && report.failed == 1);
        let last = sim.calls().last().unwrap().clone();
        assert_eq!((last.status, last.attempts), (500, 4));
        assert!(!endpoints(&consumed(&app, from)).contains(&"synchronization_ended".to_string()));
    })
    .await;
}

/// Delivery faults on request: every call sent twice, in a row, with the same
/// `synchronization_id`; reordered calls stay within their phase.
#[tokio::test]
async fn duplicates_and_reordering_are_sent_when_asked() {
    within(async {
        let (url, app) = app().await;
        let sim = ErgonodeSim::start(ErgonodeSimConfig {
            delivery: DeliveryFaults {
                duplicate_rate: 1.0,
                reorder: true,
            },
            ..config()
        })
        .await
        .unwrap();
        sim.install(&url).await.unwrap();
        let from = received_len(&app);
        let report = sim.synchronize(SyncKind::Full).await.unwrap();
        let got = consumed(&app, from);
        assert_eq!(got.len(), report.calls);
        assert_eq!(got.len() % 2, 0);
        for pair in got.chunks(2) {
            assert_eq!(pair[0].endpoint, pair[1].endpoint);
            assert_eq!(pair[0].body, pair[1].body);
        }
        assert_eq!(
            sim.calls().iter().filter(|c| c.duplicate).count(),
            got.len() / 2
        );
        let phases: Vec<u8> = got.iter().map(phase).collect();
        assert!(
            phases.windows(2).all(|w| w[0] <= w[1]),
            "phase order: {phases:?}"
        );
        let skus: Vec<Value> = got
            .iter()
            .step_by(2)
            .filter(|r| r.endpoint == "product_created")
            .map(|r| r.body["resource_id"]["id"].clone())
            .collect();
        let mut sorted = skus.clone();
        sorted.sort_by_key(|v| v.as_str().unwrap().to_string());
        assert_ne!(skus, sorted, "reordered within the products phase");
    })
    .await;
}

/// An interrupted synchronization never sends `synchronization_ended` (§1.6's end phase), and
/// the next delta starts again from the last completed one.
#[tokio::test]
async fn an_interrupted_synchronization_sends_no_ended() {
    within(async {
        let (url, app) = app().await;
        let sim = ErgonodeSim::start(config()).await.unwrap();
        sim.install(&url).await.unwrap();
        let from = received_len(&app);
        let report = sim
            .synchronize_interrupted(SyncKind::Full, 6)
            .await
            .unwrap();
        assert!(report.interrupted && !report.completed);
        let got = consumed(&app, from);
        assert_eq!(got.len(), 6);
        assert_eq!(got[0].endpoint, "synchronization_started");
        assert!(!endpoints(&got).contains(&"synchronization_ended".to_string()));

        let from = received_len(&app);
        let next = sim.synchronize(SyncKind::Delta).await.unwrap();
        assert_ne!(next.id, report.id);
        let got = consumed(&app, from);
        assert_eq!(
            got.iter()
                .filter(|r| r.endpoint == "product_created")
                .count(),
            20,
            "no completed synchronization yet: the delta is the full state"
        );
        assert_eq!(got.last().unwrap().endpoint, "synchronization_ended");
    })
    .await;
}

/// "Verifying an incoming call: read `X-APP-TOKEN` → decode without verifying to get
/// `app_installation_id` → load that installation's secret → verify HS256" (§1.2): the bad
/// tokens the simulator sends are refused by an app that checks.
#[tokio::test]
async fn bad_tokens_are_refused_by_a_checking_app() {
    within(async {
        let (url, _app) = app().await;
        let sim = ErgonodeSim::start(config()).await.unwrap();
        sim.install(&url).await.unwrap();
        for bad in [
            BadToken::WrongSecret,
            BadToken::Expired,
            BadToken::NotYetValid,
            BadToken::UnknownInstallation,
            BadToken::Missing,
            BadToken::Garbage,
        ] {
            let status = sim
                .send_bad_token(bad, "synchronization_started")
                .await
                .unwrap();
            assert_eq!(status, 401, "{bad:?}");
        }
        // And a good one passes.
        let token = sim
            .token(Some("5a4e4c1e-0000-4000-8000-000000000000"))
            .unwrap();
        let status = reqwest::Client::new()
            .put(format!("{url}/consume/synchronization_started"))
            .header("X-APP-TOKEN", token)
            .json(&json!({"name": "synchronization_started"}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    })
    .await;
}

/// The simulator's own HTTP controls drive the same: install, synchronize, state.
#[tokio::test]
async fn http_controls_install_and_synchronize() {
    within(async {
        let (url, app) = app().await;
        let sim = ErgonodeSim::start(ErgonodeSimConfig {
            products: 12,
            ..config()
        })
        .await
        .unwrap();
        let http = reqwest::Client::new();
        let base = sim.url();
        let early = http
            .post(format!("{base}/_sandbox/synchronize"))
            .json(&json!({"full": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(early.status(), 409, "nothing installed yet");
        let inst: Value = http
            .post(format!("{base}/_sandbox/install"))
            .json(&json!({"app_url": url}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(inst["app_installation_id"].is_string());
        let report: Value = http
            .post(format!("{base}/_sandbox/synchronize"))
            .json(&json!({"full": true}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(report["completed"], json!(true));
        let id = report["id"].as_str().unwrap();
        let script = http
            .post(format!("{base}/_sandbox/script"))
            .send()
            .await
            .unwrap();
        assert_eq!(script.status(), 200);
        let state: Value = http
            .get(format!("{base}/_sandbox/state"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(state["catalog"]["products"], json!(12 + 2 - 1));
        assert!(state["pending_delta_calls"].as_u64().unwrap() > 5);
        assert_eq!(state["synchronizations"][0]["id"], json!(id));
        assert_eq!(
            consumed(&app, 0)
                .iter()
                .filter(|r| r.endpoint == "product_created")
                .count(),
            12
        );
        assert_eq!(sim.log().calls("POST /_sandbox/synchronize"), 2);
    })
    .await;
}

/// Seed 002's `product_value_added` example keys a local value's translations `translation`
/// while its schema says `value`: the simulator sends the schema's key unless told otherwise.
#[tokio::test]
async fn the_local_value_key_is_configurable() {
    within(async {
        let value_items = |sim: &ErgonodeSim| {
            sim.plan(SyncKind::Full)
                .into_iter()
                .flat_map(|c| {
                    c.body["synchronization"]["events"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .filter(|e| e["payload"]["attribute_code"] == "name")
                .flat_map(|e| e["payload"]["value"].as_array().cloned().unwrap())
                .collect::<Vec<Value>>()
        };
        let plain = ErgonodeSim::start(config()).await.unwrap();
        let items = value_items(&plain);
        assert!(!items.is_empty());
        assert!(items
            .iter()
            .all(|i| i["language"].is_string() && i["value"].is_string()));
        let wire = WireOptions {
            local_value_key: "translation".into(),
            ..WireOptions::default()
        };
        let other = ErgonodeSim::start(ErgonodeSimConfig { wire, ..config() })
            .await
            .unwrap();
        let items = value_items(&other);
        assert!(items
            .iter()
            .all(|i| i["translation"].is_string() && i.get("value").is_none()));
    })
    .await;
}
