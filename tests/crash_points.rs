//! The real binary aborted at every named crash point (`syncd_core::crash::POINTS`), then
//! restarted and run to the end. Each case asserts that the abort happened where asked, then
//! that nothing was lost and nothing was doubled: the ledger target keeps a journal of every
//! write it applied, so a write sent twice shows as two journal lines, and the NewStore
//! simulator counts imports. The writes each point re-sends are printed.
//!
//! Deterministic: a failure names its point; rerun it alone with
//! `cargo test --test crash_points -- <point>`.

mod support;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{until, Daemon};
use syncd_core::{EntityKind, RecordKey};
use syncd_sandbox::newstore::{FulfillmentEventSpec, NewStoreSim, NewStoreSimConfig};
use syncd_store::{outbox, shadow, Durability, SledStore, StateStore, WriteBatch};

const POSITIONS: usize = 12_000;
/// Writes per call: a call re-sent after a crash re-sends at most this many.
const MAX_BATCH: usize = 1_000;

fn write_source(dir: &Path) -> BTreeMap<String, i64> {
    let mut expected = BTreeMap::new();
    // Two files, so that the run spans files and pages.
    for file in 0..2 {
        let mut text = String::from("sku,location,on_hand\n");
        for i in 0..POSITIONS / 2 {
            let sku = format!("SKU-{file}-{i:05}");
            let qty = (i * 7 % 500) as i64;
            text.push_str(&format!("{sku},WH,{qty}\n"));
            expected.insert(format!("{sku}|WH"), qty);
        }
        std::fs::write(dir.join(format!("export-{file}.csv")), text).unwrap();
    }
    expected
}

fn file_config(dir: &Path, target: &str) -> PathBuf {
    file_config_with(dir, target, "")
}

/// [`file_config`], with more pipeline settings.
fn file_config_with(dir: &Path, target: &str, pipeline: &str) -> PathBuf {
    let path = dir.join("adapters.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[daemon]
state_dir = "state"

[connectors.erp]
kind = "file"
read_dir = "drop"

[connectors.shop]
kind = "file"
{target}
max_batch = {MAX_BATCH}

[[pipelines]]
name = "erp-to-shop"
from = "erp"
to = "shop"
entity = "stock_position"
{pipeline}
"#
        ),
    )
    .unwrap();
    path
}

/// `syncd once --json`, aborting at `point` if given (asserted); the first report otherwise.
fn once(config: &Path, point: Option<&str>, env: &[(&str, &str)]) -> Option<Value> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_syncd"));
    cmd.args(["once", "--json", "--config"]).arg(config);
    cmd.env_remove("SYNCD_CRASH_AT");
    cmd.envs(env.iter().copied());
    if let Some(point) = point {
        cmd.env("SYNCD_CRASH_AT", point);
    }
    let out = cmd.output().expect("start syncd");
    let stderr = String::from_utf8_lossy(&out.stderr);
    match point {
        Some(point) => {
            assert_eq!(
                out.status.signal(),
                Some(libc::SIGABRT),
                "the run was to abort at `{point}` and did not: {stderr}"
            );
            let name = point.split(':').next().unwrap_or(point);
            assert!(
                stderr.contains(&format!("crash point `{name}` reached")),
                "aborted, but not at `{point}`: {stderr}"
            );
            None
        }
        None => {
            assert!(out.status.success(), "{stderr}");
            let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
            Some(reports[0].clone())
        }
    }
}

/// Every line of a JSON Lines snapshot as (key, on-hand), duplicates kept.
fn snapshot_lines(path: &Path) -> Vec<(String, i64)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (position_key(&v), v["on_hand"].as_i64().unwrap())
        })
        .collect()
}

fn position_key(v: &Value) -> String {
    format!(
        "{}|{}",
        v["sku"].as_str().unwrap(),
        v["location"].as_str().unwrap()
    )
}

