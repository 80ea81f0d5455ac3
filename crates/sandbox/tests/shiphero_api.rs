//! The ShipHero simulator speaks ShipHero's public API as its documents show: the seed 001
//! examples (`fixtures/seeds/001`, copied verbatim) run against it with only their example
//! ids and URL replaced by real ones, and the reference's rules (vendors-salesforce-shiphero.md
//! Part B) hold. Every wait polls with a deadline.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use syncd_sandbox::shiphero::{ShipHeroSim, ShipHeroSimConfig};

const PRIMARY: u64 = 4350;

/// A seed 001 example's text.
fn seed_001(name: &str) -> String {
    syncd_testkit::seed_example("001", name)
}

/// Polls `check` every 10 ms until it gives a value, failing after 10 s.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A tiny file server for the CSVs (downloadable "without any type of credentials").
struct Files {
    base: String,
    files: Arc<Mutex<std::collections::HashMap<String, String>>>,
}

impl Files {
    async fn start() -> Self {
        let files: Arc<Mutex<std::collections::HashMap<String, String>>> = Arc::default();
        let router = Router::new()
            .route(
                "/files/{name}",
                get(
                    |State(files): State<Arc<Mutex<std::collections::HashMap<String, String>>>>,
                     Path(name): Path<String>| async move {
                        match files.lock().unwrap().get(&name) {
                            Some(body) => (StatusCode::OK, body.clone()),
                            None => (StatusCode::NOT_FOUND, String::new()),
                        }
                    },
                ),
            )
            .with_state(files.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Files { base, files }
    }

    /// Serves `body` and answers its URL.
    fn put(&self, name: &str, body: &str) -> String {
        self.files
            .lock()
            .unwrap()
            .insert(name.to_string(), body.to_string());
        format!("{}/files/{name}", self.base)
    }
}

/// A webhook receiver: records every POST; answers 500 to the first `fail_first` of them.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    fail_first: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start(fail_first: usize) -> (Self, String) {
        let receiver = Receiver {
            fail_first: Arc::new(Mutex::new(fail_first)),
            ..Receiver::default()
        };
        let router = Router::new()
            .route(
                "/hook",
                post(
                    |State(r): State<Receiver>, headers: HeaderMap, body: String| async move {
                        r.got.lock().unwrap().push((headers, body));
                        let mut fail = r.fail_first.lock().unwrap();
                        if *fail > 0 {
                            *fail -= 1;
                            return (StatusCode::INTERNAL_SERVER_ERROR, String::new());
                        }
                        (
                            StatusCode::OK,
                            json!({"code": "200", "Status": "Success"}).to_string(),
                        )
                    },
                ),
            )
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (receiver, url)
    }

    fn received(&self) -> Vec<(HeaderMap, String)> {
        self.got.lock().unwrap().clone()
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    login: Value,
}

