//! ShipHero figures: `cargo bench --bench shiphero_sync` prints them.
//!
//! - 10k positions from a drop folder into the ShipHero simulator (over real HTTP on
//!   127.0.0.1: the CSVs served by the connector, downloaded by the simulator), end to end
//!   through the engine (target: ≤ 10 s), with the syncs made against the minimum ⌈n / 3000⌉,
//!   the status polls, and the CSV downloads;
//! - an unchanged rerun (target: no call), and a change of 7 positions (one sync).

#[path = "common/mod.rs"]
mod common;

use common::connector;
use std::sync::Arc;
use std::time::Instant;

use syncd_adapter_file::FileFactory;
use syncd_adapter_shiphero::ShipHeroFactory;
use syncd_core::EntityKind;
use syncd_engine::{Mode, NoProgress, Pipeline, PipelineConfig};
use syncd_sandbox::shiphero::{ShipHeroSim, ShipHeroSimConfig};
use syncd_store::{SledStore, StateStore};

const POSITIONS: usize = 10_000;
const WAREHOUSE: u64 = 4350;

fn write_csv(path: &std::path::Path, rows: impl Iterator<Item = (usize, i64)>) {
    let mut csv = String::from("sku,location,on_hand\n");
    for (i, on_hand) in rows {
        csv.push_str(&format!("SKU-{i:05},WH1,{on_hand}\n"));
    }
    std::fs::write(path, csv).unwrap();
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sim = ShipHeroSim::start(ShipHeroSimConfig::default())
        .await
        .unwrap();
    let skus: Vec<String> = (0..POSITIONS).map(|i| format!("SKU-{i:05}")).collect();
    let products: Vec<(&str, i64)> = skus.iter().map(|s| (s.as_str(), 0)).collect();
    sim.seed_products(WAREHOUSE, &products);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("drop")).unwrap();
    write_csv(
        &dir.path().join("drop/1.csv"),
        (0..POSITIONS).map(|i| (i, (i % 97) as i64)),
    );
    let toml = format!(
        "base_url = '{}'\nusername = '{}'\npassword = '{}'\nwarehouse_id = '{}'\nlocation = 'WH1'\npoll_interval_secs = 0.1",
        sim.url(),
        sim.config().username,
        sim.config().password,
        sim.warehouse_id(WAREHOUSE)
    );
    let store: Arc<dyn StateStore> = Arc::new(SledStore::open(&dir.path().join("state")).unwrap());
    let pipeline = Pipeline::new(
        PipelineConfig {
            name: "erp-to-shiphero".into(),
            from: "erp".into(),
            to: "warehouse".into(),
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
        connector(&ShipHeroFactory, dir.path(), "warehouse", &toml),
        &[],
    )
    .unwrap();

    let started = Instant::now();
    let report = pipeline
        .run(store.clone(), &NoProgress, &Default::default())
        .await;
    let secs = started.elapsed().as_secs_f64();
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(
        sim.on_hand(WAREHOUSE, "SKU-09999"),
        Some((9999 % 97) as i64)
    );
    common::figure(
        "shiphero_sync",
        &format!("{POSITIONS} positions into ShipHero, cold"),
        serde_json::json!({
            "syncd_s": secs,
            "syncs": sim.syncs().len(),
            "minimum_syncs": POSITIONS.div_ceil(3000),
            "graphql_calls": sim.log().calls("POST /graphql"),
            "target_s": 10,
        }),
    );
    println!(
        "shiphero: {POSITIONS} positions end to end in {secs:.2}s = {:.0} positions/s (target ≤ 10 s); {} syncs (minimum {}), {} CSV downloads, {} GraphQL calls",
        POSITIONS as f64 / secs,
        sim.syncs().len(),
        POSITIONS.div_ceil(3000),
        sim.csv_fetches().len(),
        sim.log().calls("POST /graphql"),
    );

    for (what, changed) in [("unchanged", 0usize), ("7 changed", 7)] {
        sim.log().reset();
        let before = sim.syncs().len();
        write_csv(
            &dir.path().join(format!("drop/{what}.csv")),
            (0..POSITIONS).map(|i| (i, (i % 97) as i64 + i64::from(i < changed) * 1000)),
        );
        let started = Instant::now();
        let report = pipeline
            .run(store.clone(), &NoProgress, &Default::default())
            .await;
        assert!(report.succeeded(), "{report:?}");
        common::figure(
            "shiphero_sync",
            &format!("ShipHero rerun, {what}"),
            serde_json::json!({
                "syncd_s": started.elapsed().as_secs_f64(),
                "syncs": sim.syncs().len() - before,
                "graphql_calls": sim.log().calls("POST /graphql"),
            }),
        );
        println!(
            "shiphero rerun, {what}: {} written in {:.2}s, {} syncs, {} GraphQL calls",
            report.written,
            started.elapsed().as_secs_f64(),
            sim.syncs().len() - before,
            sim.log().calls("POST /graphql"),
        );
    }
}
