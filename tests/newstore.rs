//! NewStore end to end through the real daemon and the NewStore simulator: fulfillment events
//! in by webhook, stock adjustments into the ledger (the stock authority), stock imports out
//! with the ranges of logical timestamps whose allocations NewStore may remove. The tenant's
//! life (orders assigned, items completed or failed) is driven through the simulator's HTTP
//! controls, which publish every event with its own logical timestamp, and every story ends by
//! reading NewStore's ATP back over HTTP.

mod support;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use serde_json::{json, Value};
use support::{until, Daemon};
use syncd_sandbox::newstore::{FulfillmentEventSpec, NewStoreSim, NewStoreSimConfig};

const HOOK_KEY: &str = "hook-key-0123456789abcdef";
const PRODUCT: &str = "P1";
const NODE: &str = "DC01";

fn write_config(dir: &Path, sim: &NewStoreSim) {
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

/// Starts the daemon with its clock at `dir/clock`.
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

/// The ERP counted `on_hand` of every (product, node) given.
fn count(d: &Daemon, rows: &[(&str, &str, i64)]) {
    let n = std::fs::read_dir(d.path("counts")).unwrap().count();
    let mut csv = String::from("sku,location,on_hand\n");
    for (product, node, on_hand) in rows {
        csv.push_str(&format!("{product},{node},{on_hand}\n"));
    }
    std::fs::write(d.path(&format!("counts/{n:03}.csv")), csv).unwrap();
}

fn ledger_on_hand_of(d: &Daemon, product: &str, node: &str) -> i64 {
    let ledger: Value =
        serde_json::from_str(&std::fs::read_to_string(d.path("ledger.json")).unwrap()).unwrap();
    ledger["positions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sku"] == product && p["location"] == node)
        .map(|p| p["on_hand"].as_i64().unwrap())
        .unwrap()
}

fn ledger_on_hand(d: &Daemon) -> i64 {
    ledger_on_hand_of(d, PRODUCT, NODE)
}

/// NewStore as its tenant lives it, through the simulator's HTTP controls.
struct Tenant {
    http: reqwest::Client,
    base: String,
}

impl Tenant {
    /// The tenant of `sim`, its event stream posting to the daemon's webhook.
    async fn of(sim: &NewStoreSim, d: &Daemon) -> Tenant {
        let tenant = Tenant {
            http: reqwest::Client::new(),
            base: sim.url(),
        };
        tenant
            .send(
                "PUT",
                "/_sandbox/event_stream",
                json!({"callback_url": format!("{}/hooks/newstore/events", d.public()), "api_key": HOOK_KEY}),
            )
            .await;
        tenant
    }

