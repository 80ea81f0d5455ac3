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

    async fn complete(&self, job: &str, batch: &str) -> Value {
        for _ in 0..10 {
            let (status, body) = self
                .get(&format!("/api/v4.1/job/{job}/batch/{batch}"))
                .await;
            assert_eq!(status, 200, "{body}");
            if body["status"] == "COMPLETE" {
                return body;
            }
        }
        panic!("the batch never completed");
    }
}

fn retailer_2() -> FluentSimConfig {
    FluentSimConfig {
        retailer_id: 2,
        ..FluentSimConfig::default()
    }
}

#[tokio::test]
async fn the_documented_example_batch_is_accepted_verbatim_and_read_back() {
    let sim = FluentSim::start(retailer_2()).await.unwrap();
    let client = Client::login(&sim).await;
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

    let (_, first) = client
        .get(&format!("/api/v4.1/job/{job_id}/batch/{batch_id}"))
        .await;
    assert_eq!(
        first["status"], "RUNNING",
        "PENDING → RUNNING → COMPLETE: {first}"
    );
    let done = client.complete(&job_id, &batch_id).await;
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
    assert_eq!(node["onHand"], 350);
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
    let sim = FluentSim::start(retailer_2()).await.unwrap();
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
