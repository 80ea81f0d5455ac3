//! The NewStore simulator models NewStore as seed 003 and the vendor notes describe it, driven
//! by plain HTTP as any client would: every fulfillment event takes its own increasing logical
//! timestamp and is posted to the event stream with its bearer key; a failure releases its
//! allocation at once; a completion holds it until an import's range covers the completion;
//! import jobs go received → waiting → finished, at most twenty open.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::routing::{get, post};
use serde_json::{json, Value};
use syncd_sandbox::newstore::{NewStoreSim, NewStoreSimConfig};

type Posted = Arc<Mutex<Vec<(String, Value)>>>;

/// A webhook receiver on 127.0.0.1 that keeps each post's `Authorization` and body.
async fn receiver() -> (String, Posted) {
    let posted: Posted = Arc::default();
    let keep = posted.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: axum::Json<Value>| {
            let keep = keep.clone();
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                keep.lock().unwrap().push((auth, body.0));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, posted)
}

/// Serves `bytes` at a URL on 127.0.0.1, as the file host NewStore downloads imports from.
async fn file_host(bytes: Vec<u8>) -> String {
    let app = axum::Router::new().route("/import.zip", get(move || async move { bytes.clone() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/import.zip", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn zip_of(availabilities: Value) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    out.start_file(
        "availabilities.json",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    out.write_all(availabilities.to_string().as_bytes())
        .unwrap();
    out.finish().unwrap().into_inner()
}

struct Client {
    http: reqwest::Client,
    base: String,
}

/// The JSON answer of `request`.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

impl Client {
    fn of(sim: &NewStoreSim) -> Self {
        Client {
            http: reqwest::Client::new(),
            base: sim.url(),
        }
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let answer = self
            .http
            .request(method, format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn stock(&self, product: &str, node: &str) -> Value {
        self.http
            .get(format!(
                "{}/_sandbox/stock?product_id={product}&fulfillment_node_id={node}",
                self.base
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn token(&self, sim: &NewStoreSim) -> String {
        let c = sim.config();
        let answer: Value = self
            .http
            .post(sim.token_url())
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", c.client_id.as_str()),
                ("client_secret", c.client_secret.as_str()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["access_token"].as_str().unwrap().to_string()
    }

    /// Creates and starts an import of `file`, then polls it until it ends: its states seen.
    async fn import(&self, token: &str, file: Value) -> Vec<String> {
        let uri = file_host(zip_of(file)).await;
        let created = json_of(
            self.http
                .post(format!("{}/v0/d/import", self.base))
                .bearer_auth(token)
                .json(&json!({"provider": "test", "source_uri": uri, "revision": 1, "entities": ["availabilities"], "full": false})),
        )
        .await;
        let id = created["id"].as_str().unwrap().to_string();
        let mut states = vec![created["state"].as_str().unwrap().to_string()];
        let started = json_of(
            self.http
                .post(format!("{}/v0/d/import/{id}/start", self.base))
                .bearer_auth(token),
        )
        .await;
        states.push(started["state"].as_str().unwrap().to_string());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let job = json_of(
                self.http
                    .get(format!("{}/v0/d/import/{id}", self.base))
                    .bearer_auth(token),
            )
            .await;
            let state = job["state"].as_str().unwrap().to_string();
            if states.last() != Some(&state) {
                states.push(state.clone());
            }
            if state == "finished" || state == "failed" {
                return states;
            }
            assert!(Instant::now() < deadline, "import stuck: {states:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn every_event_takes_the_next_logical_timestamp_and_is_posted_with_the_bearer_key() {
    let sim = NewStoreSim::start(NewStoreSimConfig::default())
        .await
        .unwrap();
    let client = Client::of(&sim);
    let (url, posted) = receiver().await;
    let (status, _) = client
        .call(
            "PUT",
            "/_sandbox/event_stream",
            json!({"callback_url": url, "api_key": "stream-key"}),
        )
        .await;
    assert_eq!(status, 204);

    // "A logical timestamp is a number that consistently increases and helps arrange
    // fulfillment events in the sequence in which they occurred."
    let (status, order) = client
        .call(
            "POST",
            "/_sandbox/fulfillment_requests",
            json!({"fulfillment_location_id": "DC01", "items": [{"product_id": "P1"}, {"product_id": "P1"}]}),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["delivered"], 200);
    let id = order["id"].as_str().unwrap();
    let first = order["items"][0]["id"].as_str().unwrap();
    let (_, completed) = client
        .call(
            "POST",
            &format!("/_sandbox/fulfillment_requests/{id}/complete"),
            json!({"items": [first]}),
        )
        .await;
    let (_, failed) = client
        .call(
            "POST",
            &format!("/_sandbox/fulfillment_requests/{id}/fail"),
            json!({}),
        )
        .await;
    let posted = posted.lock().unwrap().clone();
    let names: Vec<(&str, u64, usize)> = posted
        .iter()
        .map(|(_, e)| {
            (
                e["name"].as_str().unwrap(),
                e["payload"]["logical_timestamp"].as_u64().unwrap(),
                e["payload"]["items"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("fulfillment_request.assigned", 1, 2),
            ("fulfillment_request.items_completed", 2, 1),
            ("fulfillment_request.items_failed", 3, 1),
        ]
    );
    // "If `api_key` is set, every webhook call carries `Authorization: Bearer <api_key>`."
    assert!(posted.iter().all(|(auth, _)| auth == "Bearer stream-key"));
    // The envelope: `{tenant, name, published_at, payload}`.
    for (_, e) in &posted {
        assert_eq!(e["tenant"], sim.config().tenant);
        assert!(e["published_at"].is_string(), "{e}");
        assert_eq!(e["payload"]["id"], id);
        assert_eq!(e["payload"]["fulfillment_location_id"], "DC01");
    }
    assert_eq!(completed["event"], posted[1].1);
    assert_eq!(failed["event"], posted[2].1);

    // Timestamps only increase: one asked for below the clock is refused.
    let (status, body) = client
        .call(
            "POST",
            "/_sandbox/fulfillment_requests",
            json!({"fulfillment_location_id": "DC01", "items": [{"product_id": "P1"}], "logical_timestamp": 2}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error_code"], "logical_timestamp_not_increasing");
}

#[tokio::test]
async fn a_failure_releases_its_allocation_and_a_completion_holds_it_until_a_range_covers_it() {
    let sim = NewStoreSim::start(NewStoreSimConfig::default())
        .await
        .unwrap();
    let client = Client::of(&sim);
    client
        .call(
            "PUT",
            "/_sandbox/stock",
            json!({"product_id": "P1", "fulfillment_node_id": "DC01", "on_hand": 10}),
        )
        .await;
    // Two items at one timestamp: two allocations, neither overwriting the other.
    let (_, order) = client
        .call(
            "POST",
            "/_sandbox/fulfillment_requests",
            json!({"id": "ffr-1", "fulfillment_location_id": "DC01", "items": [{"product_id": "P1", "id": "i1"}, {"product_id": "P1", "id": "i2"}]}),
        )
        .await;
    assert_eq!(order["delivered"], Value::Null, "no stream is set");
    assert_eq!(client.stock("P1", "DC01").await["atp"], 8);

    // "Allocations on items in fulfillment requests that failed are automatically removed in
    // NewStore."
    client
        .call(
            "POST",
            "/_sandbox/fulfillment_requests/ffr-1/fail",
            json!({"items": ["i2"]}),
        )
        .await;
    assert_eq!(client.stock("P1", "DC01").await["atp"], 9);

    // Shipped at 3: the allocation stays until an import's range covers 3 ("include a range
    // of logical timestamps for which to remove allocations").
    client
        .call(
            "POST",
            "/_sandbox/fulfillment_requests/ffr-1/complete",
            json!({"logical_timestamp": 3}),
        )
        .await;
    let stock = client.stock("P1", "DC01").await;
    assert_eq!(stock["atp"], 9, "{stock}");
    assert_eq!(stock["allocations"][0]["completed_at"], 3);

    let token = client.token(&sim).await;
    // A range over the assignment's timestamp only removes nothing.
    let states = client
        .import(
            &token,
            json!({"availabilities": [{"product_id": "P1", "fulfillment_node_id": "DC01", "quantity": 9}],
                   "allocation_removal": [{"fulfillment_node_id": "DC01", "logical_timestamp_from": 1, "logical_timestamp_to": 2}]}),
        )
        .await;
    assert_eq!(states.first().map(String::as_str), Some("received"));
    assert_eq!(
        states.get(1).map(String::as_str),
        Some("waiting"),
        "{states:?}"
    );
    assert_eq!(states.last().map(String::as_str), Some("finished"));
    assert_eq!(client.stock("P1", "DC01").await["atp"], 8);
    // One over the completion's removes it.
    client
        .import(
            &token,
            json!({"availabilities": [{"product_id": "P1", "fulfillment_node_id": "DC01", "quantity": 9}],
                   "allocation_removal": [{"fulfillment_node_id": null, "logical_timestamp_from": 3, "logical_timestamp_to": 3}]}),
        )
        .await;
    let stock = client.stock("P1", "DC01").await;
    assert_eq!(
        (stock["on_hand"].as_i64(), stock["atp"].as_i64()),
        (Some(9), Some(9)),
        "{stock}"
    );
    assert_eq!(stock["allocations"], json!([]));
}

#[tokio::test]
async fn import_jobs_beyond_twenty_open_are_refused_with_429_and_retry_after() {
    let sim = NewStoreSim::start(NewStoreSimConfig::default())
        .await
        .unwrap();
    let client = Client::of(&sim);
    let token = client.token(&sim).await;
    let create = || {
        client
            .http
            .post(format!("{}/v0/d/import", client.base))
            .bearer_auth(&token)
            .json(&json!({"provider": "test", "source_uri": "http://127.0.0.1:9/never.zip", "entities": ["availabilities"]}))
            .send()
    };
    // "max 20 open import jobs (10 for products) — beyond that jobs stay `received` and the
    // API answers 429"
    for n in 0..20 {
        let answer = create().await.unwrap();
        assert_eq!(answer.status(), 201, "job {n}");
    }
    let refused = create().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["status"], 429, "problem+json: {body}");
}

#[tokio::test]
async fn an_imports_store_mapping_creates_dc_locations_and_a_malformed_one_fails_the_import() {
    // The reference, from NewStore's import tutorial: "`store_mapping` (fulfillment location →
    // `fulfillment_node_id`; creates DC locations)".
    let sim = NewStoreSim::start(NewStoreSimConfig::default())
        .await
        .unwrap();
    let client = Client::of(&sim);
    let token = client.token(&sim).await;
    let states = client
        .import(
            &token,
            json!({"availabilities": [{"product_id": "P1", "fulfillment_node_id": "src-berlin", "quantity": 4}],
                   "store_mapping": [{"fulfillment_location_id": "src-berlin", "fulfillment_node_id": "src-berlin"}]}),
        )
        .await;
    assert_eq!(states.last().map(String::as_str), Some("finished"));
    assert_eq!(
        sim.nodes(),
        std::collections::BTreeMap::from([("src-berlin".to_string(), "src-berlin".to_string())])
    );
    assert_eq!(client.stock("P1", "src-berlin").await["on_hand"], 4);

    let states = client
        .import(
            &token,
            json!({"availabilities": [], "store_mapping": [{"fulfillment_node_id": "no-location"}]}),
        )
        .await;
    assert_eq!(states.last().map(String::as_str), Some("failed"));
    assert_eq!(sim.nodes().len(), 1, "a failed import creates nothing");
}
