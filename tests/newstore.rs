//! NewStore end to end through the real daemon and the NewStore simulator: fulfillment events
//! in by webhook, stock adjustments into the ledger (the stock authority), stock imports out
//! with the range of logical timestamps whose allocations NewStore may remove.

mod support;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use serde_json::Value;
use support::{until, Daemon};
use syncd_sandbox::newstore::{Delivery, FulfillmentEventSpec, NewStoreSim, NewStoreSimConfig};

const HOOK_KEY: &str = "hook-key-0123456789abcdef";
const PRODUCT: &str = "P1";
const NODE: &str = "DC01";

fn write_config(dir: &Path, sim: &NewStoreSim, grace_secs: u64) {
    std::fs::create_dir_all(dir.join("counts")).unwrap();
    std::fs::write(
        dir.join("adapters.toml"),
        format!(
            r#"[daemon]
state_dir = "state"
admin_listen = "127.0.0.1:0"
public_listen = "127.0.0.1:0"

[connectors.newstore]
kind = "newstore"
tenant = "{tenant}"
api_base = "{api}"
token_url = "{token}"
client_id = "{client}"
client_secret = {{ env = "NS_CLIENT_SECRET" }}
webhook_api_key = {{ env = "NS_HOOK_KEY" }}
gap_grace_secs = {grace_secs}

[connectors.erp]
kind = "file"
ledger_path = "ledger.json"

[connectors.counts]
kind = "file"
read_dir = "counts"

[[pipelines]]
name = "events-to-erp"
from = "newstore"
to = "erp"
entity = "fulfillment_event"
write_as = "stock_adjustment"

[[pipelines]]
name = "counts-to-erp"
from = "counts"
to = "erp"
entity = "stock_position"

[[pipelines]]
name = "stock-to-newstore"
from = "erp"
to = "newstore"
entity = "stock_position"
mode = "full"
"#,
            tenant = sim.config().tenant,
            api = sim.url(),
            token = sim.token_url(),
            client = sim.config().client_id,
        ),
    )
    .unwrap();
}

/// Starts the daemon with its clock at `dir/clock` (see [`advance_clock`]).
async fn start(dir: &Path, sim: &NewStoreSim) -> Daemon {
    start_with(dir, sim, &[]).await
}

/// [`start`], with more environment (a crash point, say).
async fn start_with(dir: &Path, sim: &NewStoreSim, extra: &[(&str, &str)]) -> Daemon {
    let clock = dir.join("clock");
    let mut env = vec![
        ("NS_CLIENT_SECRET", sim.config().client_secret.as_str()),
        ("NS_HOOK_KEY", HOOK_KEY),
        ("SYNCD_CLOCK_FILE", clock.to_str().unwrap()),
    ];
    env.extend_from_slice(extra);
    Daemon::start_at(dir, &env).await
}

/// Moves the daemon's clock `secs` past the real one (debug builds read `SYNCD_CLOCK_FILE`).
fn advance_clock(d: &Daemon, secs: u64) {
    std::fs::write(d.path("clock"), secs.to_string()).unwrap();
}

/// Runs `pipeline` through `syncd trigger` and returns its report.
async fn run(d: &Daemon, pipeline: &str) -> Value {
    let before = d.runs_of(pipeline).await.len();
    d.trigger(pipeline);
    until(&format!("{pipeline} ran"), || async {
        d.runs_of(pipeline).await.len() > before
    })
    .await;
    let report = d.runs_of(pipeline).await.pop().unwrap();
    assert_eq!(
        report["outcome"]["result"],
        "succeeded",
        "{report}\n{}",
        d.log()
    );
    report
}

fn count(d: &Daemon, on_hand: i64) {
    let n = std::fs::read_dir(d.path("counts")).unwrap().count();
    std::fs::write(
        d.path(&format!("counts/{n:03}.csv")),
        format!("sku,location,on_hand\n{PRODUCT},{NODE},{on_hand}\n"),
    )
    .unwrap();
}

