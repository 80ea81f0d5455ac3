//! NewStore's import limits against the simulator: the open-job cap and the spacing between
//! imports come back to the engine as rate limits with the wait to honour.

use std::path::Path;
use std::sync::Arc;

use syncd_adapter_newstore::NewStoreFactory;
use syncd_core::model::StockPosition;
use syncd_core::{
    BuildContext, ConfigSection, Connector, ConnectorFactory, EntityKind, ErrorClass, Record,
    WriteOp,
};
use syncd_sandbox::newstore::{NewStoreSim, NewStoreSimConfig};

fn connector(sim: &NewStoreSim, data_dir: &Path, extra: &str) -> Arc<dyn Connector> {
    let toml = format!(
        "tenant = '{}'\napi_base = '{}'\ntoken_url = '{}'\nclient_id = '{}'\nclient_secret = '{}'\nwebhook_api_key = 'hook-key-0123456789abcdef'\n{extra}",
        sim.config().tenant,
        sim.url(),
        sim.token_url(),
        sim.config().client_id,
        sim.config().client_secret
    );
    NewStoreFactory
        .build(BuildContext {
            name: "newstore".into(),
            section: ConfigSection::from_toml("connectors.newstore", &toml).unwrap(),
            data_dir: data_dir.to_path_buf(),
            base_dir: data_dir.to_path_buf(),
        })
        .unwrap()
}

fn batch(sku: &str, qty: i64) -> Vec<WriteOp> {
    vec![WriteOp::Upsert {
        record: Record::StockPosition(StockPosition::new(sku, "DC01", qty)),
    }]
}

#[tokio::test]
async fn the_open_job_cap_answers_rate_limited_with_newstores_wait() {
    let sim = NewStoreSim::start(NewStoreSimConfig {
        open_job_cap: 0,
        cap_retry_after_secs: 9,
        ..NewStoreSimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sim, dir.path(), "");
    c.check().await.unwrap();
    let e = c
        .sink()
        .unwrap()
        .write_batch(EntityKind::StockPosition, &batch("P1", 3))
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::RateLimited, "{e}");
    assert_eq!(e.requested_wait(), Some(std::time::Duration::from_secs(9)));
}

#[tokio::test]
async fn imports_closer_than_the_configured_spacing_wait() {
    let sim = NewStoreSim::start(NewStoreSimConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sim, dir.path(), "min_import_spacing_secs = 300");
    let sink = c.sink().unwrap();
    sink.write_batch(EntityKind::StockPosition, &batch("P1", 3))
        .await
        .unwrap();
    assert_eq!(sim.stock("P1", "DC01").on_hand, 3);
    let e = sink
        .write_batch(EntityKind::StockPosition, &batch("P1", 4))
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::RateLimited, "{e}");
    assert!(e.requested_wait().unwrap() > std::time::Duration::from_secs(290));
    assert_eq!(sim.finished_imports(), 1);
}

#[tokio::test]
async fn enabled_sources_become_dc_locations_through_the_store_mapping_and_a_disabled_one_is_refused(
) {
    let sim = NewStoreSim::start(NewStoreSimConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = connector(&sim, dir.path(), "");
    let source = |code: &str, enabled: bool| WriteOp::Upsert {
        record: Record::InventorySource(syncd_core::model::InventorySource {
            code: code.into(),
            name: format!("Source {code}"),
            enabled,
            description: None,
            country: None,
            postcode: None,
            frontend_name: None,
            use_default_carrier_config: false,
        }),
    };
    let outcomes = c
        .sink()
        .unwrap()
        .write_batch(
            EntityKind::InventorySource,
            &[
                source("DC02", true),
                source("OLD", false),
                source("DC01", true),
            ],
        )
        .await
        .unwrap();
    assert!(matches!(outcomes[0], syncd_core::WriteOutcome::Applied));
    assert!(
        matches!(&outcomes[1], syncd_core::WriteOutcome::Failed(e) if e.to_string().contains("OLD")),
        "{:?}",
        outcomes[1]
    );
    assert!(matches!(outcomes[2], syncd_core::WriteOutcome::Applied));
    assert_eq!(
        sim.nodes().into_keys().collect::<Vec<_>>(),
        ["DC01", "DC02"],
        "one import, each enabled source a DC location under its code"
    );
    assert_eq!(sim.finished_imports(), 1);
}