/// The ledger's positions, by key.
fn ledger_positions(path: &Path) -> BTreeMap<String, i64> {
    let Ok(bytes) = std::fs::read(path) else {
        return BTreeMap::new();
    };
    let ledger: Value = serde_json::from_slice(&bytes).unwrap();
    ledger["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (position_key(p), p["on_hand"].as_i64().unwrap()))
        .collect()
}

/// How many times the ledger applied a write to each key, from its journal.
fn journal_counts(path: &Path) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in std::fs::read_to_string(path).unwrap_or_default().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        *counts
            .entry(v["key"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    counts
}

/// A third run after the recovery: the cursor is past everything.
fn assert_nothing_left(config: &Path) {
    let third = once(config, None, &[]).unwrap();
    assert_eq!(
        (
            third["read"].as_u64(),
            third["written"].as_u64(),
            third["write_calls"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "the cursor moved past everything: {third}"
    );
}

/// File → ledger, aborted at `point`, rerun: every position exactly as the source says, and
/// each key written once, except for at most `may_resend` writes sent again. Returns how many
/// writes were sent again.
fn ledger_case(point: &str, may_resend: usize, after_kill: impl Fn(&BTreeMap<String, usize>)) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("drop")).unwrap();
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    let expected = write_source(&dir.path().join("drop"));
    let config = file_config(
        dir.path(),
        "ledger_path = \"out/ledger.json\"\njournal_path = \"out/journal.jsonl\"",
    );
    let (ledger, journal) = (
        dir.path().join("out/ledger.json"),
        dir.path().join("out/journal.jsonl"),
    );

    once(&config, Some(point), &[]);
    after_kill(&journal_counts(&journal));

    let rerun = once(&config, None, &[]).unwrap();
    assert_eq!(rerun["dead_lettered"], 0, "{rerun}");
    assert_eq!(rerun["pending"], 0, "{rerun}");
    assert_eq!(ledger_positions(&ledger), expected, "nothing lost");
    let counts = journal_counts(&journal);
    assert_eq!(counts.len(), expected.len(), "every key written");
    let resent: usize = counts.values().map(|n| n - 1).sum();
    let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 2).collect();
    assert!(
        doubled.is_empty(),
        "written three times or more: {doubled:?}"
    );
    println!("crash point `{point}`: {resent} writes re-sent after the restart");
    assert!(
        resent <= may_resend,
        "`{point}`: {resent} writes re-sent, at most {may_resend} may be"
    );
    assert_nothing_left(&config);
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points exist in debug builds only"
)]
fn before_call_the_intent_is_flushed_and_the_rerun_sends_that_call_once() {
    ledger_case("before_call", 0, |journal| {
        assert!(journal.is_empty(), "the first call never went out")
    });
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points exist in debug builds only"
)]
fn after_call_the_unacknowledged_call_is_replayed_once_and_nothing_else_is_resent() {
    ledger_case("after_call", MAX_BATCH, |journal| {
        assert_eq!(
            journal.len(),
            MAX_BATCH,
            "the first call was applied, no more"
        )
    });
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points exist in debug builds only"
)]
fn acked_before_the_cursor_moves_the_rerun_reads_again_and_resends_nothing() {
    ledger_case("acked", 0, |journal| {
        assert!(
            journal.len() >= MAX_BATCH,
            "at least the first call was applied before its ack"
        )
    });
}

/// File → snapshot (a staging sink), aborted at `point`, rerun.
fn snapshot_case(point: &str, after_kill: impl Fn(&[(String, i64)])) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("drop")).unwrap();
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    let expected = write_source(&dir.path().join("drop"));
    let config = file_config(dir.path(), "write_path = \"out/stock.jsonl\"");
    let target = dir.path().join("out/stock.jsonl");

    once(&config, Some(point), &[]);
    after_kill(&snapshot_lines(&target));

    let rerun = once(&config, None, &[]).unwrap();
    assert_eq!(rerun["dead_lettered"], 0, "{rerun}");
    assert_eq!(rerun["pending"], 0, "{rerun}");
    let lines = snapshot_lines(&target);
    assert_eq!(lines.len(), expected.len(), "each position exactly once");
    let held: BTreeMap<String, i64> = lines.into_iter().collect();
    assert_eq!(held, expected, "the target holds the source");
    assert_nothing_left(&config);
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points exist in debug builds only"
)]
fn staged_before_the_replace_the_snapshot_is_untouched_and_the_rerun_writes_it_once() {
    snapshot_case("staged", |held| {
        assert!(
            held.is_empty(),
            "nothing reaches the snapshot before finish"
        )
    });
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points exist in debug builds only"
)]
fn finished_before_the_acknowledgement_one_more_replace_heals_it() {
    snapshot_case("finished", |held| {
        assert_eq!(held.len(), POSITIONS, "the replace was complete")
    });
}