fn ledger_on_hand(d: &Daemon) -> i64 {
    let ledger: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path("ledger.json")).unwrap()).unwrap();
    ledger["positions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sku"] == PRODUCT && p["location"] == NODE)
        .map(|p| p["on_hand"].as_i64().unwrap())
        .unwrap()
}

fn event(name: &str, ff: u64) -> FulfillmentEventSpec {
    FulfillmentEventSpec {
        name: name.into(),
        id: format!("ff{ff}"),
        logical_timestamp: 9 + ff,
        fulfillment_location_id: NODE.into(),
        items: vec![(format!("item-{ff}"), PRODUCT.into())],
    }
}

/// The seed's story: ff1..ff4 assigned (logical timestamps 10..13), ff1..ff3 completed.
fn seed_deliveries(tenant: &str) -> Vec<Delivery> {
    let mut d: Vec<Delivery> = (1..=4)
        .map(|ff| event("fulfillment_request.assigned", ff).delivery(tenant))
        .collect();
    d.extend((1..=3).map(|ff| event("fulfillment_request.items_completed", ff).delivery(tenant)));
    d
}

async fn deliver(d: &Daemon, sim: &NewStoreSim, deliveries: &[Delivery]) {
    let url = format!("{}/hooks/newstore/events", d.public());
    let codes = sim.deliver(&url, HOOK_KEY, deliveries).await;
    assert!(codes.iter().all(|c| *c == 200), "{codes:?}\n{}", d.log());
}

async fn newstore() -> NewStoreSim {
    let sim = NewStoreSim::start(NewStoreSimConfig::default())
        .await
        .unwrap();
    sim.set_on_hand(PRODUCT, NODE, 10);
    for ff in 1..=4 {
        sim.allocate(PRODUCT, NODE, 9 + ff, &format!("item-{ff}"));
    }
    sim
}

/// Seed 003's worked example as data (`fixtures/seeds/003/worked_example.json`, transcribed
/// from the seed's prose and sequence diagram, each number with the sentence it comes from).
fn seed_example() -> Value {
    syncd_testkit::seed_json("003", "worked_example.json")
}

