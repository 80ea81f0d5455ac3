//! ShipHero end to end through the real binary and the ShipHero simulator: a drop folder's
//! positions synced in CSVs of 3,000 rows that the daemon serves and the simulator downloads,
//! a bad row dead-lettered by name, an unchanged rerun making no sync, a served CSV gone once its
//! sync ended, and kills while a sync runs (or around its creation) re-attaching to it rather
//! than uploading again.

mod support;

use std::path::Path;

use serde_json::Value;
use support::{until, Daemon};
use syncd_sandbox::shiphero::{ShipHeroSim, ShipHeroSimConfig};

const WAREHOUSE: u64 = 4350;
const SYNC: &str = "POST /graphql";

async fn warehouse(config: ShipHeroSimConfig, skus: usize) -> ShipHeroSim {
    let sim = ShipHeroSim::start(config).await.unwrap();
    let names: Vec<String> = (0..skus).map(|i| format!("SKU-{i:05}")).collect();
    let products: Vec<(&str, i64)> = names.iter().map(|s| (s.as_str(), 0)).collect();
    sim.seed_products(WAREHOUSE, &products);
    sim
}

/// A port free now, so that a restarted daemon serves its files where the first one did.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_config(dir: &Path, sim: &ShipHeroSim, public_port: Option<u16>) {
    std::fs::create_dir_all(dir.join("drop")).unwrap();
    let public = public_port
        .map(|p| format!("public_listen = \"127.0.0.1:{p}\"\n"))
        .unwrap_or_default();
    std::fs::write(
        dir.join("adapters.toml"),
        format!(
            r#"[daemon]
state_dir = "state"
admin_listen = "127.0.0.1:0"
admin_token = {{ env = "SYNCD_TEST_ADMIN_TOKEN" }}
{public}
[connectors.erp]
kind = "file"
read_dir = "drop"

[connectors.warehouse]
kind = "shiphero"
base_url = "{url}"
username = "{user}"
password = {{ env = "SHIPHERO_PASSWORD" }}
warehouse_id = "{warehouse}"
location = "WH1"
poll_interval_secs = 0.05

[[pipelines]]
name = "erp-to-shiphero"
from = "erp"
to = "warehouse"
entity = "stock_position"
retry = {{ max_attempts = 6, initial_backoff_ms = 20, max_backoff_ms = 200 }}
"#,
            url = sim.url(),
            user = sim.config().username,
            warehouse = sim.warehouse_id(WAREHOUSE),
        ),
    )
    .unwrap();
}

fn drop_counts(dir: &Path, n: usize, quantity: impl Fn(usize) -> i64, extra: &str) {
    let files = std::fs::read_dir(dir.join("drop")).unwrap().count();
    let mut csv = String::from("sku,location,on_hand\n");
    for i in 0..n {
        csv.push_str(&format!("SKU-{i:05},WH1,{}\n", quantity(i)));
    }
    csv.push_str(extra);
    std::fs::write(dir.join(format!("drop/{files:03}.csv")), csv).unwrap();
}

async fn once(dir: &Path, sim: &ShipHeroSim, env: &[(&str, &str)]) -> std::process::Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_syncd"));
    command
        .args(["once", "--json", "--config"])
        .arg(dir.join("adapters.toml"))
        .env_remove("RUST_LOG")
        .env("SYNCD_TEST_ADMIN_TOKEN", support::ADMIN_TOKEN)
        .env("SHIPHERO_PASSWORD", &sim.config().password);
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().await.unwrap()
}

/// The run's report; `syncd once` exits 0, or 3 when records were dead-lettered.
fn report(out: &std::process::Output) -> Value {
    assert!(
        matches!(out.status.code(), Some(0) | Some(3)),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout).unwrap()[0].clone()
}

