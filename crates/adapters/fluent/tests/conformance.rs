//! The Fluent adapter passes the conformance suite against the Fluent simulator.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use syncd_adapter_fluent::FluentFactory;
use syncd_core::model::StockPosition;
use syncd_core::{ConfigSection, ConnectorFactory, EntityKind, Record};
use syncd_sandbox::fluent::{FluentSim, FluentSimConfig, StoredQuantity};
use syncd_sandbox::{FaultPlan, FaultSpec};
use syncd_testkit::Subject;

struct Fluent {
    sim: FluentSim,
    dir: tempfile::TempDir,
    catalogues: AtomicUsize,
    target: Mutex<Option<String>>,
}

impl Fluent {
    async fn start() -> Self {
        let config = FluentSimConfig {
            known_locations: Some(["LOC_1", "LOC_2"].map(String::from).into()),
            ..FluentSimConfig::default()
        };
        Fluent {
            sim: FluentSim::start(config).await.unwrap(),
            dir: tempfile::tempdir().unwrap(),
            catalogues: AtomicUsize::new(0),
            target: Mutex::new(None),
        }
    }

    fn section(&self, extra: &str) -> ConfigSection {
        let c = self.sim.config();
        let toml = format!(
            "base_url = '{}'\naccount = '{}'\nretailer_id = {}\nclient_id = '{}'\nclient_secret = '{}'\nusername = '{}'\npassword = '{}'\n{extra}",
            self.sim.url(),
            c.account,
            c.retailer_id,
            c.client_id,
            c.client_secret,
            c.username,
            c.password
        );
        ConfigSection::from_toml("connectors.under_test", &toml).unwrap()
    }

    fn fresh_catalogue(&self, what: &str) -> String {
        format!("{what}{}:1", self.catalogues.fetch_add(1, Ordering::SeqCst))
    }
}

#[async_trait]
impl Subject for Fluent {
    fn factory(&self) -> Box<dyn ConnectorFactory> {
        Box::new(FluentFactory)
    }

    fn entity(&self) -> EntityKind {
        EntityKind::StockPosition
    }

    fn sample(&self, n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| {
                let mut p = StockPosition::new(
                    format!("SKU-{i:03}"),
                    ["LOC_1", "LOC_2"][i % 2],
                    i as i64 * 3,
                );
                if i % 2 == 0 {
                    p.attributes
                        .insert("condition".into(), serde_json::json!("NEW"));
                    // Dates as Fluent recommends them (`YYYY-MM-DDTHH:MM:SSZ`): what it stores.
                    p.attributes.insert(
                        "expectedOn".into(),
                        serde_json::json!("2026-12-01T00:00:00Z"),
                    );
                }
                Record::StockPosition(p)
            })
            .collect()
    }

    fn permanently_rejected(&self) -> Record {
        Record::StockPosition(StockPosition::new("SKU-LOST", "LOC_NOWHERE", 4))
    }

    async fn source_with(&self, records: &[Record]) -> ConfigSection {
        let catalogue = self.fresh_catalogue("SOURCE");
        self.sim.seed(
            records
                .iter()
                .map(|r| {
                    let Record::StockPosition(p) = r else {
                        unreachable!()
                    };
                    StoredQuantity {
                        catalogue_ref: catalogue.clone(),
                        location_ref: p.location.clone(),
                        sku_ref: p.sku.clone(),
                        reference: format!("{}:{}:SOURCE:LAST_ON_HAND", p.sku, p.location),
                        kind: "LAST_ON_HAND".into(),
                        status: "ACTIVE".into(),
                        qty: p.on_hand,
                        corrected_qty: 0,
                        attributes: p.attributes.clone().into_iter().collect(),
                        updated_on: String::new(),
                    }
                })
                .collect(),
        );
        self.section(&format!("catalogue_ref = '{catalogue}'"))
    }

    async fn fresh_target(&self) -> ConfigSection {
        let catalogue = self.fresh_catalogue("TARGET");
        *self.target.lock().unwrap() = Some(catalogue.clone());
        self.section(&format!("catalogue_ref = '{catalogue}'\nbatch_size = 4"))
    }

    async fn target_contents(&self) -> Vec<Record> {
        let catalogue = self
            .target
            .lock()
            .unwrap()
            .clone()
            .expect("a target was made");
        let mut out: Vec<Record> = self
            .sim
            .quantities()
            .into_iter()
            .filter(|q| q.catalogue_ref == catalogue)
            .map(|q| {
                let mut p = StockPosition::new(q.sku_ref, q.location_ref, q.qty);
                p.attributes = q.attributes.into_iter().collect();
                Record::StockPosition(p)
            })
            .collect();
        out.sort_by_key(Record::key);
        out
    }

    fn bad_configs(&self) -> Vec<(ConfigSection, String)> {
        vec![
            (self.section("batch_size = 6000"), "connectors.under_test.batch_size".into()),
            (self.section("preprocessing = 'maybe'"), "connectors.under_test.preprocessing".into()),
            (self.section("colour = 'blue'"), "connectors.under_test.colour".into()),
            (
                ConfigSection::from_toml(
                    "connectors.under_test",
                    "base_url = 'ftp://x'\naccount = 'A'\nretailer_id = 1\nclient_id = 'c'\nclient_secret = 's'\nusername = 'u'\npassword = 'p'",
                )
                .unwrap(),
                "connectors.under_test.base_url".into(),
            ),
            (
                ConfigSection::from_toml("connectors.under_test", "base_url = 'http://x'\naccount = 'A'\nretailer_id = 1\nclient_id = 'c'\nusername = 'u'\npassword = 'p'").unwrap(),
                "connectors.under_test.client_secret".into(),
            ),
        ]
    }

    async fn break_target(&self) {
        let mut plan = FaultPlan::none();
        plan.endpoints.insert(
            "POST /api/v4.1/job/{id}/batch".into(),
            FaultSpec {
                error_rate: 1.0,
                ..FaultSpec::default()
            },
        );
        self.sim.set_faults(plan);
    }

    async fn heal_target(&self) {
        self.sim.set_faults(FaultPlan::none());
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

#[tokio::test]
async fn the_fluent_adapter_passes_the_conformance_suite() {
    let subject = Fluent::start().await;
    syncd_testkit::run_all(&subject).await;
}
