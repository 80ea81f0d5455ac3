//! The real binary between a drop folder and the Fluent simulator: batch calls counted, faults
//! survived with every position delivered exactly once.

use std::path::Path;

use syncd_sandbox::fluent::{FluentSim, FluentSimConfig};
use syncd_sandbox::{data, FaultPlan, FaultSpec};

fn write_csv(path: &Path, positions: &[syncd_core::model::StockPosition]) {
    let mut csv = String::from("sku,location,on_hand\n");
    for p in positions {
        csv.push_str(&format!("{},{},{}\n", p.sku, p.location, p.on_hand));
    }
    std::fs::write(path, csv).unwrap();
}

fn write_config(dir: &Path, sim: &FluentSim, batch_size: usize) {
    let f = sim.config();
    std::fs::create_dir_all(dir.join("drop")).unwrap();
    std::fs::write(
        dir.join("adapters.toml"),
        format!(
            r#"[daemon]
state_dir = "state"

[connectors.erp]
kind = "file"
read_dir = "drop"

[connectors.fluent]
kind = "fluent"
base_url = "{}"
account = "{}"
retailer_id = {}
client_id = "{}"
client_secret = {{ env = "TEST_FLUENT_SECRET" }}
username = "{}"
password = {{ env = "TEST_FLUENT_PASSWORD" }}
batch_size = {batch_size}

[[pipelines]]
name = "erp-to-fluent"
from = "erp"
to = "fluent"
entity = "stock_position"
retry = {{ max_attempts = 8, initial_backoff_ms = 50, max_backoff_ms = 2000 }}
"#,
            sim.url(),
            f.account,
            f.retailer_id,
            f.client_id,
            f.username,
        ),
    )
    .unwrap();
}

async fn once(dir: &Path, sim: &FluentSim) -> serde_json::Value {
    let out = once_with(dir, sim, &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "syncd once failed: {stderr}");
    assert!(
        !stderr.contains(&sim.config().client_secret) && !stderr.contains(&sim.config().password),
        "a secret reached the logs: {stderr}"
    );
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    reports[0].clone()
}

/// `syncd once --json` with more environment, whatever its end.
async fn once_with(dir: &Path, sim: &FluentSim, env: &[(&str, &str)]) -> std::process::Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_syncd"));
    command
        .args(["once", "--json", "--config"])
        .arg(dir.join("adapters.toml"))
        .env("TEST_FLUENT_SECRET", &sim.config().client_secret)
        .env("TEST_FLUENT_PASSWORD", &sim.config().password)
        .env_remove("RUST_LOG");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().await.unwrap()
}

const BATCH: &str = "POST /api/v4.1/job/{id}/batch";

#[tokio::test]
async fn twelve_thousand_positions_take_three_batch_calls_then_none_then_one_of_seven() {
    let sim = FluentSim::start(FluentSimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim, 5000);
    let stock = data::stock_positions(4, 12_000, 6);
    write_csv(&dir.path().join("drop/1.csv"), &stock);

    let first = once(dir.path(), &sim).await;
    assert_eq!(first["written"], 12_000, "{first}");
    let log = sim.log();
    assert_eq!(log.calls(BATCH), 3, "{:?}", log.snapshot());
    assert_eq!(log.calls("POST /api/v4.1/job"), 1);
    assert_eq!(log.calls("POST /oauth/token"), 1);
    assert_eq!(sim.quantities().len(), 12_000);

    // The same export again: nothing has changed, nothing is sent.
    log.reset();
    write_csv(&dir.path().join("drop/2.csv"), &stock);
    let second = once(dir.path(), &sim).await;
    assert_eq!(
        (second["read"].as_u64(), second["unchanged"].as_u64()),
        (Some(12_000), Some(12_000))
    );
    assert_eq!(log.calls(BATCH), 0, "{:?}", log.snapshot());

    // Seven positions change: one batch of seven.
    log.reset();
    write_csv(
        &dir.path().join("drop/3.csv"),
        &data::with_changes(stock.clone(), 9, 7),
    );
    let third = once(dir.path(), &sim).await;
    assert_eq!(third["written"], 7, "{third}");
    assert_eq!(log.calls(BATCH), 1, "{:?}", log.snapshot());
    let twice: Vec<_> = sim
        .applications()
        .into_iter()
        .filter(|(_, n)| *n == 2)
        .collect();
    assert_eq!(
        twice.len(),
        7,
        "the one batch carried the seven changes: {twice:?}"
    );
    assert_eq!(log.calls("POST /api/v4.1/job"), 0, "today's job is reused");
}

