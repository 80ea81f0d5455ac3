//! The Salesforce adapter passes the conformance suite against the Salesforce simulator, with
//! stock positions as Source Items.

use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::{json, Map, Value};
use syncd_adapter_salesforce::SalesforceFactory;
use syncd_core::model::{StockPosition, StockStatus};
use syncd_core::{ConfigSection, ConnectorFactory, EntityKind, Record};
use syncd_sandbox::salesforce::{
    soql, SalesforceSim, SalesforceSimConfig, SANDBOX_JWT_PRIVATE_KEY,
};
use syncd_sandbox::{FaultPlan, FaultSpec};
use syncd_testkit::Subject;

/// Each source and each fresh target is an org of its own; they live as long as the subject.
struct Salesforce {
    dir: tempfile::TempDir,
    orgs: Mutex<Vec<SalesforceSim>>,
    target: Mutex<Option<usize>>,
}

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

/// An org holding the products SKU-000…SKU-099 and the sources LOC_1 and LOC_2; their ids.
async fn org() -> (SalesforceSim, Vec<String>, [String; 2]) {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let (products, sources) = {
        let mut store = sim.store();
        let products = (0..100)
            .map(|i| {
                let sku = format!("SKU-{i:03}");
                store
                    .insert("Product2", fields(json!({"Name": sku, "ProductCode": sku})))
                    .unwrap()
            })
            .collect();
        let sources = ["LOC_1", "LOC_2"].map(|code| {
            store
                .insert(
                    "Inventory_Source__c",
                    fields(json!({"Name": code, "Source_Code__c": code, "Enabled__c": "1"})),
                )
                .unwrap()
        });
        (products, sources)
    };
    (sim, products, sources)
}

fn section(sim: &SalesforceSim, extra: &str) -> ConfigSection {
    let c = sim.config();
    let toml = format!(
        "login_url = '{}'\nclient_id = '{}'\nusername = '{}'\nprivate_key = '''\n{}'''\n{extra}",
        sim.url(),
        c.client_id,
        c.username,
        SANDBOX_JWT_PRIVATE_KEY
    );
    ConfigSection::from_toml("connectors.under_test", &toml).unwrap()
}

fn position(row: &Value) -> StockPosition {
    let mut p = StockPosition::new(
        row["Product__r"]["ProductCode"].as_str().unwrap(),
        row["Inventory_Source_Field__r"]["Source_Code__c"]
            .as_str()
            .unwrap(),
        row["Quantity__c"].as_str().unwrap().parse().unwrap(),
    );
    if row["Status__c"] == "0" {
        p.status = StockStatus::Inactive;
    }
    p
}

#[async_trait]
impl Subject for Salesforce {
    fn factory(&self) -> Box<dyn ConnectorFactory> {
        Box::new(SalesforceFactory)
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
                if i % 5 == 4 {
                    p.status = StockStatus::Inactive;
                }
                Record::StockPosition(p)
            })
            .collect()
    }

    fn permanently_rejected(&self) -> Record {
        // No Product2 has this code: Salesforce cannot hold its Source Item.
        Record::StockPosition(StockPosition::new("SKU-LOST", "LOC_1", 4))
    }

    async fn source_with(&self, records: &[Record]) -> ConfigSection {
        let (sim, products, sources) = org().await;
        {
            let mut store = sim.store();
            for r in records {
                let Record::StockPosition(p) = r else {
                    unreachable!()
                };
                let i: usize = p.sku.trim_start_matches("SKU-").parse().unwrap();
                let source = &sources[usize::from(p.location == "LOC_2")];
                store
                    .insert(
                        "Inventory_Source_Item__c",
                        fields(json!({
                            "Product__c": products[i],
                            "Inventory_Source_Field__c": source,
                            "Quantity__c": p.on_hand.to_string(),
                            "Status__c": if p.status == StockStatus::Active { "1" } else { "0" },
                        })),
                    )
                    .unwrap();
            }
        }
        // The overlap re-reads the last stamps on purpose (rows committed late); the suite
        // checks the exact cursor.
        let section = section(&sim, "overlap_secs = 0");
        self.orgs.lock().unwrap().push(sim);
        section
    }

    async fn fresh_target(&self) -> ConfigSection {
        let (sim, _, _) = org().await;
        let section = section(&sim, "batch_size = 4");
        let mut orgs = self.orgs.lock().unwrap();
        orgs.push(sim);
        *self.target.lock().unwrap() = Some(orgs.len() - 1);
        section
    }

    async fn target_contents(&self) -> Vec<Record> {
        let at = self.target.lock().unwrap().expect("a target was made");
        let orgs = self.orgs.lock().unwrap();
        let query = soql::parse("SELECT Quantity__c, Status__c, Product__r.ProductCode, Inventory_Source_Field__r.Source_Code__c FROM Inventory_Source_Item__c").unwrap();
        let rows = orgs[at].store().run(&query, false, "62.0").unwrap();
        let mut out: Vec<Record> = rows
            .iter()
            .map(|row| Record::StockPosition(position(row)))
            .collect();
        out.sort_by_key(Record::key);
        out
    }

    fn bad_configs(&self) -> Vec<(ConfigSection, String)> {
        let plain = |toml: &str| ConfigSection::from_toml("connectors.under_test", toml).unwrap();
        let base = "login_url = 'https://login.salesforce.com'\nclient_id = 'c'\nusername = 'u'\nprivate_key = 'k'\n";
        vec![
            (
                plain(&format!("{base}batch_size = 300")),
                "connectors.under_test.batch_size".into(),
            ),
            (
                plain(&format!("{base}colour = 'blue'")),
                "connectors.under_test.colour".into(),
            ),
            (
                plain(&format!("{base}reads = 'push'")),
                "connectors.under_test.push_secret".into(),
            ),
            (
                plain(&format!("{base}grant = 'refresh_token'")),
                "connectors.under_test.refresh_token".into(),
            ),
            (
                plain(&format!("{base}budget_share = 1.5")),
                "connectors.under_test.budget_share".into(),
            ),
            (
                plain(&format!("{base}push_entities = ['product']")),
                "connectors.under_test.push_entities".into(),
            ),
            (
                plain(&format!("{base}names = {{ quantity = 1 }}")),
                "connectors.under_test.names.quantity".into(),
            ),
            (
                plain("login_url = 'ftp://x'\nclient_id = 'c'\nusername = 'u'\nprivate_key = 'k'"),
                "connectors.under_test.login_url".into(),
            ),
            (
                plain("login_url = 'https://x'\nclient_id = 'c'\nprivate_key = 'k'"),
                "connectors.under_test.username".into(),
            ),
        ]
    }

    async fn break_target(&self) {
        let at = self.target.lock().unwrap().expect("a target was made");
        let mut plan = FaultPlan::none();
        for method in ["POST", "PATCH"] {
            plan.endpoints.insert(
                format!("{method} /services/data/{{version}}/composite/sobjects"),
                FaultSpec {
                    error_rate: 1.0,
                    ..FaultSpec::default()
                },
            );
        }
        self.orgs.lock().unwrap()[at].set_faults(plan);
    }

    async fn heal_target(&self) {
        let at = self.target.lock().unwrap().expect("a target was made");
        self.orgs.lock().unwrap()[at].set_faults(FaultPlan::none());
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

#[tokio::test]
async fn the_salesforce_adapter_passes_the_conformance_suite() {
    let subject = Salesforce {
        dir: tempfile::tempdir().unwrap(),
        orgs: Mutex::new(Vec::new()),
        target: Mutex::new(None),
    };
    syncd_testkit::run_all(&subject).await;
}
