//! Fluent figures: `cargo bench --bench fluent_reconcile` prints them.
//!
//! - a full reconcile of 100k positions from a drop folder into the Fluent simulator (over
//!   real HTTP on 127.0.0.1), in positions per second;
//! - write calls against the minimum ⌈changed / 5000⌉ for the full load and for a change of
//!   a few thousand positions.

#[path = "common/mod.rs"]
mod common;

use common::connector;
use std::sync::Arc;
use std::time::Instant;

use syncd_adapter_file::FileFactory;
use syncd_adapter_fluent::FluentFactory;
use syncd_core::EntityKind;
use syncd_engine::{Mode, NoProgress, Pipeline, PipelineConfig};
use syncd_sandbox::data;
use syncd_sandbox::fluent::{FluentSim, FluentSimConfig};
use syncd_store::{SledStore, StateStore};

const POSITIONS: usize = 100_000;
const BATCH: &str = "POST /api/v4.1/job/{id}/batch";

fn write_csv(path: &std::path::Path, positions: &[syncd_core::model::StockPosition]) {
    let mut csv = String::from("sku,location,on_hand\n");
    for p in positions {
        csv.push_str(&format!("{},{},{}\n", p.sku, p.location, p.on_hand));
    }
    std::fs::write(path, csv).unwrap();
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sim = FluentSim::start(FluentSimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("drop")).unwrap();
    let stock = data::stock_positions(100, POSITIONS, 20);
    write_csv(&dir.path().join("drop/1.csv"), &stock);
    let f = sim.config();
    let fluent_toml = format!(
        "base_url = '{}'\naccount = '{}'\nretailer_id = {}\nclient_id = '{}'\nclient_secret = '{}'\nusername = '{}'\npassword = '{}'",
        sim.url(), f.account, f.retailer_id, f.client_id, f.client_secret, f.username, f.password
    );
    let store: Arc<dyn StateStore> = Arc::new(SledStore::open(&dir.path().join("state")).unwrap());
    let pipeline = Pipeline::new(
        PipelineConfig {
            name: "erp-to-fluent".into(),
            from: "erp".into(),
            to: "fluent".into(),
            entity: EntityKind::StockPosition,
            mode: Mode::Incremental,
            schedule: None,
            maps: Default::default(),
            batch_size: None,
            page_size: 5000,
            delete_missing: false,
            retry: Default::default(),
            write_as: None,
            require_catalog: None,
        },
        connector(&FileFactory, dir.path(), "erp", "read_dir = 'drop'"),
        connector(&FluentFactory, dir.path(), "fluent", &fluent_toml),
        &[],
    )
    .unwrap();

    let started = Instant::now();
    let report = pipeline
        .run(store.clone(), &NoProgress, &Default::default())
        .await;
    let secs = started.elapsed().as_secs_f64();
    assert!(report.succeeded(), "{report:?}");
    let calls = sim.log().calls(BATCH);
    println!(
        "fluent full reconcile: {POSITIONS} positions in {secs:.2}s = {:.0} positions/s; {calls} batch calls (minimum {})",
        POSITIONS as f64 / secs,
        POSITIONS.div_ceil(5000)
    );
    common::figure(
        "fluent_reconcile",
        &format!("{POSITIONS} positions into Fluent, cold"),
        serde_json::json!({"syncd_s": secs, "batch_calls": calls, "minimum_calls": POSITIONS.div_ceil(5000)}),
    );

    for changed in [7usize, 4_321] {
        sim.log().reset();
        let file = dir.path().join(format!("drop/changes-{changed}.csv"));
        let delta: Vec<_> = data::with_changes(stock.clone(), changed as u64, changed)
            .into_iter()
            .zip(&stock)
            .filter(|(new, old)| new != *old)
            .map(|(new, _)| new)
            .collect();
        write_csv(&file, &delta);
        let started = Instant::now();
        let report = pipeline
            .run(store.clone(), &NoProgress, &Default::default())
            .await;
        assert!(report.succeeded(), "{report:?}");
        let secs = started.elapsed().as_secs_f64();
        println!(
            "fluent change of {changed}: {} written in {secs:.3}s with {} batch calls (minimum {})",
            report.written,
            sim.log().calls(BATCH),
            changed.div_ceil(5000)
        );
        common::figure(
            "fluent_reconcile",
            &format!("Fluent: {changed} changed of {POSITIONS}"),
            serde_json::json!({
                "syncd_s": secs,
                "batch_calls": sim.log().calls(BATCH),
                "calls_per_change": sim.log().calls(BATCH) as f64 / changed as f64,
            }),
        );
    }
}