/// A dir with the two-file source, a ledger target with a journal, one call per page.
fn ledger_dir() -> (tempfile::TempDir, BTreeMap<String, i64>, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("drop")).unwrap();
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    let expected = write_source(&dir.path().join("drop"));
    let config = file_config_with(
        dir.path(),
        "ledger_path = \"out/ledger.json\"\njournal_path = \"out/journal.jsonl\"",
        &format!("page_size = {MAX_BATCH}"),
    );
    (dir, expected, config)
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points exist in debug builds only"
)]
fn the_cursor_moves_only_over_acknowledged_writes_even_with_replay_taken_away() {
    let (dir, expected, config) = ledger_dir();
    // The third call's intent is in the outbox; the call was never made.
    once(&config, Some("before_call:3"), &[]);
    // Take replay away: drop what the outbox holds, so that only the cursor decides what the
    // rerun reads. A cursor that had moved past the third page loses its 1000 positions.
    {
        let store = SledStore::open(&dir.path().join("state")).unwrap();
        let pending = outbox::list(&store, "erp-to-shop").unwrap();
        assert_eq!(pending.len(), 1, "the interrupted call is in the outbox");
        let mut batch = WriteBatch::new();
        for (call, _) in pending {
            outbox::delete_call(&mut batch, "erp-to-shop", call);
        }
        store.commit(batch, Durability::Flushed).unwrap();
    }
    let rerun = once(&config, None, &[]).unwrap();
    assert_eq!(rerun["replayed"], 0, "{rerun}");
    assert_eq!(
        ledger_positions(&dir.path().join("out/ledger.json")),
        expected,
        "the rerun read again from before the unacknowledged page"
    );
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points exist in debug builds only"
)]
fn an_acknowledgement_drops_the_outbox_call_and_records_the_shadow_together() {
    let first_key = RecordKey::compose(&["SKU-0-00000", "WH"]);
    let held = |dir: &Path| {
        let store = SledStore::open(&dir.join("state")).unwrap();
        let depth = outbox::depth(&store, "erp-to-shop").unwrap();
        let shadowed = shadow::get(
            &store as &dyn StateStore,
            "shop",
            EntityKind::StockPosition,
            &first_key,
        )
        .unwrap();
        (depth, shadowed.is_some())
    };
    // Applied, not acknowledged: the call is pending and the shadow does not know it yet.
    let (before, _, config) = ledger_dir();
    once(&config, Some("after_call"), &[]);
    assert_eq!(held(before.path()), (MAX_BATCH, false));
    // Acknowledged: both changed, in the one commit the cursor has not followed yet.
    let (after, _, config) = ledger_dir();
    once(&config, Some("acked"), &[]);
    assert_eq!(held(after.path()), (0, true));
}

const HOOK_KEY: &str = "hook-key-0123456789abcdef";