#[tokio::test]
async fn under_faults_every_position_arrives_once_and_no_request_beats_its_retry_after() {
    let mut faults = FaultPlan {
        seed: 20261123,
        default: FaultSpec {
            error_rate: 0.10,
            rate_limit_rate: 0.05,
            retry_after_secs: 1,
            ..FaultSpec::default()
        },
        expire_tokens_after: Some(4),
        ..FaultPlan::none()
    };
    // The token endpoint stays reliable enough to log in (it has its own retries too).
    faults
        .endpoints
        .insert("POST /oauth/token".into(), FaultSpec::default());
    let sim = FluentSim::start(FluentSimConfig {
        faults,
        ..FluentSimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim, 250);
    let stock = data::stock_positions(5, 3_000, 5);
    write_csv(&dir.path().join("drop/1.csv"), &stock);

    let report = once(dir.path(), &sim).await;
    assert_eq!(report["written"], 3_000, "{report}");
    assert_eq!(report["dead_lettered"], 0, "{report}");
    let held: std::collections::BTreeMap<(String, String), i64> = sim
        .quantities()
        .into_iter()
        .map(|q| ((q.sku_ref, q.location_ref), q.qty))
        .collect();
    let expected: std::collections::BTreeMap<(String, String), i64> = stock
        .iter()
        .map(|p| ((p.sku.clone(), p.location.clone()), p.on_hand))
        .collect();
    assert_eq!(held, expected, "every position arrived with its quantity");
    assert!(
        sim.applications().values().all(|n| *n == 1),
        "no position was applied twice"
    );
    assert_eq!(
        sim.log().early_requests(),
        0,
        "a request beat its Retry-After"
    );
    assert!(
        sim.log().calls("POST /oauth/token") >= 2,
        "the expired token was renewed: {:?}",
        sim.log().snapshot()
    );
    let faults_seen =
        report["retries"].as_u64().unwrap() + report["rate_limit_waits"].as_u64().unwrap();
    assert!(faults_seen > 0, "the plan injected faults: {report}");
}

#[tokio::test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points exist in debug builds only"
)]
async fn a_kill_after_a_batch_is_posted_waits_for_that_batch_instead_of_sending_it_again() {
    let sim = FluentSim::start(FluentSimConfig {
        batch_running_ms: 300,
        ..FluentSimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim, 5000);
    let stock = data::stock_positions(11, 2_000, 5);
    write_csv(&dir.path().join("drop/1.csv"), &stock);

    // Aborted once Fluent took the batch and it is kept as in flight, before its outcome.
    let crashed = once_with(dir.path(), &sim, &[("SYNCD_CRASH_AT", "batch_kept")]).await;
    assert!(!crashed.status.success());
    assert!(
        String::from_utf8_lossy(&crashed.stderr).contains("crash point `batch_kept` reached"),
        "{}",
        String::from_utf8_lossy(&crashed.stderr)
    );
    assert_eq!(sim.log().calls(BATCH), 1);

    // The rerun replays the write from the outbox: the same body, so it reads that batch.
    let rerun = once(dir.path(), &sim).await;
    assert_eq!(rerun["replayed"], 2_000, "{rerun}");
    assert_eq!(sim.log().calls(BATCH), 1, "{:?}", sim.log().snapshot());
    assert_eq!(sim.quantities().len(), 2_000);
    assert!(sim.applications().values().all(|n| *n == 1));
    let again = once(dir.path(), &sim).await;
    assert_eq!(again["written"], 0, "{again}");
}