/// Runs the worked example with `deliveries` and checks the seed's end state.
async fn worked_example(deliveries: Vec<Delivery>) {
    let example = seed_example();
    let number = |v: &Value| v.as_i64().unwrap();
    // "Let's assume your product stock is 10."
    let initial = number(&example["initial_stock"]);
    let completed: Vec<u64> = example["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["logical_timestamp"].as_u64().unwrap())
        .collect();
    assert_eq!(
        completed,
        [10, 11, 12],
        "ff1..ff3 as the story below plays them"
    );
    let sim = newstore().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim, 1200);
    let d = start(dir.path(), &sim).await;
    count(&d, initial);
    run(&d, "counts-to-erp").await;
    assert_eq!(ledger_on_hand(&d), initial);

    deliver(&d, &sim, &deliveries).await;
    run(&d, "events-to-erp").await;
    assert_eq!(
        ledger_on_hand(&d),
        number(&example["erp_after_sync"]["stock"]),
        "the authority subtracted ff1..ff3"
    );

    // The seed's import carries on-hand 17: stock the ERP counted since.
    let import_on_hand = number(&example["expected_import"]["on_hand"]);
    count(&d, import_on_hand);
    run(&d, "counts-to-erp").await;
    let import = run(&d, "stock-to-newstore").await;
    assert_eq!(import["allocation_ranges"], 1, "{import}");

    let stock = sim.stock(PRODUCT, NODE);
    assert_eq!(
        stock.on_hand,
        number(&example["expected_import"]["newstore_stock_after"])
    );
    assert_eq!(
        stock.allocations.keys().copied().collect::<Vec<_>>(),
        vec![13],
        "ff1..ff3's allocations are gone, ff4's stays"
    );
    let range = &example["expected_import"]["logical_timestamp_range"];
    let (from, to) = (
        range["from"].as_u64().unwrap(),
        range["to"].as_u64().unwrap(),
    );
    assert_eq!(
        sim.removals(),
        (from..=to).map(|lts| (lts, 1)).collect(),
        "each timestamp of the seed's range removed once"
    );

    // Nothing new: the next import sends nothing at all.
    let again = run(&d, "stock-to-newstore").await;
    assert_eq!(
        (
            again["write_calls"].as_u64(),
            again["allocation_ranges"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(sim.finished_imports(), 1);
}

#[tokio::test]
async fn the_seed_example_imports_seventeen_and_removes_ff1_to_ff3_allocations() {
    let sim_tenant = NewStoreSimConfig::default().tenant;
    worked_example(seed_deliveries(&sim_tenant)).await;
}

#[tokio::test]
async fn shuffled_and_duplicated_deliveries_end_the_same() {
    let tenant = NewStoreSimConfig::default().tenant;
    let mut deliveries: Vec<Delivery> = seed_deliveries(&tenant)
        .into_iter()
        .flat_map(|d| [d.clone(), d])
        .collect();
    fastrand::Rng::with_seed(2026).shuffle(&mut deliveries);
    worked_example(deliveries).await;
}

#[tokio::test]
async fn a_missing_timestamp_holds_the_range_until_it_arrives_or_its_grace_passes() {
    let sim = newstore().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim, 1200);
    let d = start(dir.path(), &sim).await;
    count(&d, 10);
    run(&d, "counts-to-erp").await;
    let tenant = &sim.config().tenant;

    // ff2 (timestamp 11) is late: the range stops at 10.
    deliver(
        &d,
        &sim,
        &[1, 3].map(|ff| event("fulfillment_request.items_completed", ff).delivery(tenant)),
    )
    .await;
    run(&d, "events-to-erp").await;
    let first = run(&d, "stock-to-newstore").await;
    assert_eq!(sim.removals(), [(10, 1)].into(), "{first}\n{}", d.log());
    assert_eq!(sim.stock(PRODUCT, NODE).on_hand, 8);

    deliver(
        &d,
        &sim,
        &[event("fulfillment_request.items_completed", 2).delivery(tenant)],
    )
    .await;
    run(&d, "events-to-erp").await;
    run(&d, "stock-to-newstore").await;
    assert_eq!(sim.removals(), [(10, 1), (11, 1), (12, 1)].into());
    assert_eq!(sim.stock(PRODUCT, NODE).on_hand, 7);

    // Timestamp 14 arrives and 13 never does: after the grace period the range moves past it.
    sim.allocate(PRODUCT, NODE, 14, "item-5");
    deliver(
        &d,
        &sim,
        &[event("fulfillment_request.items_completed", 5).delivery(tenant)],
    )
    .await;
    run(&d, "events-to-erp").await;
    let held = run(&d, "stock-to-newstore").await;
    assert_eq!(held["gaps_skipped"], 0, "{held}");
    assert!(
        !sim.removals().contains_key(&14),
        "held back while 13 may still come: {held}"
    );
    // Nineteen minutes on, 13 may still come.
    advance_clock(&d, 19 * 60);
    let still = run(&d, "stock-to-newstore").await;
    assert_eq!(still["gaps_skipped"], 0, "{still}");
    assert!(!sim.removals().contains_key(&14), "{still}");
    // Past the 20-minute grace period, the range moves past it.
    advance_clock(&d, 21 * 60);
    let moved = run(&d, "stock-to-newstore").await;
    assert_eq!(moved["gaps_skipped"], 1, "{moved}");
    assert!(sim.removals().contains_key(&14), "{moved}");
    assert_eq!(
        d.metric("syncd_allocation_gaps_skipped_total", "stock-to-newstore")
            .await,
        1.0
    );
    assert!(
        sim.stock(PRODUCT, NODE).allocations.contains_key(&13),
        "13 itself is never removed by a skip"
    );
}

#[tokio::test]
async fn a_crash_between_the_authoritys_ack_and_the_import_or_during_the_import_loses_and_doubles_nothing(
) {
    let sim = NewStoreSim::start(NewStoreSimConfig {
        processing_delay_ms: 1500,
        ..NewStoreSimConfig::default()
    })
    .await
    .unwrap();
    sim.set_on_hand(PRODUCT, NODE, 10);
    for ff in 1..=4 {
        sim.allocate(PRODUCT, NODE, 9 + ff, &format!("item-{ff}"));
    }
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim, 1200);
    let mut d = start(dir.path(), &sim).await;
    count(&d, 10);
    run(&d, "counts-to-erp").await;
    deliver(&d, &sim, &seed_deliveries(&sim.config().tenant)).await;
    run(&d, "events-to-erp").await;
    assert_eq!(ledger_on_hand(&d), 7);

    // 1. Killed after the authority acknowledged, before any import.
    d.kill9();
    let mut d = start_with(dir.path(), &sim, &[("SYNCD_CRASH_AT", "import_started")]).await;
    count(&d, 17);
    run(&d, "counts-to-erp").await;

    // 2. Aborted right after NewStore was told to start the import, while it processes it.
    d.trigger("stock-to-newstore");
    let (status, _) = d.exit().await;
    assert_eq!(status.signal(), Some(libc::SIGABRT), "{}", d.log());
    assert!(d.log().contains("crash point `import_started` reached"));
    assert_eq!(sim.log().calls("POST /v0/d/import/{id}/start"), 1);
    // NewStore downloads the file after it answers the start, from the process that just
    // died: whether it got the file first is a race, as it would be against real NewStore.
    until("NewStore ended the orphaned import", || async {
        sim.finished_imports() + sim.failed_imports() == 1
    })
    .await;
    let orphan_finished = sim.finished_imports() == 1;

    // The restart replays the write from the outbox: the same stock and range, so the adapter
    // waits for the import already made. Only if that import failed does it import again.
    let imports_before = sim.log().calls("POST /v0/d/import");
    let d = start(dir.path(), &sim).await;
    let replay = run(&d, "stock-to-newstore").await;
    assert!(replay["replayed"].as_u64().unwrap() >= 1, "{replay}");
    let again = u64::from(!orphan_finished);
    assert_eq!(
        sim.log().calls("POST /v0/d/import"),
        imports_before + again,
        "a second import only if the first failed (it finished: {orphan_finished})"
    );
    println!(
        "the orphaned import {}",
        match orphan_finished {
            true => "finished: no second import",
            false => "failed on its download: imported once more",
        }
    );
    assert_eq!(sim.finished_imports(), 1);
    let stock = sim.stock(PRODUCT, NODE);
    assert_eq!(stock.on_hand, 17);
    assert_eq!(
        stock.allocations.keys().copied().collect::<Vec<_>>(),
        vec![13]
    );
    assert_eq!(
        sim.removals(),
        [(10, 1), (11, 1), (12, 1)].into(),
        "no allocation removed twice"
    );
    assert_eq!(ledger_on_hand(&d), 17, "no adjustment applied twice");

    // The events pipeline, run again after the crashes, finds every adjustment applied.
    let events = run(&d, "events-to-erp").await;
    assert_eq!(events["written"], 0, "{events}");
    let ledger: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path("ledger.json")).unwrap()).unwrap();
    assert_eq!(ledger["applied"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn unauthorized_and_malformed_webhooks_are_refused_and_store_nothing() {
    let sim = newstore().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim, 1200);
    let d = start(dir.path(), &sim).await;
    let url = format!("{}/hooks/newstore/events", d.public());
    let good = event("fulfillment_request.items_completed", 1).delivery(&sim.config().tenant);

    let codes = sim
        .deliver(&url, "wrong-key-0123456789", std::slice::from_ref(&good))
        .await;
    assert_eq!(codes, vec![401]);
    let unsigned = d.http.post(&url).json(&good.0).send().await.unwrap();
    assert_eq!(unsigned.status(), 401);

    let mut bad = good.0.clone();
    bad["payload"]["logical_timestamp"] = serde_json::json!("yesterday");
    let r = d
        .http
        .post(&url)
        .bearer_auth(HOOK_KEY)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("payload.logical_timestamp"),
        "{body}"
    );
    let r = d
        .http
        .post(&url)
        .bearer_auth(HOOK_KEY)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let ignored =
        serde_json::json!({"tenant": "sandbox", "name": "order.created", "payload": {"id": "o1"}});
    let r = d
        .http
        .post(&url)
        .bearer_auth(HOOK_KEY)
        .json(&ignored)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "a valid event of another kind is acknowledged"
    );

    assert_eq!(d.get("/healthz").await.0, 200);
    let (_, metrics) = d.get("/metrics").await;
    assert!(
        metrics.contains(r#"syncd_inbox_depth{connector="newstore"} 0"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"syncd_webhooks_total{connector="newstore",result="unauthorized"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"syncd_webhooks_total{connector="newstore",result="ignored"} 1"#),
        "{metrics}"
    );
    let events = run(&d, "events-to-erp").await;
    assert_eq!(events["read"], 0, "nothing was stored: {events}");
}