fn newstore_config(dir: &Path, sim: &NewStoreSim) {
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
journal_path = "journal.jsonl"

[[pipelines]]
name = "events-to-erp"
from = "newstore"
to = "erp"
entity = "fulfillment_event"
write_as = "stock_adjustment"

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

/// The NewStore simulator, and a dir whose config reads its events into a ledger holding 10 of
/// P1 at DC01.
async fn newstore_with_ledger() -> (NewStoreSim, tempfile::TempDir) {
    let sim = NewStoreSim::start(NewStoreSimConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    newstore_config(dir.path(), &sim);
    ledger_with(dir.path(), &[("P1", "DC01", 10)]);
    (sim, dir)
}

/// NewStore's event for one item of P1 shipped from DC01 (ff1, logical timestamp 10).
fn shipped_item(sim: &NewStoreSim) -> syncd_sandbox::newstore::Delivery {
    FulfillmentEventSpec {
        name: "fulfillment_request.items_completed".into(),
        id: "ff1".into(),
        logical_timestamp: 10,
        fulfillment_location_id: "DC01".into(),
        items: vec![("item-1".into(), "P1".into())],
    }
    .delivery(&sim.config().tenant)
}

fn ledger_with(dir: &Path, positions: &[(&str, &str, i64)]) {
    let positions: Vec<Value> = positions
        .iter()
        .map(|(sku, location, on_hand)| {
            serde_json::json!({"sku": sku, "location": location, "on_hand": on_hand})
        })
        .collect();
    std::fs::write(
        dir.join("ledger.json"),
        serde_json::to_vec(&serde_json::json!({"positions": positions, "applied": []})).unwrap(),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points exist in debug builds only"
)]
async fn inbox_flushed_before_the_answer_the_event_survives_the_abort_and_is_applied_once() {
    let (sim, dir) = newstore_with_ledger().await;
    let env = [
        ("NS_CLIENT_SECRET", sim.config().client_secret.as_str()),
        ("NS_HOOK_KEY", HOOK_KEY),
    ];
    let mut crashing = env.to_vec();
    crashing.push(("SYNCD_CRASH_AT", "inbox_flushed"));
    let mut d = Daemon::start_at(dir.path(), &crashing).await;
    let shipped = shipped_item(&sim);
    let codes = sim
        .deliver(
            &format!("{}/hooks/newstore/events", d.public()),
            HOOK_KEY,
            std::slice::from_ref(&shipped),
        )
        .await;
    assert!(
        codes.iter().all(|c| *c != 200),
        "the daemon died before it could answer: {codes:?}"
    );
    let (status, _) = d.exit().await;
    assert_eq!(
        status.signal(),
        Some(libc::SIGABRT),
        "aborted at inbox_flushed: {}",
        d.log()
    );
    assert!(d.log().contains("crash point `inbox_flushed` reached"));

    // No redelivery: the event must already be durable.
    let d = Daemon::start_at(dir.path(), &env).await;
    d.trigger("events-to-erp");
    until("the event was applied to the ledger", || async {
        ledger_positions(&d.path("ledger.json")).get("P1|DC01") == Some(&9)
    })
    .await;
    // The vendor, never answered, redelivers: the duplicate changes nothing.
    let codes = sim
        .deliver(
            &format!("{}/hooks/newstore/events", d.public()),
            HOOK_KEY,
            std::slice::from_ref(&shipped),
        )
        .await;
    assert_eq!(codes, [200]);
    let before = d.runs_of("events-to-erp").await.len();
    d.trigger("events-to-erp");
    until("the redelivery was processed", || async {
        d.runs_of("events-to-erp").await.len() > before
    })
    .await;
    assert_eq!(
        ledger_positions(&d.path("ledger.json"))["P1|DC01"],
        9,
        "one shipment, subtracted once"
    );
    let journal = journal_counts(&d.path("journal.jsonl"));
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert!(journal.values().all(|n| *n == 1), "{journal:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_answered_200_survives_a_kill_right_after_the_answer() {
    let (sim, dir) = newstore_with_ledger().await;
    let env = [
        ("NS_CLIENT_SECRET", sim.config().client_secret.as_str()),
        ("NS_HOOK_KEY", HOOK_KEY),
    ];
    let mut d = Daemon::start_at(dir.path(), &env).await;
    let shipped = shipped_item(&sim);
    let url = format!("{}/hooks/newstore/events", d.public());
    assert_eq!(
        sim.deliver(&url, HOOK_KEY, std::slice::from_ref(&shipped))
            .await,
        [200]
    );
    d.kill9();
    let d = Daemon::start_at(dir.path(), &env).await;
    d.trigger("events-to-erp");
    until(
        "the acknowledged event was applied after the kill",
        || async { ledger_positions(&d.path("ledger.json")).get("P1|DC01") == Some(&9) },
    )
    .await;
}

/// File ledger → NewStore import, aborted at `point`, rerun.
async fn import_case(point: &str, imports_created: u64) {
    let sim = NewStoreSim::start(NewStoreSimConfig::default())
        .await
        .unwrap();
    sim.set_on_hand("P1", "DC01", 4);
    let dir = tempfile::tempdir().unwrap();
    newstore_config(dir.path(), &sim);
    ledger_with(dir.path(), &[("P1", "DC01", 10), ("P2", "DC01", 3)]);
    let config = dir.path().join("adapters.toml");
    let secret = sim.config().client_secret.clone();
    let once_blocking = |point: Option<&'static str>| {
        let (config, secret) = (config.clone(), secret.clone());
        tokio::task::spawn_blocking(move || {
            let env = [
                ("NS_CLIENT_SECRET", secret.as_str()),
                ("NS_HOOK_KEY", HOOK_KEY),
            ];
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_syncd"));
            cmd.args(["-v", "once", "--json", "--config"])
                .arg(&config)
                .arg("stock-to-newstore");
            cmd.env_remove("SYNCD_CRASH_AT").envs(env);
            if let Some(point) = point {
                cmd.env("SYNCD_CRASH_AT", point);
            }
            cmd.output().expect("start syncd")
        })
    };
    let point: &'static str = Box::leak(point.to_string().into_boxed_str());
    let out = once_blocking(Some(point)).await.unwrap();
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "aborted at `{point}`: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sim.log().calls("POST /v0/d/import"), 1, "created");
    assert_eq!(
        sim.log().calls("POST /v0/d/import/{id}/start"),
        0,
        "not started before the abort"
    );

    let out = once_blocking(None).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sim.log().calls("POST /v0/d/import"),
        imports_created,
        "imports created in all: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sim.log().calls("POST /v0/d/import/{id}/start"),
        1,
        "one import started: nothing imported twice"
    );
    assert_eq!(sim.finished_imports(), 1);
    assert_eq!(sim.stock("P1", "DC01").on_hand, 10);
    assert_eq!(sim.stock("P2", "DC01").on_hand, 3);
    println!(
        "crash point `{point}`: {} imports created for 1 started",
        imports_created
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points exist in debug builds only"
)]
async fn import_created_but_not_kept_is_never_started_and_the_rerun_imports_once() {
    // The orphan stays `received` in NewStore: it is never started, so it changes nothing.
    import_case("import_created", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points exist in debug builds only"
)]
async fn import_kept_before_its_start_is_given_up_and_the_rerun_imports_once() {
    // The kept job's file was served by the process that died: starting it could only fail
    // on the download, so the rerun leaves it `received` and imports anew.
    import_case("import_kept", 2).await;
}

#[test]
fn every_crash_point_has_a_case() {
    // NewStore's `import_started` is exercised in tests/newstore.rs, in its daemon story,
    // Fluent's `batch_kept` in tests/fluent.rs, Salesforce's `push_aged` in
    // tests/salesforce.rs and ShipHero's `sync_intent` and `sync_kept` in tests/shiphero.rs.
    let sources = [
        include_str!("crash_points.rs"),
        include_str!("newstore.rs"),
        include_str!("fluent.rs"),
        include_str!("salesforce.rs"),
        include_str!("shiphero.rs"),
        include_str!("pim.rs"),
    ];
    for (point, _) in syncd_core::crash::POINTS {
        assert!(
            sources.iter().any(|s| s.contains(&format!("\"{point}\""))),
            "crash point `{point}` has no case in tests/crash_points.rs or a vendor's test file"
        );
    }
}
