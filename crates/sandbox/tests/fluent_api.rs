//! The Fluent simulator speaks Fluent's wire format: the documented example batch (seed 004)
//! is accepted verbatim and read back; tokens, jobs and batches behave as documented.

use std::collections::HashMap;

use serde_json::{json, Value};
use syncd_sandbox::fluent::{FluentSim, FluentSimConfig};
use syncd_sandbox::{FaultPlan, FaultSpec};

/// A seed 004 example (`fixtures/seeds/004`, copied verbatim) as its JSON text.
fn seed_004(name: &str) -> String {
    syncd_testkit::seed_example("004", name)
}

/// The field names of a seed 004 response, to hold the simulator's answers to.
fn seed_004_fields(name: &str) -> Vec<String> {
    let value: Value = serde_json::from_str(&seed_004(name)).unwrap();
    value.as_object().unwrap().keys().cloned().collect()
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    /// The token endpoint's whole answer.
    login: Value,
}

impl Client {
    async fn login(sim: &FluentSim) -> Self {
        let c = sim.config();
        let http = reqwest::Client::new();
        let answer: Value = http
            .post(format!("{}/oauth/token", sim.url()))
            .form(&[
                ("grant_type", "password"),
                ("username", c.username.as_str()),
                ("password", c.password.as_str()),
                ("client_id", c.client_id.as_str()),
                ("client_secret", c.client_secret.as_str()),
                ("scope", "api"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Client {
            http,
            base: sim.url(),
            token: answer["access_token"].as_str().unwrap().to_string(),
            login: answer,
        }
    }

    async fn post(&self, path: &str, body: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Reads the batch until COMPLETE: its last answer, and the statuses seen in order.
    async fn complete(&self, job: &str, batch: &str) -> (Value, Vec<String>) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut seen: Vec<String> = Vec::new();
        loop {
            let (status, body) = self
                .get(&format!("/api/v4.1/job/{job}/batch/{batch}"))
                .await;
            assert_eq!(status, 200, "{body}");
            let now = body["status"].as_str().unwrap().to_string();
            if seen.last() != Some(&now) {
                seen.push(now);
            }
            if body["status"] == "COMPLETE" {
                return (body, seen);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never completed: {seen:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Creates a job for `retailer` and posts `batch` to it: (job id, batch id).
    async fn batch(&self, retailer: u64, batch: &Value) -> (String, String) {
        let (_, job) = self
            .post(
                "/api/v4.1/job",
                &json!({"name": "t", "retailerId": retailer}).to_string(),
            )
            .await;
        let job = job["id"].as_str().unwrap().to_string();
        let (status, created) = self
            .post(&format!("/api/v4.1/job/{job}/batch"), &batch.to_string())
            .await;
        assert_eq!(status, 200, "{created}");
        (job, created["id"].as_str().unwrap().to_string())
    }

    async fn graphql(&self, query: &str, variables: Value) -> Value {
        let (status, answer) = self
            .post(
                "/graphql",
                &json!({"query": query, "variables": variables}).to_string(),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        answer
    }
}

/// Statuses only move forward: what was seen is in PENDING → RUNNING → COMPLETE order.
fn in_order(seen: &[String]) -> bool {
    let rank = |s: &str| {
        ["PENDING", "RUNNING", "COMPLETE"]
            .iter()
            .position(|x| *x == s)
    };
    seen.windows(2)
        .all(|w| rank(&w[0]).zip(rank(&w[1])).is_some_and(|(a, b)| a < b))
}

fn entity(sku: &str, qty: i64, retailer: u64) -> Value {
    json!({"locationRef": "LOC_1", "skuRef": sku, "qty": qty, "retailerId": retailer})
}

fn upsert(entities: Vec<Value>) -> Value {
    json!({"action": "UPSERT", "entityType": "INVENTORY", "entities": entities})
}

#[tokio::test]
async fn the_documented_example_batch_is_accepted_verbatim_and_read_back() {
    // The sandbox as `syncd sandbox` starts it: the seed's retailer 2 is there.
    let sandbox = syncd_sandbox::Sandbox::start().await.unwrap();
    let sim = &sandbox.fluent;
    let client = Client::login(sim).await;
    // The seed's request, its `{{retailer.id}}` template filled in.
    let create_job = seed_004("create_job.request.txt").replace("{{retailer.id}}", "2");
    let (status, job) = client.post("/api/v4.1/job", &create_job).await;
    assert_eq!(status, 200, "{job}");
    let job_id = job["id"].as_str().unwrap().to_string();

    let (status, batch) = client
        .post(
            &format!("/api/v4.1/job/{job_id}/batch"),
            &seed_004("create_batch.request.txt"),
        )
        .await;
    assert_eq!(status, 200, "{batch}");
    let batch_id = batch["id"].as_str().unwrap().to_string();

    // "PENDING → RUNNING → COMPLETE".
    let (done, seen) = client.complete(&job_id, &batch_id).await;
    assert!(in_order(&seen), "{seen:?}");
    assert_eq!(done["batchId"], batch_id);
    assert_eq!(done["entityType"], "INVENTORY");
    assert_eq!(done["results"], json!([]));
    let fields = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    // Every field of the seed's answer is in ours (the reference documents more: `id`,
    // `jobId`, `action`, `lastModifiedOn`).
    let has_all = |ours: &Value, theirs: &[String], what: &str| {
        let missing: Vec<&String> = theirs.iter().filter(|f| ours.get(*f).is_none()).collect();
        assert!(
            missing.is_empty(),
            "{what} lacks the seed's {missing:?}: {ours}"
        );
    };
    has_all(
        &done,
        &seed_004_fields("batch_status.complete.response.txt"),
        "a COMPLETE batch",
    );

    let (_, job) = client.get(&format!("/api/v4.1/job/{job_id}")).await;
    assert_eq!(job["jobId"], job_id);
    assert_eq!(job["status"], "OPEN");
    assert_eq!(job["batch"][0]["batchId"], batch_id);
    assert_eq!(job["batch"][0]["status"], "COMPLETE");
    has_all(
        &job,
        &seed_004_fields("job_status.open.response.txt"),
        "a job",
    );
    let seed_job: Value = serde_json::from_str(&seed_004("job_status.open.response.txt")).unwrap();
    has_all(
        &job["batch"][0],
        &fields(&seed_job["batch"][0]),
        "a job's batch entry",
    );

    let query = json!({
        "query": "query($cat: String!) { inventoryPositions(catalogue: {ref: $cat}, first: 10) { pageInfo { hasNextPage } edges { cursor node { productRef locationRef onHand quantities(type: [\"FUTURE\"]) { edges { node { ref type status quantity storageAreaRef attributes { name value } } } } } } } }",
        "variables": {"cat": "FUTURE:2"}
    });
    let (status, answer) = client.post("/graphql", &query.to_string()).await;
    assert_eq!(status, 200, "{answer}");
    let edges = &answer["data"]["inventoryPositions"]["edges"];
    assert_eq!(edges.as_array().unwrap().len(), 1, "{answer}");
    let node = &edges[0]["node"];
    assert_eq!(node["productRef"], "D45");
    assert_eq!(node["locationRef"], "LOC_MEL");
    // A FUTURE quantity is stock expected, not on hand: the position's derived onHand has
    // no LAST_ON_HAND to start from.
    assert_eq!(node["onHand"], 0);
    let quantity = &node["quantities"]["edges"][0]["node"];
    assert_eq!(quantity["ref"], "24-MG02:LOC_MELB_RET2:FUTURE");
    assert_eq!(quantity["type"], "FUTURE");
    assert_eq!(quantity["storageAreaRef"], "LOC_MELB_RET2-SR1");
    let attributes: HashMap<String, Value> = quantity["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap().to_string(), a["value"].clone()))
        .collect();
    assert_eq!(attributes.len(), 12);
    assert_eq!(
        attributes["manufacturingBatchInfo"]["batchNumber"],
        "BATCH001"
    );
    assert_eq!(attributes["expiryDate"], "2025-12-31T23:59:59.00Z");
}

#[tokio::test]
async fn batches_over_the_limit_to_closed_jobs_or_of_the_wrong_kind_are_refused_with_an_error_body()
{
    let sim = FluentSim::start(FluentSimConfig::default()).await.unwrap();
    let client = Client::login(&sim).await;
    let (_, job) = client
        .post("/api/v4.1/job", r#"{"name": "j", "retailerId": 2}"#)
        .await;
    let job_id = job["id"].as_str().unwrap().to_string();
    let path = format!("/api/v4.1/job/{job_id}/batch");

    let entities: Vec<Value> = (0..5001)
        .map(|i| json!({"locationRef": "L", "skuRef": format!("S{i}"), "qty": 1, "retailerId": 2}))
        .collect();
    let big = json!({"action": "UPSERT", "entityType": "INVENTORY", "entities": entities});
    let (status, body) = client.post(&path, &big.to_string()).await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("5001"),
        "{body}"
    );

    let (status, body) = client
        .post(
            &path,
            r#"{"action": "DELETE", "entityType": "INVENTORY", "entities": []}"#,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = client
        .post(
            &path,
            r#"{"action": "UPSERT", "entityType": "PRODUCT", "entities": []}"#,
        )
        .await;
    assert_eq!(status, 400);

    sim.close_job(&job_id);
    let (status, body) = client
        .post(
            &path,
            r#"{"action": "UPSERT", "entityType": "INVENTORY", "entities": []}"#,
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("CLOSED"),
        "{body}"
    );
    let (_, job) = client.get(&format!("/api/v4.1/job/{job_id}")).await;
    assert_eq!(job["status"], "CLOSED");
}

#[tokio::test]
async fn refresh_tokens_are_single_use_and_the_query_string_form_is_accepted() {
    let sim = FluentSim::start(FluentSimConfig::default()).await.unwrap();
    let c = sim.config();
    let http = reqwest::Client::new();
    let url = format!(
        "{}/oauth/token?username={}&password={}&client_id={}&client_secret={}&grant_type=password&scope=api",
        sim.url(),
        c.username,
        c.password,
        c.client_id,
        c.client_secret
    );
    let first: Value = http.post(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(first["token_type"], "bearer");
    assert_eq!(first["Retailer_id"], 1);
    assert!(first["expires_in"].as_u64().unwrap() > 0);
    let refresh = first["refresh_token"].as_str().unwrap().to_string();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", c.client_id.as_str()),
        ("client_secret", c.client_secret.as_str()),
    ];
    let token = |form: [(&'static str, &str); 4]| {
        let http = http.clone();
        let url = format!("{}/oauth/token", sim.url());
        let form: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        async move { http.post(url).form(&form).send().await.unwrap() }
    };
    assert_eq!(token(form).await.status(), 200);
    let reused = token(form).await;
    assert_eq!(reused.status(), 400);
    let body: Value = reused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn a_fault_plan_answers_429_with_retry_after_and_logs_early_requests() {
    let mut plan = FaultPlan::none();
    plan.endpoints.insert(
        "POST /api/v4.1/job".into(),
        FaultSpec {
            rate_limit_rate: 1.0,
            retry_after_secs: 30,
            ..FaultSpec::default()
        },
    );
    let sim = FluentSim::start(FluentSimConfig {
        faults: plan,
        ..FluentSimConfig::default()
    })
    .await
    .unwrap();
    let client = Client::login(&sim).await;
    let body = r#"{"name": "j", "retailerId": 1}"#;
    let r = client
        .http
        .post(format!("{}/api/v4.1/job", sim.url()))
        .bearer_auth(&client.token)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "30");
    assert_eq!(sim.log().early_requests(), 0);
    client.post("/api/v4.1/job", body).await;
    assert_eq!(
        sim.log().early_requests(),
        1,
        "the second call ignored Retry-After"
    );
    assert_eq!(sim.log().calls("POST /api/v4.1/job"), 2);
    assert_eq!(sim.log().calls("POST /oauth/token"), 1);
}

#[tokio::test]
async fn a_batch_nobody_polls_still_completes_on_fluents_own_clock() {
    let sim = FluentSim::start(FluentSimConfig::default()).await.unwrap();
    let client = Client::login(&sim).await;
    client.batch(1, &upsert(vec![entity("S1", 4, 1)])).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sim.quantities().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the batch never landed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(sim.quantities()[0].qty, 4);
    assert_eq!(
        sim.log().calls("GET /api/v4.1/job/{id}/batch/{batch_id}"),
        0
    );
}

#[tokio::test]
async fn a_future_record_sits_beside_last_on_hand_and_on_hand_is_derived() {
    let sim = FluentSim::start(FluentSimConfig::default()).await.unwrap();
    let client = Client::login(&sim).await;
    let mut future = entity("D45", 350, 1);
    future["type"] = json!("FUTURE");
    for batch in [vec![entity("D45", 10, 1)], vec![future]] {
        let (job, id) = client.batch(1, &upsert(batch)).await;
        client.complete(&job, &id).await;
    }
    let answer = client
        .graphql(
            "query($ref: String!) { inventoryPosition(ref: $ref, catalogue: {ref: \"DEFAULT:1\"}) { onHand quantities { edges { node { type quantity } } } } }",
            json!({"ref": "D45:LOC_1"}),
        )
        .await;
    let position = &answer["data"]["inventoryPosition"];
    assert_eq!(
        position["onHand"], 10,
        "FUTURE stock is not on hand: {answer}"
    );
    let mut kinds: Vec<(String, i64)> = position["quantities"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["type"].as_str().unwrap().to_string(),
                e["node"]["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("FUTURE".to_string(), 350),
            ("LAST_ON_HAND".to_string(), 10)
        ]
    );

    // Quantities are found by ref, as the read-back of a write does.
    let answer = client
        .graphql(
            "query($refs: [String]) { inventoryQuantities(ref: $refs, catalogue: {ref: \"DEFAULT:1\"}, first: 10) { pageInfo { hasNextPage } edges { node { ref type quantity } } } }",
            json!({"refs": ["D45:LOC_1:DEFAULT:FUTURE"]}),
        )
        .await;
    let edges = answer["data"]["inventoryQuantities"]["edges"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(edges.len(), 1, "{answer}");
    assert_eq!(edges[0]["node"]["quantity"], 350);
}

#[tokio::test]
async fn results_come_a_page_at_a_time_with_start_count_and_total() {
    let sim = FluentSim::start(FluentSimConfig {
        results_for_all: true,
        ..FluentSimConfig::default()
    })
    .await
    .unwrap();
    let client = Client::login(&sim).await;
    let batch: Vec<Value> = (0..25).map(|i| entity(&format!("S{i:02}"), 1, 1)).collect();
    let (job, id) = client.batch(1, &upsert(batch)).await;
    let (first, _) = client.complete(&job, &id).await;
    // The seed's COMPLETE batch: `"start": 1, "count": 10, "total": 0, "results": []`.
    assert_eq!(
        (
            first["start"].as_u64(),
            first["count"].as_u64(),
            first["total"].as_u64()
        ),
        (Some(1), Some(10), Some(25))
    );
    assert_eq!(first["results"].as_array().unwrap().len(), 10);
    let (_, last) = client
        .get(&format!("/api/v4.1/job/{job}/batch/{id}?start=21&count=10"))
        .await;
    let results = last["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    assert_eq!(results[4]["entityRef"], "S24:LOC_1:DEFAULT:LAST_ON_HAND");
    assert_eq!(results[4]["responseCode"], 200);
}

#[tokio::test]
async fn another_retailers_entity_fails_with_301_and_a_nonconforming_one_is_ignored() {
    let sim = FluentSim::start(FluentSimConfig::default()).await.unwrap();
    let client = Client::login(&sim).await;
    let batch = upsert(vec![
        entity("MINE", 1, 1),
        entity("THEIRS", 1, 2),
        entity("NEGATIVE", -1, 1),
    ]);
    let (job, id) = client.batch(1, &batch).await;
    let (done, _) = client.complete(&job, &id).await;
    assert_eq!(done["total"], 1, "{done}");
    assert_eq!(
        done["results"][0]["entityRef"],
        "THEIRS:LOC_1:DEFAULT:LAST_ON_HAND"
    );
    assert_eq!(done["results"][0]["responseCode"], 301);
    let held: Vec<String> = sim.quantities().into_iter().map(|q| q.sku_ref).collect();
    assert_eq!(
        held,
        ["MINE"],
        "the negative one was ignored without a result"
    );
}

#[tokio::test]
async fn a_request_over_two_megabytes_gets_413() {
    let sim = FluentSim::start(FluentSimConfig::default()).await.unwrap();
    let client = Client::login(&sim).await;
    let (_, job) = client
        .post("/api/v4.1/job", r#"{"name": "j", "retailerId": 1}"#)
        .await;
    let job = job["id"].as_str().unwrap();
    let padding = "x".repeat(1000);
    let entities: Vec<Value> = (0..2200)
        .map(|i| {
            let mut e = entity(&format!("S{i}"), 1, 1);
            e["attributes"] = json!({"note": padding});
            e
        })
        .collect();
    let (status, _) = client
        .post(
            &format!("/api/v4.1/job/{job}/batch"),
            &upsert(entities).to_string(),
        )
        .await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn conditions_keep_a_record_with_a_related_quantity_from_being_dropped_as_unchanged() {
    let sim = FluentSim::start(FluentSimConfig::default()).await.unwrap();
    let client = Client::login(&sim).await;
    let quantity = |kind: &str, status: &str, qty: i64| syncd_sandbox::fluent::StoredQuantity {
        catalogue_ref: "DEFAULT:1".into(),
        location_ref: "LOC_1".into(),
        sku_ref: "S1".into(),
        reference: format!("S1:LOC_1:DEFAULT:{kind}"),
        kind: kind.into(),
        status: status.into(),
        qty,
        corrected_qty: 0,
        attributes: Default::default(),
        updated_on: String::new(),
    };
    sim.seed(vec![
        quantity("LAST_ON_HAND", "ACTIVE", 10),
        quantity("SALE", "CREATED", 1),
    ]);
    // A job without `meta.preprocessing: "skip"` goes through Batch Pre-Processing.
    let same = |conditions: Value| {
        let mut b = upsert(vec![entity("S1", 10, 1)]);
        b["conditions"] = conditions;
        b
    };
    let (job, id) = client
        .batch(
            1,
            &same(
                json!({"hasRelatedInventoryQuantities": [{"type": "SALE", "status": "CREATED"}]}),
            ),
        )
        .await;
    client.complete(&job, &id).await;
    assert_eq!(
        sim.applications().len(),
        1,
        "a related SALE quantity: not dropped"
    );
    let (job, id) = client
        .batch(
            1,
            &same(json!({"hasRelatedInventoryQuantities": [{"type": "SALE", "status": "ACTIVE"}]})),
        )
        .await;
    client.complete(&job, &id).await;
    assert_eq!(
        sim.applications().values().sum::<u64>(),
        1,
        "no related quantity by these conditions: dropped as unchanged"
    );
}

#[tokio::test]
async fn a_query_over_the_complexity_limit_is_refused_with_an_error() {
    let sim = FluentSim::start(FluentSimConfig::default()).await.unwrap();
    let client = Client::login(&sim).await;
    let answer = client
        .graphql(
            "{ inventoryPositions(first: 5000) { edges { cursor node { ref productRef locationRef onHand status quantities { edges { node { ref type status quantity } } } } } } }",
            json!({}),
        )
        .await;
    let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("complex"), "{answer}");
}

#[tokio::test]
async fn the_sandbox_takes_fixed_ports_and_the_api_users_retailer() {
    // Three free ports in a row, as an operator would pick for `syncd sandbox --port-base`.
    let base = (0..50)
        .find_map(|_| {
            let a = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
            let port = a.local_addr().ok()?.port();
            let b = std::net::TcpListener::bind(("127.0.0.1", port.checked_add(1)?)).ok()?;
            let c = std::net::TcpListener::bind(("127.0.0.1", port.checked_add(2)?)).ok()?;
            drop((a, b, c));
            Some(port)
        })
        .expect("three free ports in a row");
    let sandbox = syncd_sandbox::Sandbox::start_with(syncd_sandbox::SandboxOptions {
        port_base: Some(base),
        fluent_retailer: Some(2),
    })
    .await
    .unwrap();
    assert!(sandbox.fluent.url().ends_with(&format!(":{base}")));
    assert!(sandbox.newstore.url().ends_with(&format!(":{}", base + 1)));
    assert!(sandbox
        .salesforce
        .url()
        .ends_with(&format!(":{}", base + 2)));
    let client = Client::login(&sandbox.fluent).await;
    assert_eq!(client.login["Retailer_id"], 2);
}