#[tokio::test]
async fn a_store_that_cannot_write_fails_readiness_and_the_daemon_exits_for_a_restart() {
    let sim = NewStoreSim::start(NewStoreSimConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim, 1200);
    let clock = dir.path().join("clock");
    let env = [
        ("NS_CLIENT_SECRET", sim.config().client_secret.as_str()),
        ("NS_HOOK_KEY", HOOK_KEY),
        ("SYNCD_CLOCK_FILE", clock.to_str().unwrap()),
    ];
    let config = dir.path().join("adapters.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "public_listen = \"127.0.0.1:0\"",
        "public_listen = \"127.0.0.1:0\"\ncheck_interval_secs = 3\nhttp_requests_per_client_second = 100000",
    );
    std::fs::write(&config, text).unwrap();
    // Files capped at 3 MiB, as a nearly full disk: webhooks fill the inbox until the store
    // can write no more.
    let mut d = Daemon::start_with(dir.path(), &env, Some(3 << 20)).await;
    let url = format!("{}/hooks/newstore/events", d.public());
    let tenant = sim.config().tenant.clone();
    let mut stored = 0;
    let mut refused = false;
    for ff in 0..20_000u64 {
        let mut e = event("fulfillment_request.items_completed", ff);
        e.items = (0..20)
            .map(|i| (format!("item-{ff}-{i}"), PRODUCT.into()))
            .collect();
        match sim.deliver(&url, HOOK_KEY, &[e.delivery(&tenant)]).await[..] {
            [200] => stored += 1,
            [0] => break, // the daemon is already gone
            [503] => {
                refused = true;
                break;
            }
            ref other => panic!("a delivery answered {other:?}"),
        }
    }
    assert!(refused, "the store never ran out of room ({stored} stored)");
    // Until it has stopped, readiness names the store.
    if let Ok(answer) = d.http.get(format!("{}/readyz", d.admin)).send().await {
        let (status, body) = (answer.status().as_u16(), answer.text().await.unwrap());
        assert_eq!(status, 503, "{body}");
        assert!(body.contains("cannot write"), "{body}");
    }
    let (status, _) = d.exit().await;
    assert_eq!(
        status.code(),
        Some(1),
        "exits non-zero for a restart: {}",
        d.log()
    );
    assert!(
        d.log().contains("the state store cannot write"),
        "{}",
        d.log()
    );
    // Restarted with room, it has every event it acknowledged.
    let d = start(dir.path(), &sim).await;
    // Ready once every connector's first check has passed.
    until("the restarted daemon is ready", || async {
        d.get("/readyz").await.0 == 200
    })
    .await;
    let metrics = d.get("/metrics").await.1;
    let inbox = metrics
        .lines()
        .find(|l| l.starts_with("syncd_inbox_depth{connector=\"newstore\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok());
    assert_eq!(
        inbox,
        Some(stored as f64),
        "every acknowledged event kept: {metrics}"
    );
}
