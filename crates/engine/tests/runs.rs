//! Whole runs of pipelines between real file connectors, over a real sled store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use syncd_adapter_file::{read_snapshot, FileFactory};
use syncd_core::model::StockPosition;
use syncd_core::{BuildContext, ConfigSection, ConnectorFactory, EntityKind, WriteOp};
use syncd_engine::{ConnectorHandle, LinkConfig, Mode, NoProgress, Pipeline, PipelineConfig};
use syncd_store::{
    cursors, dead_letters, outbox, Durability, OutboxEntry, SledStore, StateStore, WriteBatch,
};

struct Fixture {
    dir: tempfile::TempDir,
    store: Arc<dyn StateStore>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn StateStore> =
            Arc::new(SledStore::open(&dir.path().join("state")).unwrap());
        Fixture { dir, store }
    }

    fn path(&self, rel: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        p
    }

    fn connector(&self, name: &str, toml: &str) -> ConnectorHandle {
        let section = ConfigSection::from_toml(&format!("connectors.{name}"), toml).unwrap();
        let ctx = BuildContext {
            name: name.into(),
            section,
            data_dir: self.dir.path().to_path_buf(),
            base_dir: self.dir.path().to_path_buf(),
        };
        ConnectorHandle::new(FileFactory.build(ctx).unwrap(), None)
    }

    fn drop_to_snapshot(&self, mode: Mode, delete_missing: bool) -> Pipeline {
        std::fs::create_dir_all(self.path("drop/x")).unwrap();
        self.path("out/stock.jsonl");
        let source = self.connector("erp", "read_dir = 'drop'");
        let target = self.connector("shop", "write_path = 'out/stock.jsonl'\nmax_batch = 3");
        Pipeline::new(
            config("erp-to-shop", "erp", "shop", mode, delete_missing),
            source,
            target,
            &[],
        )
        .unwrap()
    }
}

