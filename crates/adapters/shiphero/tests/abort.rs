//! A sync that runs past its time is aborted, against the ShipHero simulator: "Aborting a sync
//! batch should be done before the batch is changed to a success status, and will not revert
//! the lines already processed from the CSV file."

use syncd_adapter_shiphero::ShipHeroFactory;
use syncd_core::error::ErrorClass;
use syncd_core::model::StockPosition;
use syncd_core::{
    BuildContext, ConfigSection, ConnectorFactory, EntityKind, Record, WriteOp, WriteOutcome,
};
use syncd_sandbox::shiphero::{ShipHeroSim, ShipHeroSimConfig};

#[tokio::test]
async fn a_sync_past_its_time_is_aborted_its_processed_rows_written_and_the_rest_retried() {
    // Slow: one row every 20 ms, so that the sync is still running when its time is up.
    let sim = ShipHeroSim::start(ShipHeroSimConfig {
        sync_rows_per_tick: 1,
        sync_tick_ms: 20,
        ..ShipHeroSimConfig::default()
    })
    .await
    .unwrap();
    let skus: Vec<String> = (0..200).map(|i| format!("SKU-{i:03}")).collect();
    let products: Vec<(&str, i64)> = skus.iter().map(|s| (s.as_str(), 0)).collect();
    sim.seed_products(4350, &products);
    let c = sim.config();
    let toml = format!(
        "base_url = '{}'\nusername = '{}'\npassword = '{}'\nwarehouse_id = '{}'\nlocation = 'WH1'\npoll_interval_secs = 0.05\nsync_timeout_secs = 1",
        sim.url(),
        c.username,
        c.password,
        sim.warehouse_id(4350)
    );
    let dir = tempfile::tempdir().unwrap();
    let connector = ShipHeroFactory
        .build(BuildContext {
            name: "warehouse".into(),
            section: ConfigSection::from_toml("connectors.warehouse", &toml).unwrap(),
            data_dir: dir.path().to_path_buf(),
            base_dir: dir.path().to_path_buf(),
        })
        .unwrap();
    let ops: Vec<WriteOp> = skus
        .iter()
        .map(|sku| WriteOp::Upsert {
            record: Record::StockPosition(StockPosition::new(sku, "WH1", 5)),
        })
        .collect();
    let outcomes = connector
        .sink()
        .unwrap()
        .write_batch(EntityKind::StockPosition, &ops)
        .await
        .unwrap();
    let syncs = sim.syncs();
    assert_eq!(syncs.len(), 1);
    assert_eq!(syncs[0].status, "aborted", "{syncs:?}");
    let applied = outcomes
        .iter()
        .filter(|o| matches!(o, WriteOutcome::Applied))
        .count();
    let retried = outcomes
        .iter()
        .filter(|o| matches!(o, WriteOutcome::Failed(e) if e.class() == ErrorClass::Retryable))
        .count();
    assert_eq!(applied + retried, 200, "{outcomes:?}");
    assert!(
        applied > 0 && retried > 0,
        "applied {applied}, retried {retried}"
    );
    // What was applied is in the warehouse; the rest is not.
    let held = skus
        .iter()
        .filter(|s| sim.on_hand(4350, s) == Some(5))
        .count();
    assert!(held >= applied, "held {held}, applied {applied}");
}