impl Client {
    async fn login(sim: &ShipHeroSim) -> Self {
        let http = reqwest::Client::new();
        let c = sim.config();
        let response = http
            .post(format!("{}/auth/token", sim.url()))
            .json(&json!({"username": c.username, "password": c.password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let login: Value = response.json().await.unwrap();
        Client {
            http,
            base: sim.url(),
            token: login["access_token"].as_str().unwrap().to_string(),
            login,
        }
    }

    async fn post(&self, path: &str, query: &str, variables: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Runs a GraphQL document; the whole answer (HTTP 200 expected).
    async fn gql(&self, query: &str) -> Value {
        self.gql_with(query, json!({})).await
    }

    async fn gql_with(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self.post("/graphql", query, variables).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

async fn sim_with(config: ShipHeroSimConfig) -> ShipHeroSim {
    let sim = ShipHeroSim::start(config).await.unwrap();
    sim.seed_products(
        PRIMARY,
        &[("45933041", 1), ("46401204", 2), ("49071335", 3)],
    );
    sim.seed_products(4351, &[("45933041", 7)]);
    sim
}

async fn sim() -> ShipHeroSim {
    sim_with(ShipHeroSimConfig::default()).await
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn no_errors(answer: &Value) {
    assert!(answer.get("errors").is_none(), "{answer}");
}

/// The seed's `inventory_sync` mutation with a real CSV URL and warehouse id put in.
fn seed_sync_mutation(url: &str, warehouse_id: &str) -> String {
    let text = seed_001("inventory_sync.mutation.graphql");
    assert!(text.contains("https://some-url.com/inv-sync.csv"));
    assert!(text.contains("V2FyZdfhens73hsA="));
    text.replace("https://some-url.com/inv-sync.csv", url)
        .replace("V2FyZdfhens73hsA=", warehouse_id)
}

async fn start_sync(client: &Client, url: &str, warehouse_id: &str) -> String {
    let answer = client.gql(&seed_sync_mutation(url, warehouse_id)).await;
    no_errors(&answer);
    answer["data"]["inventory_sync"]["sync_id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn wait_finished(sim: &ShipHeroSim, id: &str) -> syncd_sandbox::shiphero::SyncSummary {
    eventually("the sync to finish", || async {
        sim.syncs()
            .into_iter()
            .find(|s| s.id == id && s.status != "pending" && s.status != "processing")
    })
    .await
}

async fn items(client: &Client, id: &str) -> Vec<Value> {
    let query = seed_001("inventory_sync_items_status.query.graphql")
        .replace("5d9625ebd49dd410acb3f554", id);
    let answer = client.gql(&query).await;
    no_errors(&answer);
    answer["data"]["inventory_sync_items_status"]["data"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// Seed: "In this example you will use the inventory_sync Mutation, that allows you to upload
/// inventory" — then "Check all the inventory_sync_statuses", "Check a particular
/// inventory_sync_status" and "Check all the rows of that batch with an
/// inventory_sync_items_status query", each example run verbatim with its ids replaced.
#[tokio::test]
async fn the_seed_examples_run_verbatim_and_answer_the_seed_shapes() {
    let sim = sim().await;
    let files = Files::start().await;
    let client = Client::login(&sim).await;
    let csv = "sku,quantity,action,reason\n45933041,10,replace,Reason for changing inventory\n46401204,10,replace,Reason for changing inventory\n49071335,10,replace,Reason for changing inventory\n";
    let url = files.put("inv-sync.csv", csv);
    let warehouse = sim.warehouse_id(PRIMARY);
    assert_eq!(warehouse, "V2FyZWhvdXNlOjQzNTA=");

    let answer = client.gql(&seed_sync_mutation(&url, &warehouse)).await;
    no_errors(&answer);
    let created = &answer["data"]["inventory_sync"];
    // "{ "request_id": "5d9624af8f00587f435deb37", "complexity": 0, "sync_id": "5d9624b054de070001fd315a" }"
    assert_eq!(
        keys(created),
        ["complexity", "request_id", "sync_id"]
            .map(String::from)
            .into()
    );
    assert_eq!(created["complexity"], 0);
    let id = created["sync_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 24);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));

    let done = wait_finished(&sim, &id).await;
    assert_eq!(done.status, "success", "{done:?}");
    // "CSV file also needs to be available for download without any type of credentials needed."
    assert_eq!(sim.csv_fetches(), vec![url.clone()]);
    // Quantity is absolute: on_hand replaced by 10.
    for sku in ["45933041", "46401204", "49071335"] {
        assert_eq!(sim.on_hand(PRIMARY, sku), Some(10));
    }
    assert_eq!(
        sim.on_hand(4351, "45933041"),
        Some(7),
        "other warehouse untouched"
    );

    let statuses = client
        .gql(&seed_001("inventory_sync_statuses.query.graphql"))
        .await;
    no_errors(&statuses);
    let wrapper = &statuses["data"]["inventory_sync_statuses"];
    assert_eq!(
        keys(wrapper),
        ["complexity", "data", "request_id"]
            .map(String::from)
            .into()
    );
    let node = &wrapper["data"]["edges"][0]["node"];
    let seed_node_keys: BTreeSet<String> = [
        "id",
        "url",
        "user_id",
        "account_id",
        "warehouse_id",
        "customer_account_id",
        "total_count",
        "status",
        "error",
        "created_at",
        "updated_at",
    ]
    .map(String::from)
    .into();
    assert_eq!(keys(node), seed_node_keys);
    assert_eq!(node["id"], id.as_str());
    assert_eq!(node["url"], url.as_str());
    assert_eq!(node["warehouse_id"], "V2FyZWhvdXNlOjQzNTA=");
    assert_eq!(node["total_count"], 3);

    let status_query =
        seed_001("inventory_sync_status.query.graphql").replace("5d9624b054de070001fd3132", &id);
    let status = client.gql(&status_query).await;
    no_errors(&status);
    let data = &status["data"]["inventory_sync_status"]["data"];
    assert_eq!(keys(data), seed_node_keys);
    // "status": "success", "error": null, "customer_account_id": null, datetimes like
    // "2019-10-07T16:39:23+00:00".
    assert_eq!(data["status"], "success");
    assert_eq!(data["error"], Value::Null);
    assert_eq!(data["customer_account_id"], Value::Null);
    let created_at = data["created_at"].as_str().unwrap();
    assert_eq!(created_at.len(), "2019-10-07T16:39:23+00:00".len());
    assert!(created_at.ends_with("+00:00"), "{created_at}");
    assert_eq!(
        status["data"]["inventory_sync_status"]["complexity"], 1,
        "seed: \"complexity\": 1"
    );

    let rows = items(&client, &id).await;
    let seed_items = syncd_testkit::seed_json("001", "inventory_sync_items_status.response.json");
    let seed_row = &seed_items["data"]["inventory_sync_items_status"]["data"]["edges"][0]["node"];
    assert_eq!(rows.len(), 3);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(keys(row), keys(seed_row));
        assert_eq!(row["row"], i as i64 + 1);
        assert_eq!(row["quantity"], 10);
        assert_eq!(row["status"], "success");
        assert_eq!(row["error"], Value::Null);
        assert_eq!(row["location"], Value::Null);
        assert_eq!(row["reason"], "Reason for changing inventory");
    }
    assert_eq!(rows[0]["sku"], "45933041");
}

/// Seed: "All SKUs included must be existing SKUs and available on that specific warehouse."
/// and "Only replace is supported for action." — such rows fail alone, each naming its
/// problem; the batch reads like "error in 3 out of 3 rows".
#[tokio::test]
async fn bad_rows_fail_alone_and_name_their_problem() {
    let sim = sim().await;
    let files = Files::start().await;
    let client = Client::login(&sim).await;
    let url = files.put(
        "mixed.csv",
        "sku,quantity,action,reason\n45933041,11,replace,ok\nNOPE-1,5,replace,unknown\n46401204,12,change,wrong action\n49071335,many,replace,bad quantity\n",
    );
    let id = start_sync(&client, &url, &sim.warehouse_id(PRIMARY)).await;
    let done = wait_finished(&sim, &id).await;
    assert_eq!(done.status, "error");
    assert_eq!(done.error.as_deref(), Some("error in 3 out of 4 rows"));
    assert_eq!(
        (
            done.total_count,
            done.success_count,
            done.error_count,
            done.finished_count
        ),
        (4, 1, 3, 4)
    );
    assert_eq!(
        sim.on_hand(PRIMARY, "45933041"),
        Some(11),
        "the good row applied"
    );
    assert_eq!(sim.on_hand(PRIMARY, "46401204"), Some(2));
    assert_eq!(sim.on_hand(PRIMARY, "49071335"), Some(3));
    let rows = items(&client, &id).await;
    assert_eq!(rows[0]["status"], "success");
    assert_eq!(rows[1]["status"], "error");
    assert!(
        rows[1]["error"].as_str().unwrap().contains("NOPE-1"),
        "{}",
        rows[1]
    );
    assert!(rows[2]["error"]
        .as_str()
        .unwrap()
        .starts_with("Only replace is supported for action"));
    assert!(rows[3]["error"].as_str().unwrap().contains("many"));
    assert_eq!(rows[3]["quantity"], Value::Null);

    // A SKU of the *other* warehouse is not "available on that specific warehouse".
    sim.seed_products(4351, &[("ONLY-IN-4351", 1)]);
    let url = files.put(
        "other.csv",
        "sku,quantity,action,reason\nONLY-IN-4351,3,replace,x\n",
    );
    let id = start_sync(&client, &url, &sim.warehouse_id(PRIMARY)).await;
    let done = wait_finished(&sim, &id).await;
    assert_eq!(done.error.as_deref(), Some("error in 1 out of 1 rows"));
    assert_eq!(sim.on_hand(4351, "ONLY-IN-4351"), Some(1));

    // Filtering rows by status.
    let answer = client
        .gql_with(
            "query($id: String!) { inventory_sync_items_status(id: $id, status: \"error\") { data(first: 10) { edges { node { sku error } } } } }",
            json!({"id": id}),
        )
        .await;
    no_errors(&answer);
    assert_eq!(
        answer["data"]["inventory_sync_items_status"]["data"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Reference B4: the sync is "asynchronous" — it moves pending → processing → success on the
/// simulator's own clock, whether or not anyone polls.
#[tokio::test]
async fn a_sync_is_not_finished_right_after_creation_and_advances_without_polling() {
    let sim = sim_with(ShipHeroSimConfig {
        sync_rows_per_tick: 1,
        sync_tick_ms: 100,
        ..ShipHeroSimConfig::default()
    })
    .await;
    let files = Files::start().await;
    let client = Client::login(&sim).await;
    let url = files.put(
        "slow.csv",
        "sku,quantity,action,reason\n45933041,4,replace,a\n46401204,5,replace,b\n49071335,6,replace,c\n",
    );
    let id = start_sync(&client, &url, &sim.warehouse_id(PRIMARY)).await;
    let status_query =
        seed_001("inventory_sync_status.query.graphql").replace("5d9624b054de070001fd3132", &id);
    let first = client.gql(&status_query).await;
    let status = first["data"]["inventory_sync_status"]["data"]["status"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        status == "pending" || status == "processing",
        "not finished right after creation: {first}"
    );
    let calls = sim.log().calls("POST /graphql");
    let done = wait_finished(&sim, &id).await;
    assert_eq!(done.status, "success");
    assert_eq!(
        sim.log().calls("POST /graphql"),
        calls,
        "finished with no client request in between"
    );
    let answer = client.gql(&status_query).await;
    assert_eq!(
        answer["data"]["inventory_sync_status"]["data"]["status"],
        "success"
    );
    assert_eq!(sim.on_hand(PRIMARY, "49071335"), Some(6));
}

/// Seed: "Aborting a sync batch should be done before the batch is changed to a success
/// status, and will not revert the lines already processed from the CSV file."
#[tokio::test]
async fn abort_stops_a_running_sync_and_keeps_the_rows_already_processed() {
    let sim = sim_with(ShipHeroSimConfig {
        sync_rows_per_tick: 1,
        sync_tick_ms: 150,
        ..ShipHeroSimConfig::default()
    })
    .await;
    let files = Files::start().await;
    let client = Client::login(&sim).await;
    let url = files.put(
        "abort.csv",
        "sku,quantity,action,reason\n45933041,40,replace,a\n46401204,50,replace,b\n49071335,60,replace,c\n",
    );
    let id = start_sync(&client, &url, &sim.warehouse_id(PRIMARY)).await;
    eventually("the first row to be applied", || async {
        sim.syncs()
            .into_iter()
            .find(|s| s.id == id && s.finished_count >= 1)
    })
    .await;
    let abort =
        seed_001("inventory_sync_abort.mutation.graphql").replace("5e4dac71b50fb5475c7b00d4", &id);
    let answer = client.gql(&abort).await;
    no_errors(&answer);
    let sync = &answer["data"]["inventory_sync_abort"]["sync"];
    assert_eq!(sync["status"], "aborted");
    assert_eq!(sync["id"], id.as_str());
    for key in [
        "success_count",
        "error_count",
        "finished_count",
        "total_count",
    ] {
        assert!(sync[key].is_i64(), "{key} in {sync}");
    }
    let applied = sync["finished_count"].as_i64().unwrap();
    assert!((1..3).contains(&applied), "{sync}");
    assert_eq!(sim.on_hand(PRIMARY, "45933041"), Some(40), "not reverted");
    // Nothing more is applied: watch for several processing ticks.
    let watch_until = tokio::time::Instant::now() + Duration::from_millis(600);
    while tokio::time::Instant::now() < watch_until {
        let s = sim.syncs().into_iter().find(|s| s.id == id).unwrap();
        assert_eq!((s.status.as_str(), s.finished_count), ("aborted", applied));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sim.on_hand(PRIMARY, "49071335"), Some(3));

    // Once finished, a batch can't be aborted.
    let answer = client.gql(&abort).await;
    let error = &answer["errors"][0];
    assert_eq!(error["code"], 9, "{answer}");
    assert!(error["message"].as_str().unwrap().contains("aborted"));
}

/// Reference B4: "≤3,000 lines"; the header is `sku,quantity,action,reason` (+ `location` on
/// Dynamic-Slotting accounts; missing → unassigned bin).
#[tokio::test]
async fn the_header_and_the_row_cap_are_checked_and_location_is_read_on_dynamic_slotting() {
    let sim = sim_with(ShipHeroSimConfig {
        row_cap: Some(2),
        dynamic_slotting: true,
        ..ShipHeroSimConfig::default()
    })
    .await;
    let files = Files::start().await;
    let client = Client::login(&sim).await;
    let warehouse = sim.warehouse_id(PRIMARY);

    let url = files.put("noaction.csv", "sku,quantity,reason\n45933041,4,a\n");
    let done = wait_finished(&sim, &start_sync(&client, &url, &warehouse).await).await;
    assert_eq!(done.status, "error");
    assert!(done.error.unwrap().contains("action"));

    let url = files.put(
        "big.csv",
        "sku,quantity,action,reason\n45933041,4,replace,a\n46401204,5,replace,b\n49071335,6,replace,c\n",
    );
    let done = wait_finished(&sim, &start_sync(&client, &url, &warehouse).await).await;
    assert_eq!(done.status, "error");
    assert!(done.error.unwrap().contains("more than the 2 allowed"));
    assert_eq!(sim.on_hand(PRIMARY, "45933041"), Some(1), "nothing applied");

    let url = files.put(
        "dyn.csv",
        "sku,quantity,action,reason,location\n45933041,4,replace,a,A-01-1\n46401204,5,replace,b,\n",
    );
    let id = start_sync(&client, &url, &warehouse).await;
    assert_eq!(wait_finished(&sim, &id).await.status, "success");
    let rows = items(&client, &id).await;
    assert!(rows[0]["location"].is_i64(), "{}", rows[0]);
    assert_eq!(rows[1]["location"], Value::Null, "unassigned bin");
    // Reference B5: "`locations(warehouse_id, sku, …)` returns bins **without** quantities";
    // `inventory_changes` is the audit.
    let bins = client
        .gql_with(
            "query($w: String, $sku: String) { locations(warehouse_id: $w, sku: $sku) { data(first: 5) { edges { node { id legacy_id name warehouse_id } } } } inventory_changes(sku: $sku, warehouse_id: $w) { data(first: 5) { edges { node { sku previous_on_hand change_in_on_hand reason location_id } } } } }",
            json!({"w": warehouse, "sku": "45933041"}),
        )
        .await;
    no_errors(&bins);
    let bin = &bins["data"]["locations"]["data"]["edges"][0]["node"];
    assert_eq!(bin["name"], "A-01-1");
    assert_eq!(bin["legacy_id"], rows[0]["location"]);
    let change = &bins["data"]["inventory_changes"]["data"]["edges"][0]["node"];
    assert_eq!(change["previous_on_hand"], 1);
    assert_eq!(change["change_in_on_hand"], 3);
    assert_eq!(change["location_id"], bin["id"]);
    let transfer = client
        .gql_with(
            "mutation($from: String!, $w: String!) { inventory_transfer(data: { sku: \"45933041\", warehouse_id: $w, location_from_id: $from, location_to_id: \"TG9jYXRpb246OTk=\", quantity: 2, reason: \"move\" }) { request_id complexity ok } }",
            json!({"from": bin["id"], "w": warehouse}),
        )
        .await;
    no_errors(&transfer);
    assert_eq!(transfer["data"]["inventory_transfer"]["ok"], true);
    assert_eq!(sim.on_hand(PRIMARY, "45933041"), Some(4));

    // An unreachable CSV fails the sync.
    let url = files.put("x.csv", "");
    let missing = url.replace("x.csv", "missing.csv");
    let done = wait_finished(&sim, &start_sync(&client, &missing, &warehouse).await).await;
    assert_eq!(done.status, "error");
    assert!(done.error.unwrap().contains("404"));
}

/// Reference B3: "`errors[]` item with `"code":30`, message "There are not enough credits to
/// perform the requested operation, which requires 1301 credits, but there are only 263 left.
/// In 18 seconds you will have enough credits…", plus `required_credits`,
/// `remaining_credits`, `time_remaining` ("18 seconds")", and `analyze` → cost only.
#[tokio::test]
async fn running_out_of_credits_answers_code_30_with_the_wait() {
    let sim = sim_with(ShipHeroSimConfig {
        credits_max: 100,
        credits_refill_per_sec: 1,
        credits_op_cap: 100,
        ..ShipHeroSimConfig::default()
    })
    .await;
    let client = Client::login(&sim).await;
    let query = "query($w: String) { warehouse_products(warehouse_id: $w) { request_id complexity data(first: 80) { edges { node { sku } } } } }";
    let vars = json!({"w": sim.warehouse_id(PRIMARY)});

    let analyzed = client
        .gql(
            "{ warehouse_products(analyze: true) { complexity data(first: 80) { edges { node { sku } } } } }",
        )
        .await;
    no_errors(&analyzed);
    assert_eq!(analyzed["data"]["warehouse_products"]["complexity"], 81);
    assert_eq!(analyzed["data"]["warehouse_products"]["data"], Value::Null);
    assert!(sim.credits_remaining() >= 99, "analyze charges nothing");

    let ok = client.gql_with(query, vars.clone()).await;
    no_errors(&ok);
    assert_eq!(ok["data"]["warehouse_products"]["complexity"], 81);
    let short = client.gql_with(query, vars.clone()).await;
    assert_eq!(short["data"]["warehouse_products"], Value::Null, "{short}");
    let error = &short["errors"][0];
    assert_eq!(error["code"], 30, "{short}");
    let remaining = error["remaining_credits"].as_u64().unwrap();
    assert!(remaining < 81, "{error}");
    assert_eq!(error["required_credits"], 81);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "There are not enough credits to perform the requested operation, which requires 81 credits, but there are only {remaining} left. In "
        )),
        "{message}"
    );
    let time_remaining = error["time_remaining"].as_str().unwrap();
    let seconds: u64 = time_remaining
        .strip_suffix(" seconds")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        seconds >= 81 - remaining - 1 && seconds <= 81 - remaining + 1,
        "{error}"
    );
    assert!(message.contains(&format!(
        "In {seconds} seconds you will have enough credits"
    )));
    // "errors[] with message/operation/field/request_id/code at HTTP 200".
    assert_eq!(error["operation"], "warehouse_products");
    assert_eq!(error["field"], "warehouse_products");
    assert_eq!(error["request_id"].as_str().unwrap().len(), 24);

    let quota = client
        .gql("{ user_quota { credits_remaining max_available increment_rate } }")
        .await;
    no_errors(&quota);
    assert_eq!(quota["data"]["user_quota"]["max_available"], 100);
    assert_eq!(quota["data"]["user_quota"]["increment_rate"], 1);
    assert!(
        quota["data"]["user_quota"]["credits_remaining"]
            .as_u64()
            .unwrap()
            < 81
    );

    // An operation above the cap never succeeds: lower `first`.
    sim.refill_credits();
    let over = client
        .gql("{ warehouse_products { data(first: 500) { edges { node { sku } } } } }")
        .await;
    assert_eq!(over["errors"][0]["code"], 30);
    assert_eq!(over["errors"][0]["required_credits"], 501);
}

/// Reference B1: `POST /auth/token` → `{"access_token":"eyJ…","expires_in":2419200,
/// "refresh_token":"…","scope":"openid profile offline_access","token_type":"Bearer"}`;
/// `POST /auth/refresh` `{"refresh_token":"…"}` → same minus `refresh_token`.
#[tokio::test]
async fn tokens_are_jwts_and_an_expired_one_is_refreshed() {
    let sim = sim().await;
    let client = Client::login(&sim).await;
    assert_eq!(
        keys(&client.login),
        [
            "access_token",
            "expires_in",
            "refresh_token",
            "scope",
            "token_type"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(client.login["token_type"], "Bearer");
    assert_eq!(client.login["expires_in"], 2_419_200);
    let parts: Vec<&str> = client.token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert!(client.token.starts_with("eyJ"));
    let payload: Value =
        serde_json::from_slice(&syncd_sandbox::shiphero::base64_decode(parts[1]).unwrap()).unwrap();
    assert_eq!(
        payload["exp"].as_i64().unwrap() - payload["iat"].as_i64().unwrap(),
        2_419_200
    );

    let quota = "{ user_quota { credits_remaining } }";
    no_errors(&client.gql(quota).await);
    sim.expire_tokens();
    let (status, body) = client.post("/graphql", quota, json!({})).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("expired"));

    let refreshed: Value = client
        .http
        .post(format!("{}/auth/refresh", sim.url()))
        .json(&json!({"refresh_token": client.login["refresh_token"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        keys(&refreshed),
        ["access_token", "expires_in", "scope", "token_type"]
            .map(String::from)
            .into()
    );
    let client = Client {
        token: refreshed["access_token"].as_str().unwrap().to_string(),
        ..client
    };
    no_errors(&client.gql(quota).await);
    // "(`/graphql/` also seen)".
    let (status, body) = client.post("/graphql/", quota, json!({})).await;
    assert_eq!(status, 200, "{body}");

    let wrong = client
        .http
        .post(format!("{}/auth/token", sim.url()))
        .json(&json!({"username": sim.config().username, "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert!(matches!(wrong.status().as_u16(), 401 | 403));
    let wrong: Value = wrong.json().await.unwrap();
    assert!(wrong["error"].is_string());
    let bad_refresh = client
        .http
        .post(format!("{}/auth/refresh", sim.url()))
        .json(&json!({"refresh_token": "nope"}))
        .send()
        .await
        .unwrap();
    assert!(matches!(bad_refresh.status().as_u16(), 401 | 403));
    assert_eq!(sim.log().calls("POST /auth/token"), 2);
}

/// Reference B2: "any spec-compliant client": introspection, variables and fragments work.
#[tokio::test]
async fn introspection_variables_and_fragments_work() {
    let sim = sim().await;
    let client = Client::login(&sim).await;
    let answer = client
        .gql("{ __schema { queryType { name } mutationType { name } } sync: __type(name: \"InventorySyncStatus\") { fields { name } } input: __type(name: \"UpdateInventoryInput\") { inputFields { name } } }")
        .await;
    no_errors(&answer);
    assert_eq!(answer["data"]["__schema"]["queryType"]["name"], "Query");
    assert_eq!(
        answer["data"]["__schema"]["mutationType"]["name"],
        "Mutation"
    );
    let fields: BTreeSet<String> = answer["data"]["sync"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    for f in [
        "id",
        "url",
        "user_id",
        "account_id",
        "warehouse_id",
        "customer_account_id",
        "total_count",
        "success_count",
        "error_count",
        "finished_count",
        "status",
        "error",
        "created_at",
        "updated_at",
    ] {
        assert!(fields.contains(f), "{f} missing from {fields:?}");
    }
    let inputs: BTreeSet<String> = answer["data"]["input"]["inputFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        inputs,
        [
            "sku",
            "warehouse_id",
            "quantity",
            "reason",
            "location_id",
            "customer_account_id"
        ]
        .map(String::from)
        .into()
    );
    let full = client
        .gql("query IntrospectionQuery { __schema { types { name kind fields(includeDeprecated: true) { name args { name } } } } }")
        .await;
    no_errors(&full);

    let answer = client
        .gql_with(
            "fragment wp on WarehouseProduct { sku on_hand warehouse_identifier }
             query($sku: String!) { product(sku: $sku) { complexity data { sku warehouse_products { ...wp } } } }",
            json!({"sku": "45933041"}),
        )
        .await;
    no_errors(&answer);
    let wps = answer["data"]["product"]["data"]["warehouse_products"]
        .as_array()
        .unwrap();
    assert_eq!(wps.len(), 2);
    assert!(wps
        .iter()
        .any(|w| w["warehouse_identifier"] == "Secondary" && w["on_hand"] == 7));
}

/// Reference B2/B5: ids are base64 of "<Type>:<int>" with `legacy_id`; `uuid` converts;
/// `warehouse_products` pages inside `data(first, after)`, and `updated_from` drives
/// incremental reads; the single-SKU mutations answer `{request_id complexity
/// warehouse_product{…}}`.
#[tokio::test]
async fn warehouse_products_page_ids_decode_and_updated_from_is_incremental() {
    let sim = sim().await;
    sim.seed_products(PRIMARY, &[("A1", 1), ("A2", 2)]);
    let client = Client::login(&sim).await;
    let warehouse = sim.warehouse_id(PRIMARY);

    let uuid = client
        .gql("{ uuid(legacy_id: 4350, entity: Warehouse) { request_id complexity data { id legacy_id } } }")
        .await;
    no_errors(&uuid);
    assert_eq!(uuid["data"]["uuid"]["data"]["id"], "V2FyZWhvdXNlOjQzNTA=");
    assert_eq!(uuid["data"]["uuid"]["data"]["legacy_id"], 4350);

    let query = "query($w: String, $after: String, $from: ISODateTime) { warehouse_products(warehouse_id: $w, updated_from: $from) { request_id complexity data(first: 2, after: $after) { pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id legacy_id sku warehouse_id warehouse_identifier on_hand allocated available backorder reserve_inventory non_sellable_quantity sell_ahead active updated_at } } } } }";
    let mut after = Value::Null;
    let mut skus = Vec::new();
    loop {
        let page = client
            .gql_with(query, json!({"w": warehouse, "after": after}))
            .await;
        no_errors(&page);
        let data = &page["data"]["warehouse_products"]["data"];
        assert_eq!(page["data"]["warehouse_products"]["complexity"], 3);
        for edge in data["edges"].as_array().unwrap() {
            let node = &edge["node"];
            let id = String::from_utf8(
                syncd_sandbox::shiphero::base64_decode(node["id"].as_str().unwrap()).unwrap(),
            )
            .unwrap();
            assert_eq!(id, format!("WarehouseProduct:{}", node["legacy_id"]));
            assert_eq!(node["warehouse_id"], warehouse.as_str());
            assert_eq!(node["warehouse_identifier"], "Primary");
            skus.push(node["sku"].as_str().unwrap().to_string());
        }
        if data["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = data["pageInfo"]["endCursor"].clone();
    }
    skus.sort();
    assert_eq!(skus, ["45933041", "46401204", "49071335", "A1", "A2"]);

    let from = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let replaced = client
        .gql_with(
            "mutation($data: ReplaceInventoryInput!) { inventory_replace(data: $data) { request_id complexity warehouse_product { sku on_hand } } }",
            json!({"data": {"sku": "A2", "warehouse_id": warehouse, "quantity": 25, "reason": "count"}}),
        )
        .await;
    no_errors(&replaced);
    assert_eq!(
        replaced["data"]["inventory_replace"]["warehouse_product"]["on_hand"],
        25
    );
    let subtract = client
        .gql_with(
            "mutation($data: UpdateInventoryInput!) { inventory_subtract(data: $data) { warehouse_product { on_hand } } }",
            json!({"data": {"sku": "A2", "warehouse_id": warehouse, "quantity": 5}}),
        )
        .await;
    no_errors(&subtract);
    assert_eq!(sim.on_hand(PRIMARY, "A2"), Some(20));
    let changed = client
        .gql_with(query, json!({"w": warehouse, "from": from}))
        .await;
    no_errors(&changed);
    let edges = changed["data"]["warehouse_products"]["data"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(edges.len(), 1, "{changed}");
    assert_eq!(edges[0]["node"]["sku"], "A2");
    assert_eq!(edges[0]["node"]["on_hand"], 20);

    // An unknown SKU: HTTP 200, errors[] with the ShipHero fields, the root field null.
    let missing = client
        .gql_with(
            "mutation($data: UpdateInventoryInput!) { inventory_add(data: $data) { warehouse_product { on_hand } } }",
            json!({"data": {"sku": "NOPE", "warehouse_id": warehouse, "quantity": 5}}),
        )
        .await;
    assert_eq!(missing["data"]["inventory_add"], Value::Null);
    let error = &missing["errors"][0];
    for key in ["message", "operation", "field", "request_id", "code"] {
        assert!(!error[key].is_null(), "{key} in {error}");
    }
    assert!(error["message"].as_str().unwrap().contains("NOPE"));
}

/// Reference B6: `webhook_create(...) { webhook { … shared_signature_secret } }` — "secret
/// returned only here"; `X-ShipHero-HMAC-SHA256` = base64(HMAC-SHA256(raw body,
/// shared_signature_secret)); "Per-delivery id header `X-Shiphero-Message-ID`"; "5 retries".
#[tokio::test]
async fn inventory_changes_send_hmac_signed_inventory_update_webhooks() {
    let sim = sim_with(ShipHeroSimConfig {
        webhook_retry_ms: 20,
        ..ShipHeroSimConfig::default()
    })
    .await;
    let (receiver, hook_url) = Receiver::start(1).await;
    let files = Files::start().await;
    let client = Client::login(&sim).await;
    let created = client
        .gql_with(
            "mutation($url: String!) { webhook_create(data: { name: \"Inventory Update\", url: $url, shop_name: \"api\" }) { request_id complexity webhook { id legacy_id account_id shop_name name url source shared_signature_secret } } }",
            json!({"url": hook_url}),
        )
        .await;
    no_errors(&created);
    let hook = &created["data"]["webhook_create"]["webhook"];
    let secret = hook["shared_signature_secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(hook["name"], "Inventory Update");
    let listed = client
        .gql("{ webhooks { data(first: 10) { edges { node { name url shared_signature_secret } } } } }")
        .await;
    no_errors(&listed);
    let node = &listed["data"]["webhooks"]["data"]["edges"][0]["node"];
    assert_eq!(node["url"], hook_url.as_str());
    assert_eq!(
        node["shared_signature_secret"],
        Value::Null,
        "secret only at creation"
    );

    let warehouse = sim.warehouse_id(PRIMARY);
    let added = client
        .gql_with(
            "mutation($data: UpdateInventoryInput!) { inventory_add(data: $data) { warehouse_product { on_hand } } }",
            json!({"data": {"sku": "45933041", "warehouse_id": warehouse, "quantity": 4, "reason": "found"}}),
        )
        .await;
    no_errors(&added);
    // The receiver failed the first attempt: the retry delivers it.
    let got = eventually("two attempts", || async {
        let got = receiver.received();
        (got.len() >= 2).then_some(got)
    })
    .await;
    let (headers, body) = &got[1];
    let signature = headers["x-shiphero-hmac-sha256"].to_str().unwrap();
    assert_eq!(signature, hmac_base64(body.as_bytes(), &secret));
    assert_eq!(
        headers["x-shiphero-message-id"], got[0].0["x-shiphero-message-id"],
        "a retry is the same message"
    );
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["webhook_type"], "Inventory Update");
    assert_eq!(body["account_id"], sim.config().account_id);
    assert_eq!(
        body["account_uuid"],
        syncd_sandbox::shiphero::global_id("Account", sim.config().account_id)
    );
    let item = &body["inventory"][0];
    assert_eq!(item["sku"], "45933041");
    assert_eq!(item["on_hand"], "12", "account-wide: 5 in 4350 + 7 in 4351");
    assert_eq!(item["updated_warehouse"]["warehouse_id"], 4350);
    assert_eq!(
        item["updated_warehouse"]["warehouse_uuid"],
        warehouse.as_str()
    );
    assert_eq!(item["updated_warehouse"]["identifier"], "Primary");
    assert_eq!(item["updated_warehouse"]["on_hand"], "5");
    // The simulator records the delivery once the receiver's answer is back, which can be
    // after the receiver has the body.
    let deliveries = eventually("the delivery recorded", || async {
        let deliveries = sim.webhook_deliveries();
        deliveries.iter().any(|d| d.delivered).then_some(deliveries)
    })
    .await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].attempts, 2);
    assert!(deliveries[0].delivered);

    // A sync's rows send webhooks too; injected duplicate and drop.
    sim.duplicate_webhooks(1);
    sim.drop_webhooks(1);
    let url = files.put(
        "hook.csv",
        "sku,quantity,action,reason\n46401204,20,replace,a\n49071335,30,replace,b\n",
    );
    let id = start_sync(&client, &url, &warehouse).await;
    assert_eq!(wait_finished(&sim, &id).await.status, "success");
    let deliveries = eventually("the sync's deliveries", || async {
        let d = sim.webhook_deliveries();
        (d.len() == 3 && d[2].attempts >= 2).then_some(d)
    })
    .await;
    assert!(deliveries[1].dropped && deliveries[1].attempts == 0);
    assert!(deliveries[2].duplicated && !deliveries[2].dropped);
    let got = eventually("the duplicate", || async {
        let got = receiver.received();
        (got.len() >= 4).then_some(got)
    })
    .await;
    let ids: Vec<_> = got[2..]
        .iter()
        .map(|(h, _)| h["x-shiphero-message-id"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, vec![deliveries[2].message_id.clone(); 2]);
    assert!(receiver
        .received()
        .iter()
        .all(|(_, body)| !body.contains("46401204")));

    let deleted = client
        .gql("mutation { webhook_delete(data: { name: \"Inventory Update\", shop_name: \"api\" }) { request_id complexity } }")
        .await;
    no_errors(&deleted);
}

/// Reference B3: "plus 7,000 requests / rolling 5 min … the request cap probably 429".
#[tokio::test]
async fn the_request_cap_answers_429() {
    let sim = sim_with(ShipHeroSimConfig {
        request_cap: Some(3),
        ..ShipHeroSimConfig::default()
    })
    .await;
    let client = Client::login(&sim).await;
    let query = "{ user_quota { credits_remaining } }";
    for _ in 0..3 {
        let (status, _) = client.post("/graphql", query, json!({})).await;
        assert_eq!(status, 200);
    }
    let (status, body) = client.post("/graphql", query, json!({})).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["errors"][0]["code"], 429);
}

/// base64(HMAC-SHA256(body, secret)), computed here with ring (through jsonwebtoken's HS256)
/// and a local base64 encoder.
fn hmac_base64(body: &[u8], secret: &str) -> String {
    let url_safe = jsonwebtoken::crypto::sign(
        body,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        jsonwebtoken::Algorithm::HS256,
    )
    .unwrap();
    // URL-safe unpadded → bytes.
    let mut bits = 0u32;
    let mut n = 0;
    let mut bytes = Vec::new();
    for c in url_safe.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            _ => 63,
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            bytes.push((bits >> n) as u8);
        }
    }
    assert_eq!(bytes.len(), 32);
    // Bytes → standard padded base64.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