fn config(name: &str, from: &str, to: &str, mode: Mode, delete_missing: bool) -> PipelineConfig {
    PipelineConfig {
        name: name.into(),
        from: from.into(),
        to: to.into(),
        entity: EntityKind::StockPosition,
        mode,
        schedule: None,
        maps: Default::default(),
        batch_size: None,
        page_size: 4,
        delete_missing,
        retry: Default::default(),
        write_as: None,
        require_catalog: None,
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn quantities(path: &Path) -> BTreeMap<String, (i64, i64)> {
    read_snapshot(path)
        .unwrap()
        .into_iter()
        .map(|(k, p)| (k.to_string(), (p.on_hand, p.allocated)))
        .collect()
}

#[tokio::test]
async fn a_full_rerun_of_an_unchanged_snapshot_makes_no_write_call() {
    let f = Fixture::new();
    write(
        &f.path("drop/a.csv"),
        "sku,location,on_hand\nA,W,1\nB,W,2\nC,W,3\nD,W,4\nE,W,5\n",
    );
    let p = f.drop_to_snapshot(Mode::Full, false);
    let first = p
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert!(first.succeeded(), "{first:?}");
    assert_eq!(
        (first.written, first.write_calls),
        (5, 2),
        "5 writes in batches of 3: {first:?}"
    );
    let second = p
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!(
        (second.read, second.unchanged, second.write_calls),
        (5, 5, 0),
        "{second:?}"
    );
    write(
        &f.path("drop/a.csv"),
        "sku,location,on_hand\nA,W,1\nB,W,20\nC,W,3\nD,W,4\nE,W,5\n",
    );
    let third = p
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!((third.written, third.write_calls), (1, 1), "{third:?}");
    assert_eq!(quantities(&f.path("out/stock.jsonl"))["B|W"], (20, 0));
}

#[tokio::test]
async fn an_incremental_run_takes_each_dropped_file_once() {
    let f = Fixture::new();
    write(
        &f.path("drop/1.csv"),
        "sku,location,on_hand\nA,W,1\nB,W,2\n",
    );
    let p = f.drop_to_snapshot(Mode::Incremental, false);
    assert_eq!(
        p.run(f.store.clone(), &NoProgress, &Default::default())
            .await
            .read,
        2
    );
    assert_eq!(
        p.run(f.store.clone(), &NoProgress, &Default::default())
            .await
            .read,
        0,
        "a taken file is not read again"
    );
    write(
        &f.path("drop/2.jsonl"),
        "{\"sku\":\"A\",\"location\":\"W\",\"on_hand\":9}\n",
    );
    let r = p
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!((r.read, r.written), (1, 1), "{r:?}");
    assert_eq!(quantities(&f.path("out/stock.jsonl"))["A|W"], (9, 0));
}

#[tokio::test]
async fn a_later_row_for_the_same_key_in_one_page_wins() {
    let f = Fixture::new();
    write(
        &f.path("drop/a.csv"),
        "sku,location,on_hand\nA,W,5\nA,W,3\n",
    );
    let p = f.drop_to_snapshot(Mode::Full, false);
    p.run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    write(
        &f.path("drop/a.csv"),
        "sku,location,on_hand\nA,W,7\nA,W,3\n",
    );
    let r = p
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert!(r.succeeded(), "{r:?}");
    assert_eq!(
        quantities(&f.path("out/stock.jsonl"))["A|W"],
        (3, 0),
        "the last row of the page must win"
    );
}

#[tokio::test]
async fn writes_left_in_the_outbox_by_an_interrupted_run_are_replayed_before_the_source_is_read() {
    let f = Fixture::new();
    // The source has moved on since the interrupted run: Z is 7 now. The outbox still holds
    // that run's intent, Z = 42. Replayed first, the intent is overwritten by the newer read;
    // replayed after the read, the stale 42 would be what the target ends with.
    write(&f.path("drop/a.csv"), "sku,location,on_hand\nZ,W,7\n");
    let p = f.drop_to_snapshot(Mode::Incremental, false);
    // What a run killed between its outbox commit and its write leaves behind.
    let mut batch = WriteBatch::new();
    let record = syncd_core::Record::StockPosition(StockPosition::new("Z", "W", 42));
    outbox::put_call(
        &mut batch,
        "erp-to-shop",
        outbox::new_call(f.store.as_ref()).unwrap(),
        &[OutboxEntry {
            op: WriteOp::Upsert { record },
            link_base: None,
        }],
    );
    f.store.commit(batch, Durability::Flushed).unwrap();
    let r = p
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert!(r.succeeded(), "{r:?}");
    assert_eq!((r.replayed, r.written, r.pending), (1, 1, 0), "{r:?}");
    assert_eq!(
        quantities(&f.path("out/stock.jsonl"))["Z|W"],
        (7, 0),
        "the source's newer value wins over the replayed intent"
    );
    assert_eq!(outbox::depth(f.store.as_ref(), "erp-to-shop").unwrap(), 0);
}

#[tokio::test]
async fn a_full_snapshot_deletes_what_it_no_longer_holds_only_when_asked() {
    let f = Fixture::new();
    write(
        &f.path("drop/a.csv"),
        "sku,location,on_hand\nA,W,1\nB,W,2\nC,W,3\n",
    );
    let keep = f.drop_to_snapshot(Mode::Full, false);
    keep.run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    write(
        &f.path("drop/a.csv"),
        "sku,location,on_hand\nA,W,1\nC,W,3\n",
    );
    let r = keep
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!(r.deleted, 0);
    assert!(quantities(&f.path("out/stock.jsonl")).contains_key("B|W"));
    let delete = f.drop_to_snapshot(Mode::Full, true);
    let r = delete
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!(r.deleted, 1, "{r:?}");
    assert!(!quantities(&f.path("out/stock.jsonl")).contains_key("B|W"));
}

#[tokio::test]
async fn deletes_are_held_back_when_the_snapshot_has_an_unreadable_row() {
    let f = Fixture::new();
    write(
        &f.path("drop/a.csv"),
        "sku,location,on_hand\nA,W,1\nB,W,2\n",
    );
    let p = f.drop_to_snapshot(Mode::Full, true);
    p.run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    write(
        &f.path("drop/a.csv"),
        "sku,location,on_hand\nA,W,1\nB,W,two\n",
    );
    let r = p
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!((r.dead_lettered, r.deleted), (1, 0), "{r:?}");
    assert!(
        quantities(&f.path("out/stock.jsonl")).contains_key("B|W"),
        "B must not be deleted for an unreadable row"
    );
    let letters = dead_letters::list(f.store.as_ref(), Some("erp-to-shop")).unwrap();
    assert!(
        letters[0].origin.as_deref().unwrap().ends_with("a.csv:3"),
        "{letters:?}"
    );
}

#[tokio::test]
async fn the_same_bad_row_seen_again_after_a_restart_is_one_dead_letter() {
    let f = Fixture::new();
    write(&f.path("drop/a.csv"), "sku,location,on_hand\nA,W,x\n");
    let p = f.drop_to_snapshot(Mode::Full, false);
    p.run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    p.run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!(dead_letters::list(f.store.as_ref(), None).unwrap().len(), 1);
}

#[tokio::test]
async fn a_dry_run_plans_exactly_the_writes_of_the_run_and_changes_nothing() {
    let f = Fixture::new();
    write(
        &f.path("drop/a.csv"),
        "sku,location,on_hand\nA,W,1\nB,W,2\nC,W,-1\n",
    );
    let p = f.drop_to_snapshot(Mode::Incremental, false);
    let plan = p.plan(&f.store).await.unwrap();
    assert_eq!(plan.writes.len(), 3);
    assert!(
        cursors::get(f.store.as_ref(), "erp-to-shop")
            .unwrap()
            .is_none(),
        "planning must not move the cursor"
    );
    assert!(
        !f.path("out/stock.jsonl").exists(),
        "planning must not write"
    );
    let r = p
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!(r.written + r.dead_lettered, plan.writes.len() as u64);
}

fn system(f: &Fixture, name: &str) -> ConnectorHandle {
    std::fs::create_dir_all(f.path(&format!("{name}/x"))).unwrap();
    f.connector(
        name,
        &format!("read_dir = '{name}'\nwrite_path = '{name}/stock.jsonl'\nallow_negative = true"),
    )
}

#[tokio::test]
async fn a_link_carries_each_owned_field_from_its_owner_and_suppresses_echoes() {
    let f = Fixture::new();
    write(
        &f.path("wms/stock.jsonl"),
        "{\"sku\":\"S\",\"location\":\"L\",\"on_hand\":10,\"allocated\":0}\n",
    );
    write(
        &f.path("oms/stock.jsonl"),
        "{\"sku\":\"S\",\"location\":\"L\",\"on_hand\":0,\"allocated\":3}\n",
    );
    let link = LinkConfig {
        name: "wms-oms".into(),
        between: ["wms".into(), "oms".into()],
        entity: EntityKind::StockPosition,
        owners: BTreeMap::from([
            ("on_hand".into(), "wms".into()),
            ("allocated".into(), "oms".into()),
        ]),
        prefer: None,
    };
    let (wms, oms) = (system(&f, "wms"), system(&f, "oms"));
    let links = [link];
    let down = Pipeline::new(
        config("wms-to-oms", "wms", "oms", Mode::Full, false),
        wms.clone(),
        oms.clone(),
        &links,
    )
    .unwrap();
    let up = Pipeline::new(
        config("oms-to-wms", "oms", "wms", Mode::Full, false),
        oms.clone(),
        wms.clone(),
        &links,
    )
    .unwrap();

    let r = down
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!(r.written, 1, "{r:?}");
    assert_eq!(
        quantities(&f.path("oms/stock.jsonl"))["S|L"],
        (10, 3),
        "oms keeps its own allocation"
    );
    let r = up
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!(r.written, 1, "{r:?}");
    assert_eq!(
        quantities(&f.path("wms/stock.jsonl"))["S|L"],
        (10, 3),
        "wms learns the allocation, keeps its on-hand"
    );

    // Both agree now: neither direction writes, and what comes back is recognised.
    let r = down
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!((r.write_calls, r.echoes), (0, 1), "{r:?}");
    let r = up
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!((r.write_calls, r.echoes), (0, 1), "{r:?}");

    // The OMS allocates two more; only the allocation flows back, on-hand stays the WMS's.
    write(
        &f.path("oms/stock.jsonl"),
        "{\"sku\":\"S\",\"location\":\"L\",\"on_hand\":99,\"allocated\":5}\n",
    );
    let r = up
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!(r.written, 1, "{r:?}");
    assert_eq!(quantities(&f.path("wms/stock.jsonl"))["S|L"], (10, 5));
    let r = down
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!(
        r.written, 1,
        "the WMS re-asserts the on-hand it owns: {r:?}"
    );
    assert_eq!(quantities(&f.path("oms/stock.jsonl"))["S|L"], (10, 5));
}

#[tokio::test]
async fn a_field_both_sides_changed_is_logged_with_its_values_and_winner() {
    let f = Fixture::new();
    let line = |status: &str| {
        format!("{{\"sku\":\"S\",\"location\":\"L\",\"on_hand\":1,\"status\":\"{status}\"}}\n")
    };
    write(&f.path("wms/stock.jsonl"), &line("active"));
    write(&f.path("oms/stock.jsonl"), &line("active"));
    // `status` has no owner; the WMS wins what both change.
    let links = [LinkConfig {
        name: "wms-oms".into(),
        between: ["wms".into(), "oms".into()],
        entity: EntityKind::StockPosition,
        owners: BTreeMap::from([("on_hand".into(), "wms".into())]),
        prefer: Some("wms".into()),
    }];
    let (wms, oms) = (system(&f, "wms"), system(&f, "oms"));
    let down = Pipeline::new(
        config("wms-to-oms", "wms", "oms", Mode::Full, false),
        wms.clone(),
        oms.clone(),
        &links,
    )
    .unwrap();
    // The first run records what both agree on (the base).
    let r = down
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!(r.conflicts, 0, "{r:?}");
    // Both change `status`, each its own way.
    write(&f.path("wms/stock.jsonl"), &line("inactive"));
    let mut oms_line: serde_json::Value = serde_json::from_str(line("active").trim()).unwrap();
    oms_line["status"] = serde_json::json!("inactive");
    oms_line["attributes"] = serde_json::json!({"note": "x"});
    write(&f.path("oms/stock.jsonl"), &format!("{oms_line}\n"));
    let r = down
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!(
        r.conflicts, 0,
        "both reached the same status: no conflict ({r:?})"
    );
    write(&f.path("wms/stock.jsonl"), &line("active"));
    write(
        &f.path("oms/stock.jsonl"),
        "{\"sku\":\"S\",\"location\":\"L\",\"on_hand\":1,\"status\":\"inactive\",\"attributes\":{\"note\":\"y\"}}\n",
    );
    let r = down
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert!(r.conflicts >= 1, "{r:?}");
    let log = syncd_store::conflicts::list(f.store.as_ref(), Some("wms-oms"), 10).unwrap();
    let last = log.last().expect("a logged conflict");
    assert_eq!(
        (last.pipeline.as_str(), last.key.as_str()),
        ("wms-to-oms", "S|L")
    );
    let field = last
        .fields
        .iter()
        .find(|c| c.field == "attributes")
        .expect("attributes");
    assert_eq!(field.source, serde_json::json!(null));
    assert_eq!(field.target, serde_json::json!({"note": "y"}));
    assert_eq!(field.winner, "wms");
}

fn with_location_map(mut config: PipelineConfig, map: &[(&str, &str)]) -> PipelineConfig {
    config.maps.location = map
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    config.maps.unmapped = syncd_engine::Unmapped::DeadLetter;
    config
}

#[tokio::test]
async fn a_replayed_unmapped_dead_letter_is_mapped_again_and_written_by_the_next_run() {
    let f = Fixture::new();
    write(
        &f.path("drop/a.csv"),
        "sku,location,on_hand\nA,W1,1\nB,W2,2\n",
    );
    std::fs::create_dir_all(f.path("out/x")).unwrap();
    let build = |map: &[(&str, &str)]| {
        let cfg = with_location_map(
            config("erp-to-shop", "erp", "shop", Mode::Incremental, false),
            map,
        );
        Pipeline::new(
            cfg,
            f.connector("erp", "read_dir = 'drop'"),
            f.connector("shop", "write_path = 'out/stock.jsonl'"),
            &[],
        )
        .unwrap()
    };
    let before = build(&[("W1", "L1")]);
    let r = before
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!((r.written, r.dead_lettered), (1, 1), "{r:?}");

    // Still unmapped with the old maps: the letter stays.
    let refused = before.requeue_dead_letters(&f.store, None).await.unwrap();
    assert_eq!(refused.refused.len(), 1, "{refused:?}");
    assert!(refused.refused[0].1.contains("W2"), "{refused:?}");

    let after = build(&[("W1", "L1"), ("W2", "L2")]);
    let done = after.requeue_dead_letters(&f.store, None).await.unwrap();
    assert_eq!(done.requeued, vec!["record:B|W2".to_string()]);
    assert!(dead_letters::list(f.store.as_ref(), None)
        .unwrap()
        .is_empty());

    let r = after
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!((r.read, r.replayed, r.dead_lettered), (0, 1, 0), "{r:?}");
    let held = quantities(&f.path("out/stock.jsonl"));
    assert_eq!(held.get("B|L2"), Some(&(2, 0)), "{held:?}");
}

#[tokio::test]
async fn a_replayed_refused_write_is_written_again_once_the_target_accepts_it() {
    let f = Fixture::new();
    write(
        &f.path("drop/a.csv"),
        "sku,location,on_hand\nA,W,1\nN,W,-4\n",
    );
    std::fs::create_dir_all(f.path("out/x")).unwrap();
    let build = |target: &str| {
        Pipeline::new(
            config("erp-to-shop", "erp", "shop", Mode::Incremental, false),
            f.connector("erp", "read_dir = 'drop'"),
            f.connector("shop", target),
            &[],
        )
        .unwrap()
    };
    let strict = build("write_path = 'out/stock.jsonl'");
    let r = strict
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!((r.written, r.dead_lettered), (1, 1), "{r:?}");
    let letter = &dead_letters::list(f.store.as_ref(), None).unwrap()[0];
    assert_eq!(letter.stage, syncd_store::Stage::Write);

    let lenient = build("write_path = 'out/stock.jsonl'\nallow_negative = true");
    let done = lenient
        .requeue_dead_letters(&f.store, Some(&[letter.id.clone(), "record:nope".into()]))
        .await
        .unwrap();
    assert_eq!(done.requeued, vec![letter.id.clone()]);
    assert_eq!(done.refused.len(), 1, "an unknown id is reported: {done:?}");
    let r = lenient
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!((r.replayed, r.dead_lettered), (1, 0), "{r:?}");
    assert_eq!(
        quantities(&f.path("out/stock.jsonl")).get("N|W"),
        Some(&(-4, 0))
    );
}

fn ledger_positions(path: &Path) -> usize {
    let ledger: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    ledger["positions"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_stopped_run_commits_what_it_wrote_and_the_next_run_finishes_the_rest() {
    let f = Fixture::new();
    let rows: String = (0..20).map(|i| format!("S{i:02},W,{i}\n")).collect();
    write(
        &f.path("drop/a.csv"),
        &format!("sku,location,on_hand\n{rows}"),
    );
    // A ledger applies each call as it comes (it does not stage).
    let ledger = f.path("ledger/stock.json");
    let to_ledger = || {
        Pipeline::new(
            config("erp-to-ledger", "erp", "ledger", Mode::Incremental, false),
            f.connector("erp", "read_dir = 'drop'"),
            f.connector("ledger", "ledger_path = 'ledger/stock.json'\nmax_batch = 3"),
            &[],
        )
        .unwrap()
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let r = to_ledger()
        .run(f.store.clone(), &StopAfterFirstPage(stop.clone()), &stop)
        .await;
    assert_eq!(r.outcome, syncd_engine::RunOutcome::Stopped, "{r:?}");
    assert!(r.written > 0 && r.written < 20, "{r:?}");
    assert_eq!(ledger_positions(&ledger) as u64, r.written);
    let first = r.written;
    assert!(
        cursors::get(f.store.as_ref(), "erp-to-ledger")
            .unwrap()
            .is_some(),
        "the cursor moves over what the stopped run wrote"
    );

    let r = to_ledger()
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert!(r.succeeded(), "{r:?}");
    assert_eq!(ledger_positions(&ledger), 20);
    assert_eq!(
        r.written,
        20 - first,
        "the rest, and only the rest, is written: {r:?}"
    );
    assert_eq!(outbox::depth(f.store.as_ref(), "erp-to-ledger").unwrap(), 0);
}

#[tokio::test]
async fn a_stopped_run_into_a_staging_sink_leaves_the_snapshot_and_cursor_as_they_were() {
    let f = Fixture::new();
    let rows: String = (0..20).map(|i| format!("S{i:02},W,{i}\n")).collect();
    write(
        &f.path("drop/a.csv"),
        &format!("sku,location,on_hand\n{rows}"),
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let r = f
        .drop_to_snapshot(Mode::Incremental, false)
        .run(f.store.clone(), &StopAfterFirstPage(stop.clone()), &stop)
        .await;
    assert_eq!(r.outcome, syncd_engine::RunOutcome::Stopped, "{r:?}");
    assert!(r.written > 0, "the first page was staged: {r:?}");
    assert!(
        !f.path("out/stock.jsonl").exists(),
        "nothing reaches the snapshot before the sink finishes"
    );
    assert_eq!(cursors::get(f.store.as_ref(), "erp-to-shop").unwrap(), None);

    let r = f
        .drop_to_snapshot(Mode::Incremental, false)
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert!(r.succeeded(), "{r:?}");
    assert_eq!(
        r.written, 20,
        "every position staged again and written once: {r:?}"
    );
    assert_eq!(quantities(&f.path("out/stock.jsonl")).len(), 20);
    assert_eq!(outbox::depth(f.store.as_ref(), "erp-to-shop").unwrap(), 0);
    let again = f
        .drop_to_snapshot(Mode::Incremental, false)
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert_eq!((again.read, again.written), (0, 0), "{again:?}");
}

/// Asks the run to stop once its first page is done, as a shutdown signal would.
struct StopAfterFirstPage(tokio_util::sync::CancellationToken);

impl syncd_engine::Progress for StopAfterFirstPage {
    fn page_done(&self, _report: &syncd_engine::RunReport) {
        self.0.cancel();
    }
}

/// A store whose `fail_at`-th commit fails whole, as a full disk would: what a run leaves when
/// it stops at each of its commits in turn.
struct FailingCommit {
    inner: Arc<dyn StateStore>,
    fail_at: usize,
    commits: std::sync::atomic::AtomicUsize,
}

impl StateStore for FailingCommit {
    fn get(
        &self,
        tree: syncd_store::Tree,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, syncd_store::StoreError> {
        self.inner.get(tree, key)
    }

    fn scan_prefix(
        &self,
        tree: syncd_store::Tree,
        prefix: &[u8],
    ) -> syncd_store::store::ScanIter<'_> {
        self.inner.scan_prefix(tree, prefix)
    }

    fn commit(
        &self,
        batch: WriteBatch,
        durability: Durability,
    ) -> Result<(), syncd_store::StoreError> {
        let n = self
            .commits
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        if n == self.fail_at {
            return Err(syncd_store::StoreError::Backend {
                dir: self.location(),
                message: format!("commit {n} refused by the test"),
            });
        }
        self.inner.commit(batch, durability)
    }

    fn flush(&self) -> Result<(), syncd_store::StoreError> {
        self.inner.flush()
    }

    fn next_id(&self) -> Result<u64, syncd_store::StoreError> {
        self.inner.next_id()
    }

    fn location(&self) -> String {
        self.inner.location()
    }
}

#[tokio::test]
async fn an_acknowledgement_is_one_commit_a_write_is_never_both_pending_and_shadowed_nor_neither() {
    let source: String = (0..10).map(|i| format!("K{i},W,{i}\n")).collect();
    let ledger_pipeline = |f: &Fixture| {
        std::fs::create_dir_all(f.path("drop/x")).unwrap();
        f.path("out/ledger.json");
        Pipeline::new(
            config("erp-to-shop", "erp", "shop", Mode::Incremental, false),
            f.connector("erp", "read_dir = 'drop'"),
            f.connector(
                "shop",
                "ledger_path = 'out/ledger.json'\njournal_path = 'out/journal.jsonl'\nmax_batch = 3",
            ),
            &[],
        )
        .unwrap()
    };
    // How many commits a whole run makes.
    let whole = {
        let f = Fixture::new();
        write(
            &f.path("drop/a.csv"),
            &format!("sku,location,on_hand\n{source}"),
        );
        let counting = Arc::new(FailingCommit {
            inner: f.store.clone(),
            fail_at: usize::MAX,
            commits: Default::default(),
        });
        let r = ledger_pipeline(&f)
            .run(counting.clone(), &NoProgress, &Default::default())
            .await;
        assert!(r.succeeded(), "{r:?}");
        counting.commits.load(std::sync::atomic::Ordering::SeqCst)
    };
    assert!(whole >= 4, "a run of 4 calls commits at least 4 times");
    // The last commit keeps the run's report once the work is done: its failure is logged, not
    // the run's.
    for fail_at in 1..whole {
        let f = Fixture::new();
        write(
            &f.path("drop/a.csv"),
            &format!("sku,location,on_hand\n{source}"),
        );
        let failing = Arc::new(FailingCommit {
            inner: f.store.clone(),
            fail_at,
            commits: Default::default(),
        });
        let r = ledger_pipeline(&f)
            .run(failing, &NoProgress, &Default::default())
            .await;
        assert!(
            !r.succeeded(),
            "commit {fail_at} failed: the run must say so"
        );
        // What the target applied, what the outbox holds, what the shadow holds.
        let applied: std::collections::BTreeSet<String> =
            std::fs::read_to_string(f.path("out/journal.jsonl"))
                .unwrap_or_default()
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["key"].to_string())
                .map(|k| k.trim_matches('"').to_string())
                .collect();
        let pending: std::collections::BTreeSet<String> =
            outbox::list(f.store.as_ref(), "erp-to-shop")
                .unwrap()
                .into_iter()
                .flat_map(|(_, entries)| entries.into_iter().map(|e| e.op.key().to_string()))
                .collect();
        for i in 0..10 {
            let key = format!("K{i}|W");
            let shadowed = syncd_store::shadow::get(
                f.store.as_ref(),
                "shop",
                EntityKind::StockPosition,
                &syncd_core::RecordKey::from_raw(key.clone()),
            )
            .unwrap()
            .is_some();
            let is_pending = pending.contains(&key);
            assert!(
                !(shadowed && is_pending),
                "commit {fail_at} failed: {key} is both acknowledged and pending"
            );
            if applied.contains(&key) {
                assert!(
                    shadowed || is_pending,
                    "commit {fail_at} failed: {key} reached the target but is neither acknowledged nor pending"
                );
            }
        }
        // And the next run, on a healthy store, finishes the work.
        let r = ledger_pipeline(&f)
            .run(f.store.clone(), &NoProgress, &Default::default())
            .await;
        assert!(r.succeeded(), "after commit {fail_at} failed: {r:?}");
    }
}

/// A source whose every run reads the next of a list of pages (an incremental feed that
/// carries tombstones, as a Salesforce `queryAll` does).
struct Feed {
    pages: std::sync::Mutex<std::collections::VecDeque<Vec<syncd_core::ReadItem>>>,
}

#[async_trait::async_trait]
impl syncd_core::Connector for Feed {
    fn name(&self) -> &str {
        "feed"
    }
    fn capabilities(&self) -> syncd_core::Capabilities {
        syncd_core::Capabilities {
            reads: vec![EntityKind::StockPosition],
            writes: vec![],
            max_batch: 1,
        }
    }
    fn source(&self) -> Option<&dyn syncd_core::Source> {
        Some(self)
    }
}

#[async_trait::async_trait]
impl syncd_core::Source for Feed {
    async fn read_page(
        &self,
        _request: syncd_core::ReadRequest,
    ) -> Result<syncd_core::Page, syncd_core::ConnectorError> {
        let items = self.pages.lock().unwrap().pop_front().unwrap_or_default();
        let next = syncd_core::Cursor(serde_json::json!({ "n": items.len() }));
        Ok(syncd_core::Page::new(
            items,
            next.clone(),
            true,
            move |_| next.clone(),
        ))
    }
}

#[tokio::test]
async fn a_tombstone_deletes_what_the_target_holds_and_costs_nothing_otherwise() {
    use syncd_core::{ReadItem, Record};
    let f = Fixture::new();
    let position = |sku: &str, n| Record::StockPosition(StockPosition::new(sku, "W", n));
    let feed = Feed {
        pages: std::sync::Mutex::new(
            vec![
                vec![
                    ReadItem::new(0, Ok(position("A", 1))),
                    ReadItem::new(1, Ok(position("B", 2))),
                ],
                vec![
                    ReadItem::tombstone(0, position("A", 0)),
                    ReadItem::tombstone(1, position("Z", 0)),
                ],
                // Deleted, then created again within one page: the later row wins.
                vec![
                    ReadItem::tombstone(0, position("B", 0)),
                    ReadItem::new(1, Ok(position("B", 7))),
                ],
            ]
            .into(),
        ),
    };
    let out = f.path("out/stock.jsonl");
    let target = f.connector("shop", "write_path = 'out/stock.jsonl'");
    let p = Pipeline::new(
        config("feed-to-shop", "feed", "shop", Mode::Incremental, false),
        ConnectorHandle::new(Arc::new(feed), None),
        target,
        &[],
    )
    .unwrap();
    let first = p
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert!(first.succeeded(), "{first:?}");
    assert_eq!(quantities(&out).len(), 2);
    let second = p
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert!(second.succeeded(), "{second:?}");
    assert_eq!(
        (second.deleted, second.unchanged),
        (1, 1),
        "A deleted, Z never held: {second:?}"
    );
    assert_eq!(
        quantities(&out),
        BTreeMap::from([("B|W".to_string(), (2, 0))])
    );
    let third = p
        .run(f.store.clone(), &NoProgress, &Default::default())
        .await;
    assert!(third.succeeded(), "{third:?}");
    assert_eq!((third.deleted, third.written), (0, 1), "{third:?}");
    assert_eq!(
        quantities(&out),
        BTreeMap::from([("B|W".to_string(), (7, 0))])
    );
}
