//! The NewStore adapter passes the conformance suite against the NewStore simulator: stock is
//! read back from the HQ stock list and written as partial availability imports.

use std::path::PathBuf;

use async_trait::async_trait;
use syncd_adapter_newstore::NewStoreFactory;
use syncd_core::model::StockPosition;
use syncd_core::{ConfigSection, ConnectorFactory, EntityKind, Record};
use syncd_sandbox::newstore::{NewStoreSim, NewStoreSimConfig};
use syncd_sandbox::{FaultPlan, FaultSpec};
use syncd_testkit::Subject;

struct NewStore {
    sim: tokio::sync::Mutex<Option<NewStoreSim>>,
    url: std::sync::Mutex<(String, String)>,
    dir: tempfile::TempDir,
}

const SECRET: &str = "newstore-sandbox-secret";

impl NewStore {
    async fn start() -> Self {
        let s = NewStore {
            sim: tokio::sync::Mutex::new(None),
            url: std::sync::Mutex::new((String::new(), String::new())),
            dir: tempfile::tempdir().unwrap(),
        };
        s.fresh().await;
        s
    }

    /// A fresh tenant (every target and source starts empty).
    async fn fresh(&self) {
        let sim = NewStoreSim::start(NewStoreSimConfig::default())
            .await
            .unwrap();
        *self.url.lock().unwrap() = (sim.url(), sim.token_url());
        *self.sim.lock().await = Some(sim);
    }

    fn section(&self, extra: &str) -> ConfigSection {
        let (api, token) = self.url.lock().unwrap().clone();
        ConfigSection::from_toml(
            "connectors.under_test",
            &format!(
                "tenant = 'sandbox'\napi_base = '{api}'\ntoken_url = '{token}'\nclient_id = 'syncd-sandbox'\nclient_secret = '{SECRET}'\nwebhook_api_key = 'hook-key-0123456789abcdef'\n{extra}"
            ),
        )
        .unwrap()
    }
}

#[async_trait]
impl Subject for NewStore {
    fn factory(&self) -> Box<dyn ConnectorFactory> {
        Box::new(NewStoreFactory)
    }

    fn entity(&self) -> EntityKind {
        EntityKind::StockPosition
    }

    fn sample(&self, n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| {
                Record::StockPosition(StockPosition::new(
                    format!("SKU-{i:03}"),
                    "DC01",
                    i as i64 * 3,
                ))
            })
            .collect()
    }

    fn permanently_rejected(&self) -> Record {
        // An availability needs a fulfillment node.
        Record::StockPosition(StockPosition::new("SKU-NOWHERE", "", 4))
    }

    async fn source_with(&self, records: &[Record]) -> ConfigSection {
        self.fresh().await;
        let sim = self.sim.lock().await;
        for r in records {
            let Record::StockPosition(p) = r else {
                unreachable!()
            };
            sim.as_ref()
                .unwrap()
                .set_on_hand(&p.sku, &p.location, p.on_hand);
        }
        self.section("")
    }

    async fn fresh_target(&self) -> ConfigSection {
        self.fresh().await;
        self.section("max_batch = 4")
    }

    async fn target_contents(&self) -> Vec<Record> {
        let sim = self.sim.lock().await;
        let sim = sim.as_ref().unwrap();
        let mut out: Vec<Record> = sim
            .positions()
            .into_iter()
            .map(|(product, node, s)| {
                Record::StockPosition(StockPosition::new(product, node, s.on_hand))
            })
            .collect();
        out.sort_by_key(Record::key);
        out
    }

    fn bad_configs(&self) -> Vec<(ConfigSection, String)> {
        vec![
            (
                self.section("public_base_url = 'ftp://x'"),
                "connectors.under_test.public_base_url".into(),
            ),
            (
                self.section("range_scope = 'per_planet'"),
                "connectors.under_test.range_scope".into(),
            ),
            (
                self.section("file_listen = 'anywhere'"),
                "connectors.under_test.file_listen".into(),
            ),
            (
                self.section("colour = 'blue'"),
                "connectors.under_test.colour".into(),
            ),
            (
                ConfigSection::from_toml(
                    "connectors.under_test",
                    "tenant = 't'\nclient_id = 'c'\nclient_secret = 's'\nwebhook_api_key = 'short'",
                )
                .unwrap(),
                "connectors.under_test.webhook_api_key".into(),
            ),
        ]
    }

    async fn break_target(&self) {
        let mut plan = FaultPlan::none();
        plan.endpoints.insert(
            "POST /v0/d/import".into(),
            FaultSpec {
                error_rate: 1.0,
                ..FaultSpec::default()
            },
        );
        self.sim.lock().await.as_ref().unwrap().set_faults(plan);
    }

    async fn heal_target(&self) {
        self.sim
            .lock()
            .await
            .as_ref()
            .unwrap()
            .set_faults(FaultPlan::none());
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

#[tokio::test]
async fn the_newstore_adapter_passes_the_conformance_suite() {
    let subject = NewStore::start().await;
    syncd_testkit::run_all(&subject).await;
}
