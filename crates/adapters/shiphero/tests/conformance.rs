//! The ShipHero adapter passes the conformance suite against the ShipHero simulator: stock
//! positions of one warehouse, written by inventory syncs and read by warehouse_products.

use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;
use syncd_adapter_shiphero::ShipHeroFactory;
use syncd_core::model::StockPosition;
use syncd_core::{ConfigSection, ConnectorFactory, EntityKind, Record};
use syncd_sandbox::shiphero::{ShipHeroSim, ShipHeroSimConfig};
use syncd_sandbox::{FaultPlan, FaultSpec};
use syncd_testkit::Subject;

const WAREHOUSE: u64 = 4350;
const LOCATION: &str = "Primary";
/// What a seeded SKU nothing was written to holds: the suite's records never hold it.
const UNTOUCHED: i64 = 999_999;

/// Each source and each fresh target is an account of its own.
struct ShipHero {
    dir: tempfile::TempDir,
    accounts: Mutex<Vec<ShipHeroSim>>,
    target: Mutex<Option<usize>>,
}

fn skus() -> Vec<String> {
    (0..100).map(|i| format!("SKU-{i:03}")).collect()
}

async fn account(on_hand: &[(String, i64)]) -> ShipHeroSim {
    let sim = ShipHeroSim::start(ShipHeroSimConfig::default())
        .await
        .unwrap();
    let products: Vec<(&str, i64)> = on_hand.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    sim.seed_products(WAREHOUSE, &products);
    sim
}

fn section(sim: &ShipHeroSim, extra: &str) -> ConfigSection {
    let c = sim.config();
    let toml = format!(
        "base_url = '{}'\nusername = '{}'\npassword = '{}'\nwarehouse_id = '{}'\nlocation = '{LOCATION}'\npoll_interval_secs = 0.02\n{extra}",
        sim.url(),
        c.username,
        c.password,
        sim.warehouse_id(WAREHOUSE),
    );
    ConfigSection::from_toml("connectors.under_test", &toml).unwrap()
}

#[async_trait]
impl Subject for ShipHero {
    fn factory(&self) -> Box<dyn ConnectorFactory> {
        Box::new(ShipHeroFactory)
    }

    fn entity(&self) -> EntityKind {
        EntityKind::StockPosition
    }

    fn sample(&self, n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| {
                Record::StockPosition(StockPosition::new(
                    format!("SKU-{i:03}"),
                    LOCATION,
                    i as i64 * 3,
                ))
            })
            .collect()
    }

    fn permanently_rejected(&self) -> Record {
        // "All SKUs included must be existing SKUs and available on that specific warehouse."
        Record::StockPosition(StockPosition::new("SKU-LOST", LOCATION, 4))
    }

    async fn source_with(&self, records: &[Record]) -> ConfigSection {
        let on_hand: Vec<(String, i64)> = records
            .iter()
            .map(|r| match r {
                Record::StockPosition(p) => (p.sku.clone(), p.on_hand),
                _ => unreachable!(),
            })
            .collect();
        let sim = account(&on_hand).await;
        let section = section(&sim, "read_page_size = 7");
        self.accounts.lock().unwrap().push(sim);
        section
    }

    async fn fresh_target(&self) -> ConfigSection {
        let on_hand: Vec<(String, i64)> = skus().into_iter().map(|s| (s, UNTOUCHED)).collect();
        let sim = account(&on_hand).await;
        let section = section(&sim, "lines_per_sync = 4");
        let mut accounts = self.accounts.lock().unwrap();
        accounts.push(sim);
        *self.target.lock().unwrap() = Some(accounts.len() - 1);
        section
    }

    async fn target_contents(&self) -> Vec<Record> {
        let at = self.target.lock().unwrap().expect("a target was made");
        let accounts = self.accounts.lock().unwrap();
        let mut out: Vec<Record> = skus()
            .into_iter()
            .filter_map(|sku| {
                let on_hand = accounts[at].on_hand(WAREHOUSE, &sku)?;
                (on_hand != UNTOUCHED)
                    .then(|| Record::StockPosition(StockPosition::new(sku, LOCATION, on_hand)))
            })
            .collect();
        out.sort_by_key(Record::key);
        out
    }

    fn bad_configs(&self) -> Vec<(ConfigSection, String)> {
        let plain = |toml: &str| ConfigSection::from_toml("connectors.under_test", toml).unwrap();
        let base = "username = 'u'\npassword = 'p'\nwarehouse_id = 'V2FyZWhvdXNlOjQzNTA='\nlocation = 'L'\n";
        vec![
            (
                plain(&format!("{base}lines_per_sync = 4000")),
                "connectors.under_test.lines_per_sync".into(),
            ),
            (
                plain(&format!("{base}colour = 'blue'")),
                "connectors.under_test.colour".into(),
            ),
            (
                plain(&format!("{base}base_url = 'ftp://x'")),
                "connectors.under_test.base_url".into(),
            ),
            (
                plain(&format!("{base}poll_interval_secs = 0")),
                "connectors.under_test.poll_interval_secs".into(),
            ),
            (
                plain("warehouse_id = 'V2FyZWhvdXNlOjQzNTA='\nlocation = 'L'"),
                "connectors.under_test.username".into(),
            ),
            (
                plain("username = 'u'\nwarehouse_id = 'V2FyZWhvdXNlOjQzNTA='\nlocation = 'L'"),
                "connectors.under_test.password".into(),
            ),
            (
                plain("username = 'u'\npassword = 'p'\nlocation = 'L'"),
                "connectors.under_test.warehouse_id".into(),
            ),
        ]
    }

    async fn break_target(&self) {
        let at = self.target.lock().unwrap().expect("a target was made");
        let mut plan = FaultPlan::none();
        plan.endpoints.insert(
            "POST /graphql".into(),
            FaultSpec {
                error_rate: 1.0,
                ..FaultSpec::default()
            },
        );
        self.accounts.lock().unwrap()[at].set_faults(plan);
    }

    async fn heal_target(&self) {
        let at = self.target.lock().unwrap().expect("a target was made");
        self.accounts.lock().unwrap()[at].set_faults(FaultPlan::none());
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

#[tokio::test]
async fn the_shiphero_adapter_passes_the_conformance_suite() {
    let subject = ShipHero {
        dir: tempfile::tempdir().unwrap(),
        accounts: Mutex::new(Vec::new()),
        target: Mutex::new(None),
    };
    syncd_testkit::run_all(&subject).await;
}