    async fn send(&self, method: &str, path: &str, body: Value) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let answer = self
            .http
            .request(method, format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let text = answer.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn set_on_hand(&self, product: &str, node: &str, on_hand: i64) {
        self.send(
            "PUT",
            "/_sandbox/stock",
            json!({"product_id": product, "fulfillment_node_id": node, "on_hand": on_hand}),
        )
        .await;
    }

    /// `{on_hand, allocations, atp}` of (product, node).
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

    /// NewStore holds `on_hand` of (product, node), `atp` of it available.
    async fn assert_stock(&self, product: &str, node: &str, on_hand: i64, atp: i64) {
        let stock = self.stock(product, node).await;
        assert_eq!(
            (stock["on_hand"].as_i64(), stock["atp"].as_i64()),
            (Some(on_hand), Some(atp)),
            "{product}@{node}: {stock}"
        );
    }

    async fn atp(&self, product: &str, node: &str) -> i64 {
        self.stock(product, node).await["atp"].as_i64().unwrap()
    }

    /// Assigns request `id` with one item per product at `node`: `fulfillment_request.assigned`
    /// is published (unless `extra` says `"deliver": false`); gives the answer.
    async fn assign(&self, id: &str, node: &str, products: &[&str], extra: Value) -> Value {
        let mut body = json!({
            "id": id,
            "fulfillment_location_id": node,
            "items": products.iter().map(|p| json!({"product_id": p})).collect::<Vec<_>>(),
        });
        merge(&mut body, extra);
        let answer = self
            .send("POST", "/_sandbox/fulfillment_requests", body)
            .await;
        assert_delivered(&answer);
        answer
    }

    /// Completes (`complete`) or fails (`fail`) items of request `id` (every open one unless
    /// `extra` names `items`).
    async fn finish(&self, id: &str, how: &str, extra: Value) -> Value {
        let answer = self
            .send(
                "POST",
                &format!("/_sandbox/fulfillment_requests/{id}/{how}"),
                extra,
            )
            .await;
        assert_delivered(&answer);
        answer
    }

    async fn redeliver(&self, lts: u64) {
        let answer = self
            .send(
                "POST",
                &format!("/_sandbox/events/{lts}/redeliver"),
                json!({}),
            )
            .await;
        assert_eq!(answer["delivered"], 200, "{answer}");
    }
}

fn merge(body: &mut Value, extra: Value) {
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
}

/// The daemon took the event (200), or it was not meant to be sent (null).
fn assert_delivered(answer: &Value) {
    assert!(
        answer["delivered"] == 200 || answer["delivered"].is_null(),
        "the webhook answered {answer}"
    );
}

fn ranges(sim: &NewStoreSim) -> Vec<(u64, u64)> {
    sim.ranges().iter().map(|r| (r.from, r.to)).collect()
}

/// Seed 003's worked example as data (`fixtures/seeds/003/worked_example.json`, transcribed
/// from the seed's prose and sequence diagram, each number with the sentence it comes from).
fn seed_example() -> Value {
    syncd_testkit::seed_json("003", "worked_example.json")
}

/// A NewStore tenant, a daemon with a fresh state dir beside it, and the ERP's first count.
async fn setup(
    sim_config: NewStoreSimConfig,
    initial: &[(&str, &str, i64)],
) -> (NewStoreSim, Daemon, Tenant, tempfile::TempDir) {
    let sim = NewStoreSim::start(sim_config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim);
    let d = start(dir.path(), &sim).await;
    let tenant = Tenant::of(&sim, &d).await;
    for (product, node, on_hand) in initial {
        tenant.set_on_hand(product, node, *on_hand).await;
    }
    count(&d, initial);
    run(&d, "counts-to-erp").await;
    (sim, d, tenant, dir)
}

#[tokio::test]
async fn the_seed_example_with_each_event_at_its_own_timestamp_and_the_orders_after_it() {
    let example = seed_example();
    let number = |v: &Value| v.as_i64().unwrap();
    // "Let's assume your product stock is 10."
    let initial = number(&example["initial_stock"]);
    // "Initial stock for the product was 10, and ff1, ff2, ff3 were completed with logical
    // timestamps 10, 11, 12."
    let completed: Vec<u64> = example["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["logical_timestamp"].as_u64().unwrap())
        .collect();
    assert_eq!(completed, [10, 11, 12]);
    let (sim, d, tenant, _dir) =
        setup(NewStoreSimConfig::default(), &[(PRODUCT, NODE, initial)]).await;

    // "Each fulfillment event in NewStore is associated with a logical timestamp": ff1..ff4
    // are assigned before (6..9), each at its own timestamp, and ff1..ff3 complete at 10..12.
    for (ff, at) in [("ff1", 6), ("ff2", 7), ("ff3", 8), ("ff4", 9)] {
        tenant
            .assign(ff, NODE, &[PRODUCT], json!({"logical_timestamp": at}))
            .await;
    }
    for (ff, at) in ["ff1", "ff2", "ff3"].into_iter().zip(completed) {
        tenant
            .finish(ff, "complete", json!({"logical_timestamp": at}))
            .await;
    }
    assert_eq!(
        tenant.atp(PRODUCT, NODE).await,
        initial - 4,
        "four allocated"
    );

    // "Stock is updated to 7 and 3 allocations are removed."
    run(&d, "events-to-erp").await;
    assert_eq!(
        ledger_on_hand(&d),
        number(&example["erp_after_sync"]["stock"])
    );

    // "Stock is imported with current on hand value set to 17, and includes a logical
    // timestamp range 10-12 to identify allocations to be removed."
    let import_on_hand = number(&example["expected_import"]["on_hand"]);
    count(&d, &[(PRODUCT, NODE, import_on_hand)]);
    run(&d, "counts-to-erp").await;
    let import = run(&d, "stock-to-newstore").await;
    assert_eq!(import["allocation_ranges"], 1, "{import}");
    let range = &example["expected_import"]["logical_timestamp_range"];
    assert_eq!(
        ranges(&sim),
        [(
            range["from"].as_u64().unwrap(),
            range["to"].as_u64().unwrap()
        )],
        "the seed's range exactly: ff4's open assignment at 9 is not covered"
    );
    // "Stock is updated to 17 and allocations are removed for items in ff1, ff2, ff3."
    let stock = tenant.stock(PRODUCT, NODE).await;
    assert_eq!(
        number(&stock["on_hand"]),
        number(&example["expected_import"]["newstore_stock_after"])
    );
    assert_eq!(
        stock["allocations"].as_array().unwrap().len(),
        1,
        "ff4's stays: {stock}"
    );
    assert_eq!(stock["allocations"][0]["fulfillment_request_id"], "ff4");
    assert_eq!(number(&stock["atp"]), 16);

    // Nothing new: the next import sends nothing at all.
    let again = run(&d, "stock-to-newstore").await;
    assert_eq!(
        (
            again["write_calls"].as_u64(),
            again["allocation_ranges"].as_u64()
        ),
        (Some(0), Some(0))
    );

    // "ff4 is the most recently fulfilled item": completed at 13, its own range.
    tenant
        .finish("ff4", "complete", json!({"logical_timestamp": 13}))
        .await;
    run(&d, "events-to-erp").await;
    assert_eq!(ledger_on_hand(&d), 16);
    run(&d, "stock-to-newstore").await;
    assert_eq!(ranges(&sim).last(), Some(&(13, 13)));
    assert_eq!(
        tenant.atp(PRODUCT, NODE).await,
        16,
        "shipped stock counted once"
    );

    // An order assigned at 14 and completed at 15, as two events: the range keeps moving and
    // covers both.
    tenant.assign("ff5", NODE, &[PRODUCT], json!({})).await;
    tenant.finish("ff5", "complete", json!({})).await;
    run(&d, "events-to-erp").await;
    assert_eq!(ledger_on_hand(&d), 15);
    run(&d, "stock-to-newstore").await;
    assert_eq!(ranges(&sim).last(), Some(&(14, 15)));
    assert_eq!(tenant.atp(PRODUCT, NODE).await, 15);

    // A completion whose assignment never reached us (16, not delivered) is covered too.
    tenant
        .assign("ff6", NODE, &[PRODUCT], json!({"deliver": false}))
        .await;
    tenant.finish("ff6", "complete", json!({})).await;
    run(&d, "events-to-erp").await;
    assert_eq!(ledger_on_hand(&d), 14);
    run(&d, "stock-to-newstore").await;
    assert_eq!(
        ranges(&sim).last(),
        Some(&(17, 17)),
        "16 is never covered: we never saw it"
    );
    let stock = tenant.stock(PRODUCT, NODE).await;
    assert_eq!(
        (number(&stock["on_hand"]), number(&stock["atp"])),
        (14, 14),
        "{stock}"
    );
    assert_eq!(sim.finished_imports(), 4);
}

#[tokio::test]
async fn interleaved_orders_across_nodes_with_a_failure_in_the_middle_end_with_the_true_atp() {
    const DC2: &str = "DC02";
    const P2: &str = "P2";
    let initial = [(PRODUCT, NODE, 10), (PRODUCT, DC2, 5), (P2, NODE, 8)];
    let (sim, d, tenant, _dir) = setup(NewStoreSimConfig::default(), &initial).await;

    tenant
        .assign("a", NODE, &[PRODUCT, PRODUCT], json!({}))
        .await; // 1
    tenant.assign("b", DC2, &[PRODUCT], json!({})).await; // 2
    tenant.assign("c", NODE, &[P2], json!({})).await; // 3
    let a_items: Vec<String> = tenant.stock(PRODUCT, NODE).await["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["item_id"].as_str().unwrap().to_string())
        .collect();
    tenant
        .finish("a", "complete", json!({"items": [a_items[0]]}))
        .await; // 4
    tenant.finish("c", "fail", json!({})).await; // 5: NewStore drops c's allocation itself
    tenant.finish("b", "complete", json!({})).await; // 6
    assert_eq!(tenant.atp(P2, NODE).await, 8, "a failure releases at once");

    run(&d, "events-to-erp").await;
    assert_eq!(ledger_on_hand_of(&d, PRODUCT, NODE), 9);
    assert_eq!(ledger_on_hand_of(&d, PRODUCT, DC2), 4);
    assert_eq!(
        ledger_on_hand_of(&d, P2, NODE),
        8,
        "a failure ships nothing"
    );
    let import = run(&d, "stock-to-newstore").await;
    // 1 holds (a's second item is open); 2..6 are accounted for: one range around the failure.
    assert_eq!(ranges(&sim), [(2, 6)], "{import}");
    assert_eq!(
        tenant.atp(PRODUCT, NODE).await,
        9 - 1,
        "a's open item stays allocated"
    );
    assert_eq!(tenant.atp(PRODUCT, DC2).await, 4);
    assert_eq!(tenant.atp(P2, NODE).await, 8);

    // a's second item ships: its completion, and a's assignment with it, go out.
    tenant.finish("a", "complete", json!({})).await; // 7
    run(&d, "events-to-erp").await;
    run(&d, "stock-to-newstore").await;
    assert_eq!(ranges(&sim), [(2, 6), (7, 7)]);
    for (product, node, _) in initial {
        let stock = tenant.stock(product, node).await;
        assert_eq!(stock["allocations"], json!([]), "{product}@{node}: {stock}");
        assert_eq!(
            stock["atp"],
            ledger_on_hand_of(&d, product, node),
            "{product}@{node}: ATP is the ERP's stock"
        );
    }
    assert_eq!(ledger_on_hand_of(&d, PRODUCT, NODE), 8);
}

#[tokio::test]
async fn sparse_timestamps_still_produce_ranges_within_one_run_of_the_completion() {
    let (sim, d, tenant, _dir) = setup(NewStoreSimConfig::default(), &[(PRODUCT, NODE, 10)]).await;
    // The counter is the tenant's: other locations' and filtered events take the numbers in
    // between, and they never come here.
    tenant
        .assign("s1", NODE, &[PRODUCT], json!({"logical_timestamp": 100}))
        .await;
    tenant
        .finish("s1", "complete", json!({"logical_timestamp": 250}))
        .await;
    run(&d, "events-to-erp").await;
    let import = run(&d, "stock-to-newstore").await;
    assert_eq!(
        ranges(&sim),
        [(250, 250)],
        "in the first run after the completion: {import}"
    );
    assert_eq!(import["allocations_held"], 0, "{import}");
    tenant
        .assign("s2", NODE, &[PRODUCT], json!({"logical_timestamp": 4000}))
        .await;
    tenant
        .finish("s2", "complete", json!({"logical_timestamp": 90000}))
        .await;
    run(&d, "events-to-erp").await;
    run(&d, "stock-to-newstore").await;
    assert_eq!(ranges(&sim), [(250, 250), (90000, 90000)]);
    tenant.assert_stock(PRODUCT, NODE, 8, 8).await;
}

#[tokio::test]
async fn redelivered_and_out_of_order_events_across_runs_change_nothing_and_start_no_import() {
    let (sim, d, tenant, _dir) = setup(NewStoreSimConfig::default(), &[(PRODUCT, NODE, 10)]).await;
    // r2's completion reaches us before its assignment (which the stream sends late).
    tenant.assign("r1", NODE, &[PRODUCT], json!({})).await; // 1
    tenant
        .assign("r2", NODE, &[PRODUCT], json!({"deliver": false}))
        .await; // 2
    tenant.finish("r1", "complete", json!({})).await; // 3
    tenant.finish("r2", "complete", json!({})).await; // 4
    run(&d, "events-to-erp").await;
    run(&d, "stock-to-newstore").await;
    assert_eq!(ranges(&sim), [(3, 4)], "2 is not ours to cover yet");
    assert_eq!(tenant.atp(PRODUCT, NODE).await, 8);
    let imports = sim.log().calls("POST /v0/d/import");

    // The late assignment, and every event once more, in the next runs.
    tenant.redeliver(2).await;
    for lts in [4, 1, 3, 2] {
        tenant.redeliver(lts).await;
    }
    let events = run(&d, "events-to-erp").await;
    assert_eq!(events["written"], 0, "no adjustment twice: {events}");
    assert_eq!(ledger_on_hand(&d), 8);
    let import = run(&d, "stock-to-newstore").await;
    assert_eq!(
        (
            import["write_calls"].as_u64(),
            import["allocation_ranges"].as_u64()
        ),
        (Some(0), Some(0)),
        "nothing to send: {import}"
    );
    assert_eq!(
        sim.log().calls("POST /v0/d/import"),
        imports,
        "no import job only to resend a range"
    );
    tenant.assert_stock(PRODUCT, NODE, 8, 8).await;
}

#[tokio::test]
async fn another_tenants_events_are_refused_and_store_nothing() {
    let (_sim, d, _tenant, _dir) =
        setup(NewStoreSimConfig::default(), &[(PRODUCT, NODE, 10)]).await;
    let url = format!("{}/hooks/newstore/events", d.public());
    let other = event("fulfillment_request.items_completed", 1).delivery("another-tenant");
    let r = d
        .http
        .post(&url)
        .bearer_auth(HOOK_KEY)
        .json(&other.0)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("another-tenant"),
        "{body}"
    );
    let events = run(&d, "events-to-erp").await;
    assert_eq!(events["read"], 0, "nothing was stored: {events}");
}

#[tokio::test]
async fn a_kill_between_the_inbox_and_the_import_or_during_the_import_loses_and_doubles_nothing() {
    let (sim, mut d, tenant, dir) = setup(
        NewStoreSimConfig {
            processing_delay_ms: 1500,
            ..NewStoreSimConfig::default()
        },
        &[(PRODUCT, NODE, 10)],
    )
    .await;
    for ff in ["ff1", "ff2", "ff3", "ff4"] {
        tenant.assign(ff, NODE, &[PRODUCT], json!({})).await; // 1..4
    }
    for ff in ["ff1", "ff2", "ff3"] {
        tenant.finish(ff, "complete", json!({})).await; // 5..7
    }

    // 1. Killed with the events only in the inbox.
    d.kill9();
    let d = start(dir.path(), &sim).await;
    run(&d, "events-to-erp").await;
    assert_eq!(ledger_on_hand(&d), 7);

    // 2. Killed after the authority acknowledged, before any import.
    let mut d = d;
    d.kill9();
    let mut d = start_with(dir.path(), &sim, &[("SYNCD_CRASH_AT", "import_started")]).await;
    count(&d, &[(PRODUCT, NODE, 17)]);
    run(&d, "counts-to-erp").await;

    // 3. Aborted right after NewStore was told to start the import, while it processes it.
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
    assert_eq!(sim.finished_imports(), 1);
    let stock = tenant.stock(PRODUCT, NODE).await;
    assert_eq!(stock["on_hand"], 17);
    assert_eq!(
        stock["allocations"].as_array().unwrap().len(),
        1,
        "ff4's stays: {stock}"
    );
    assert_eq!(stock["atp"], 16);
    assert_eq!(
        sim.removals(),
        [(5, 1), (6, 1), (7, 1)].into(),
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

/// A raw envelope, for what the tenant's controls never send (another tenant's, malformed,
/// or a flood).
fn event(name: &str, ff: u64) -> FulfillmentEventSpec {
    FulfillmentEventSpec {
        name: name.into(),
        id: format!("ff{ff}"),
        logical_timestamp: 9 + ff,
        fulfillment_location_id: NODE.into(),
        items: vec![(format!("item-{ff}"), PRODUCT.into())],
    }
}

#[tokio::test]
async fn unauthorized_and_malformed_webhooks_are_refused_and_store_nothing() {
    let sim = NewStoreSim::start(NewStoreSimConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim);
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
    write_config(dir.path(), &sim);
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