#[tokio::test]
async fn ten_thousand_positions_go_in_four_syncs_each_csv_fetched_once_and_a_bad_row_is_named() {
    let sim = warehouse(ShipHeroSimConfig::default(), 10_000).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim, None);
    // One SKU the warehouse does not have: "All SKUs included must be existing SKUs and
    // available on that specific warehouse."
    drop_counts(
        dir.path(),
        10_000,
        |i| (i % 50) as i64 + 1,
        "NOT-A-SKU,WH1,5\n",
    );

    let first = report(&once(dir.path(), &sim, &[]).await);
    assert_eq!(
        (first["written"].as_u64(), first["dead_lettered"].as_u64()),
        (Some(10_000), Some(1)),
        "{first}"
    );
    let syncs = sim.syncs();
    assert_eq!(syncs.len(), 4, "⌈10,001 / 3,000⌉ syncs: {syncs:?}");
    let fetches = sim.csv_fetches();
    assert_eq!(fetches.len(), 4, "each CSV fetched once: {fetches:?}");
    assert!(syncs.iter().all(|s| fetches.contains(&s.url)));
    assert_eq!(sim.on_hand(WAREHOUSE, "SKU-00049"), Some(50));
    assert_eq!(sim.on_hand(WAREHOUSE, "SKU-09999"), Some(50));

    // The dead letter names the sku, its row and ShipHero's reason.
    let dlq = support::syncd()
        .args(["dlq", "list", "--json", "--config"])
        .arg(dir.path().join("adapters.toml"))
        .output()
        .unwrap();
    let letters: Value = serde_json::from_slice(&dlq.stdout).unwrap();
    let error = letters[0]["error"].as_str().unwrap_or_default().to_string();
    assert!(
        error.contains("sku NOT-A-SKU") && error.contains("row ") && error.contains("sync "),
        "{letters}"
    );

    // Every served CSV is gone once its sync ended.
    for url in &fetches {
        let status = reqwest::get(url).await.map_or(0, |r| r.status().as_u16());
        assert!(status == 404 || status == 0, "{url}: {status}");
    }

    // The same export again: nothing changed, no sync.
    sim.log().reset();
    drop_counts(dir.path(), 10_000, |i| (i % 50) as i64 + 1, "");
    let second = report(&once(dir.path(), &sim, &[]).await);
    assert_eq!(second["written"], 0, "{second}");
    assert_eq!(sim.syncs().len(), 4);
    assert_eq!(sim.log().calls(SYNC), 0, "{:?}", sim.log().snapshot());
}

#[tokio::test]
async fn a_kill_while_a_sync_runs_re_attaches_to_it_and_uploads_nothing_twice() {
    // Slow enough that the kill lands while the rows are being processed.
    let config = ShipHeroSimConfig {
        sync_rows_per_tick: 20,
        sync_tick_ms: 10,
        ..ShipHeroSimConfig::default()
    };
    let sim = warehouse(config, 2_000).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    write_config(dir.path(), &sim, Some(port));
    drop_counts(dir.path(), 2_000, |i| i as i64, "");
    let env = [("SHIPHERO_PASSWORD", sim.config().password.as_str())];
    let mut d = Daemon::start_at(dir.path(), &env).await;
    d.trigger("erp-to-shiphero");
    until("the sync is processing rows", || async {
        sim.syncs()
            .first()
            .is_some_and(|s| s.status == "processing" && s.finished_count > 0)
    })
    .await;
    d.kill9();
    let sync_id = sim.syncs()[0].id.clone();

    let d = Daemon::start_at(dir.path(), &env).await;
    d.trigger("erp-to-shiphero");
    until("the restarted daemon finishes the run", || async {
        d.runs_of("erp-to-shiphero")
            .await
            .last()
            .is_some_and(|r| r["outcome"]["result"] == "succeeded")
    })
    .await;
    let syncs = sim.syncs();
    assert_eq!(syncs.len(), 1, "re-attached, not uploaded again: {syncs:?}");
    assert_eq!(syncs[0].id, sync_id);
    assert_eq!(syncs[0].status, "success");
    assert_eq!(sim.csv_fetches().len(), 1);
    assert_eq!(sim.on_hand(WAREHOUSE, "SKU-01999"), Some(1999));
}

#[tokio::test]
async fn a_kill_around_the_creation_of_a_sync_converges_on_one_sync() {
    for point in ["sync_intent", "sync_kept"] {
        // The download waits a little, so that the daemon that comes back serves the file.
        let config = ShipHeroSimConfig {
            sync_pending_ms: 1_500,
            ..ShipHeroSimConfig::default()
        };
        let sim = warehouse(config, 100).await;
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        write_config(dir.path(), &sim, Some(port));
        drop_counts(dir.path(), 100, |i| i as i64 + 1, "");
        let mut env = vec![("SHIPHERO_PASSWORD", sim.config().password.as_str())];
        env.push(("SYNCD_CRASH_AT", point));
        let mut d = Daemon::start_at(dir.path(), &env).await;
        d.trigger("erp-to-shiphero");
        let (status, _) = d.exit().await;
        assert!(
            !status.success(),
            "{point}: the daemon died at the crash point"
        );

        env.pop();
        let d = Daemon::start_at(dir.path(), &env).await;
        d.trigger("erp-to-shiphero");
        until("the restarted daemon finishes the run", || async {
            d.runs_of("erp-to-shiphero")
                .await
                .last()
                .is_some_and(|r| r["outcome"]["result"] == "succeeded")
        })
        .await;
        let syncs = sim.syncs();
        let expected = match point {
            // Killed before the mutation: the one sync is the restarted daemon's.
            "sync_intent" => 1,
            // Killed after it: the restarted daemon found it and followed it.
            _ => 1,
        };
        assert_eq!(syncs.len(), expected, "{point}: {syncs:?}");
        assert_eq!(syncs[0].status, "success", "{point}");
        assert_eq!(sim.on_hand(WAREHOUSE, "SKU-00099"), Some(100), "{point}");
    }
}

