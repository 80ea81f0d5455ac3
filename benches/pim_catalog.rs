//! PIM figures: `cargo bench --bench pim_catalog` prints them.
//!
//! - Acknowledgement latency of the app's `PUT /consume/product_updated` at 200 calls/s for
//!   10 s, each call verified (HS256), validated against the seed's schemas, folded into the
//!   catalog and its record stored in the inbox, both flushed, before the 2xx (the real
//!   daemon over loopback): p50, p99, max (target p99 ≤ 20 ms).
//! - 100k synchronization events (10k products × 10 events) folded into a fresh catalog
//!   through the connector, one call per product as Ergonode sends them (target ≤ 10 s).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use syncd_adapter_pim::PimFactory;
use syncd_core::{BuildContext, ConfigSection, ConnectorFactory, WebhookRequest};

const RATE: u64 = 200;
const SECONDS: u64 = 10;
const SECRET: &str = "bench-shared-secret-0123456789";
const INSTALLATION: &str = "bench-installation";
const KEY: &str = "bench-encryption-key-0123456789";

fn token(sync: Option<&str>) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims =
        json!({"app_installation_id": INSTALLATION, "iat": now, "nbf": now - 1, "exp": now + 600});
    if let Some(sync) = sync {
        claims["synchronization_id"] = json!(sync);
    }
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// The ten events of one product's creation, every shape the seed shows for products.
fn product_events(n: usize) -> Vec<Value> {
    let sku = format!("SKU-{n:06}");
    vec![
        json!({"type": "product_created", "payload": {"sku": sku, "type": "SIMPLE-PRODUCT", "category_codes": ["shoes"]}}),
        json!({"type": "product_value_added", "payload": {"attribute_code": "name", "attribute_type": "TEXT", "attribute_scope": "local", "value": [{"language": "en_GB", "translation": format!("Shoe {n}")}, {"language": "de_DE", "translation": format!("Schuh {n}")}]}}),
        json!({"type": "product_value_added", "payload": {"attribute_code": "price", "attribute_type": "PRICE", "attribute_scope": "global", "value": 19.99}}),
        json!({"type": "product_value_added", "payload": {"attribute_code": "colour", "attribute_type": "SELECT", "attribute_scope": "global", "value": "red"}}),
        json!({"type": "product_value_changed", "payload": {"attribute_code": "price", "attribute_type": "PRICE", "attribute_scope": "global", "value": 17.99}}),
        json!({"type": "product_added_to_category", "payload": {"category_code": "sale"}}),
        json!({"type": "product_binding_added", "payload": {"attribute_code": "colour"}}),
        json!({"type": "product_child_added", "payload": {"child_sku": "LACES", "child_quantity": 2}}),
        json!({"type": "product_child_quantity_changed", "payload": {"child_sku": "LACES", "child_quantity": 1}}),
        json!({"type": "product_removed_from_category", "payload": {"category_code": "shoes"}}),
    ]
}

fn call(n: usize) -> Value {
    json!({"name": "product_created", "resource_id": {"id": format!("SKU-{n:06}"), "type": "sku"},
           "synchronization": {"resource_customs": null, "events": product_events(n)}})
}

fn config(dir: &Path) {
    std::fs::write(
        dir.join("adapters.toml"),
        "[daemon]\nstate_dir = \"state\"\nadmin_listen = \"127.0.0.1:0\"\npublic_listen = \"127.0.0.1:0\"\nhttp_requests_per_client_second = 100000\nallow_empty = true\n\n[connectors.pim]\nkind = \"pim\"\nencryption_key = { env = \"PIM_KEY\" }\n",
    )
    .unwrap();
}

async fn latency() {
    let dir = tempfile::tempdir().unwrap();
    config(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_syncd"))
        .args(["run", "--config"])
        .arg(dir.path().join("adapters.toml"))
        .env("PIM_KEY", KEY)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid_file = dir.path().join("state/syncd.pid");
    let started = Instant::now();
    let public = loop {
        if let Ok(text) = std::fs::read_to_string(&pid_file) {
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                break v["public"].as_str().unwrap().to_string();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the daemon did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let base = format!("http://{public}/hooks/pim");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let installed = http
        .post(format!("{base}/handshake"))
        .header("X-APP-TOKEN", token(None))
        .json(&json!({"shared_secret": SECRET}))
        .send()
        .await
        .unwrap();
    assert!(installed.status().is_success());
    let consume = format!("{base}/consume/product_created");
    let latencies = common::paced(RATE, RATE * SECONDS, |n| {
        http.put(&consume)
            .header("X-APP-TOKEN", token(None))
            .json(&call(n as usize))
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "pim ack latency at {RATE} calls/s ({} events/s) for {SECONDS}s ({} ok, {} failed): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 ≤ 20 ms)",
        RATE * 10,
        latencies.ok(),
        latencies.failed,
        latencies.ms(0.50),
        latencies.ms(0.99),
        latencies.max_ms(),
    );
    common::figure(
        "pim_catalog",
        &format!("PIM ack p99 at {RATE} calls/s"),
        serde_json::json!({
            "syncd_ms": latencies.ms(0.99),
            "p50_ms": latencies.ms(0.50),
            "target_ms": 20,
        }),
    );
}

async fn fold() {
    let dir = tempfile::tempdir().unwrap();
    let section =
        ConfigSection::from_toml("connectors.pim", &format!("encryption_key = '{KEY}'")).unwrap();
    let connector = PimFactory
        .build(BuildContext {
            name: "pim".into(),
            section,
            data_dir: dir.path().to_path_buf(),
            base_dir: dir.path().to_path_buf(),
        })
        .unwrap();
    let receiver = connector.webhooks().unwrap();
    let handshake = WebhookRequest {
        method: "POST".into(),
        path: "/handshake".into(),
        headers: vec![("x-app-token".into(), token(None))],
        body: serde_json::to_vec(&json!({"shared_secret": SECRET})).unwrap(),
    };
    receiver.reply(&handshake).await.unwrap().unwrap();
    let products = 10_000;
    let token = token(None);
    let started = Instant::now();
    let mut records = 0;
    for n in 0..products {
        let request = WebhookRequest {
            method: "PUT".into(),
            path: "/consume/product_created".into(),
            headers: vec![("x-app-token".into(), token.clone())],
            body: serde_json::to_vec(&call(n)).unwrap(),
        };
        records += receiver.accept(&request).await.unwrap().len();
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(records, products);
    assert!(connector
        .catalog()
        .unwrap()
        .knows_sku("SKU-009999")
        .unwrap());
    println!(
        "pim fold: {} events ({products} calls) verified, validated and folded, each call flushed, in {secs:.2}s = {:.0} events/s (target ≤ 10 s)",
        products * 10,
        (products * 10) as f64 / secs
    );
    common::figure(
        "pim_catalog",
        &format!("{} Ergonode events folded", products * 10),
        serde_json::json!({"syncd_s": secs, "target_s": 10}),
    );
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    fold().await;
    latency().await;
}
