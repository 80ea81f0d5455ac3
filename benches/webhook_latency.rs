//! Webhook acknowledgement latency: `cargo bench --bench webhook_latency` starts the real
//! daemon with a NewStore connector and posts fulfillment events to `/hooks/newstore/events`
//! at 500 requests/s for 10 s over loopback. Every 2xx means the event was flushed to the
//! durable inbox first. Prints p50, p99 and max.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use syncd_sandbox::newstore::{FulfillmentEventSpec, NewStoreSim, NewStoreSimConfig};

const RATE: u64 = 500;
const SECONDS: u64 = 10;
const KEY: &str = "bench-hook-key-0123456789";

fn config(dir: &Path, sim: &NewStoreSim) {
    std::fs::write(
        dir.join("adapters.toml"),
        format!(
            "[daemon]\nstate_dir = \"state\"\nadmin_listen = \"127.0.0.1:0\"\npublic_listen = \"127.0.0.1:0\"\nhttp_requests_per_client_second = 100000\n# webhooks only: no pipeline reads the inbox here\nallow_empty = true\n\n[connectors.newstore]\nkind = \"newstore\"\ntenant = \"sandbox\"\napi_base = \"{}\"\ntoken_url = \"{}\"\nclient_id = \"{}\"\nclient_secret = {{ env = \"NS_SECRET\" }}\nwebhook_api_key = {{ env = \"NS_KEY\" }}\n",
            sim.url(),
            sim.token_url(),
            sim.config().client_id
        ),
    )
    .unwrap();
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sim = NewStoreSim::start(NewStoreSimConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &sim);
    let mut child = Command::new(env!("CARGO_BIN_EXE_syncd"))
        .args(["run", "--config"])
        .arg(dir.path().join("adapters.toml"))
        .env("NS_SECRET", &sim.config().client_secret)
        .env("NS_KEY", KEY)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid_file = dir.path().join("state/syncd.pid");
    let started = Instant::now();
    // Webhooks go to the public listener.
    let public = loop {
        if let Ok(text) = std::fs::read_to_string(&pid_file) {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            break v["public"].as_str().unwrap().to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the daemon did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let url = format!("http://{public}/hooks/newstore/events");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    // Warm up the connection pool.
    for _ in 0..20 {
        let _ = http.get(format!("http://{public}/healthz")).send().await;
    }
    let latencies = common::paced(RATE, RATE * SECONDS, |n| {
        let body = FulfillmentEventSpec {
            name: "fulfillment_request.items_completed".into(),
            id: format!("ffr-{n}"),
            logical_timestamp: n + 1,
            fulfillment_location_id: "DC01".into(),
            items: vec![(format!("item-{n}"), "SKU1".into())],
        }
        .delivery("sandbox")
        .0;
        http.post(&url).bearer_auth(KEY).json(&body)
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "webhook ack latency at {RATE} req/s for {SECONDS}s ({} ok, {} failed): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.ok(),
        latencies.failed,
        latencies.ms(0.50),
        latencies.ms(0.99),
        latencies.max_ms(),
    );
    common::figure(
        "webhook_latency",
        &format!("NewStore webhook ack p99 at {RATE} req/s"),
        serde_json::json!({
            "syncd_ms": latencies.ms(0.99),
            "p50_ms": latencies.ms(0.50),
            "failed": latencies.failed,
        }),
    );
}