/// A GraphQL call to the simulator as any client makes it: a token, then the query.
async fn graphql(sim: &ShipHeroSim, query: &str, variables: Value) -> Value {
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{}/auth/token", sim.url()))
        .json(&serde_json::json!({"username": sim.config().username, "password": sim.config().password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    http.post(format!("{}/graphql", sim.url()))
        .bearer_auth(login["access_token"].as_str().unwrap())
        .json(&serde_json::json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_inventory_update_webhook_brings_the_skus_stock_into_the_daemon_and_a_forged_one_is_refused(
) {
    let sim = warehouse(ShipHeroSimConfig::default(), 3).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let hook = format!("http://127.0.0.1:{port}/hooks/warehouse_hooks");
    // "secret returned only here"
    let created = graphql(
        &sim,
        "mutation($url: String!) { webhook_create(data: { name: \"Inventory Update\", url: $url, shop_name: \"api\" }) { request_id complexity webhook { shared_signature_secret } } }",
        serde_json::json!({ "url": hook }),
    )
    .await;
    let secret = created["data"]["webhook_create"]["webhook"]["shared_signature_secret"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    std::fs::write(
        dir.path().join("adapters.toml"),
        format!(
            r#"[daemon]
state_dir = "state"
admin_listen = "127.0.0.1:0"
public_listen = "127.0.0.1:{port}"
admin_token = {{ env = "SYNCD_TEST_ADMIN_TOKEN" }}

[connectors.warehouse_hooks]
kind = "shiphero"
base_url = "{url}"
username = "{user}"
password = {{ env = "SHIPHERO_PASSWORD" }}
warehouse_id = "{warehouse}"
location = "WH1"
webhook_secret = {{ env = "SHIPHERO_HOOK_SECRET" }}

[connectors.shop]
kind = "file"
write_path = "out/stock.jsonl"

[[pipelines]]
name = "shiphero-to-shop"
from = "warehouse_hooks"
to = "shop"
entity = "stock_position"
"#,
            url = sim.url(),
            user = sim.config().username,
            warehouse = sim.warehouse_id(WAREHOUSE),
        ),
    )
    .unwrap();
    let env = [
        ("SHIPHERO_PASSWORD", sim.config().password.as_str()),
        ("SHIPHERO_HOOK_SECRET", secret.as_str()),
    ];
    let d = Daemon::start_at(dir.path(), &env).await;

    // A count in the warehouse: ShipHero posts an Inventory Update, signed.
    let replaced = graphql(
        &sim,
        "mutation($data: ReplaceInventoryInput!) { inventory_replace(data: $data) { request_id complexity warehouse_product { sku on_hand } } }",
        serde_json::json!({"data": {"sku": "SKU-00001", "warehouse_id": sim.warehouse_id(WAREHOUSE), "quantity": 42, "reason": "count"}}),
    )
    .await;
    assert_eq!(
        replaced["data"]["inventory_replace"]["warehouse_product"]["on_hand"], 42,
        "{replaced}"
    );
    until("the webhook is delivered", || async {
        sim.webhook_deliveries().iter().any(|w| w.delivered)
    })
    .await;
    let before = d.runs_of("shiphero-to-shop").await.len();
    d.trigger("shiphero-to-shop");
    until("the pipeline ran", || async {
        d.runs_of("shiphero-to-shop").await.len() > before
    })
    .await;
    let stock = syncd_adapter_file::read_snapshot(&d.path("out/stock.jsonl")).unwrap();
    let held: Vec<(String, i64)> = stock
        .into_iter()
        .map(|(k, p)| (k.to_string(), p.on_hand))
        .collect();
    assert_eq!(held, vec![("SKU-00001|WH1".to_string(), 42)]);

    // A body signed with another secret is refused before anything is kept.
    let body = r#"{"webhook_type":"Inventory Update","inventory":[]}"#;
    let forged = reqwest::Client::new()
        .post(&hook)
        .header(
            "X-ShipHero-HMAC-SHA256",
            syncd_adapter_shiphero::webhook::sign(body.as_bytes(), "not-the-secret"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 401);
}
