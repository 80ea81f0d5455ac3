//! Salesforce figures: `cargo bench --bench salesforce_read` prints them.
//!
//! - 50k Source Items (1,000 products × 50 sources) read by SOQL from the Salesforce simulator
//!   (over real HTTP on 127.0.0.1) and mapped to stock positions through the connector, page
//!   by page as the engine asks (target: ≤ 5 s);
//! - the same org reconciled whole by the engine into a file snapshot, then an unchanged rerun
//!   (which reads the overlap window again and writes nothing);
//! - 10k quantities written back, in Collections calls against the minimum ⌈n / 200⌉.

#[path = "common/mod.rs"]
mod common;

use common::connector;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Map, Value};
use syncd_adapter_file::FileFactory;
use syncd_adapter_salesforce::SalesforceFactory;
use syncd_core::model::StockPosition;
use syncd_core::{EntityKind, ReadMode, ReadRequest, Record, WriteOp};
use syncd_engine::{Mode, NoProgress, Pipeline, PipelineConfig};
use syncd_sandbox::salesforce::{SalesforceSim, SalesforceSimConfig, SANDBOX_JWT_PRIVATE_KEY};
use syncd_store::{SledStore, StateStore};

const PRODUCTS: usize = 1_000;
const SOURCES: usize = 50;
const WRITTEN: usize = 10_000;

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let seeded = Instant::now();
    {
        let mut store = sim.store();
        let products: Vec<String> = (0..PRODUCTS)
            .map(|i| {
                let sku = format!("SKU-{i:05}");
                store
                    .insert("Product2", fields(json!({"Name": sku, "ProductCode": sku})))
                    .unwrap()
            })
            .collect();
        let sources: Vec<String> = (0..SOURCES)
            .map(|i| {
                let code = format!("SRC-{i:02}");
                store
                    .insert(
                        "Inventory_Source__c",
                        fields(json!({"Name": code, "Source_Code__c": code, "Enabled__c": "1"})),
                    )
                    .unwrap()
            })
            .collect();
        for (p, product) in products.iter().enumerate() {
            for (s, source) in sources.iter().enumerate() {
                store
                    .insert(
                        "Inventory_Source_Item__c",
                        fields(json!({
                            "Product__c": product,
                            "Inventory_Source_Field__c": source,
                            "Quantity__c": ((p * 7 + s) % 500).to_string(),
                            "Status__c": "1",
                        })),
                    )
                    .unwrap();
            }
        }
    }
    let items = PRODUCTS * SOURCES;
    println!(
        "salesforce: {items} Source Items seeded in {:.2}s",
        seeded.elapsed().as_secs_f64()
    );
    let c = sim.config();
    let toml = format!(
        "login_url = '{}'\nclient_id = '{}'\nusername = '{}'\nprivate_key = '''\n{}'''",
        sim.url(),
        c.client_id,
        c.username,
        SANDBOX_JWT_PRIVATE_KEY
    );
    let dir = tempfile::tempdir().unwrap();

    // The connector alone: every page the engine would ask for.
    let sf = connector(&SalesforceFactory, dir.path(), "sf", &toml);
    let source = sf.connector.source().unwrap();
    let started = Instant::now();
    let (mut read, mut pages, mut cursor) = (0usize, 0usize, None);
    loop {
        let page = source
            .read_page(ReadRequest {
                entity: EntityKind::StockPosition,
                mode: ReadMode::Incremental,
                cursor: cursor.clone(),
                max_records: 2000,
            })
            .await
            .unwrap();
        pages += 1;
        read += page
            .items
            .iter()
            .filter(|i| matches!(i.record, Ok(Record::StockPosition(_))))
            .count();
        cursor = Some(page.next.clone());
        if page.done {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(read, items);
    common::figure(
        "salesforce_read",
        &format!("{items} Source Items read and mapped"),
        serde_json::json!({"syncd_s": secs, "pages": pages, "target_s": 5}),
    );
    println!(
        "salesforce read: {items} Source Items read and mapped in {secs:.2}s = {:.0} items/s, {pages} pages ({} query calls; target ≤ 5 s)",
        items as f64 / secs,
        sim.log().calls("GET /services/data/{version}/queryAll")
            + sim.log().calls("GET /services/data/{version}/query/{next}")
    );

    // The whole engine: Salesforce into a file snapshot.
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    let store: Arc<dyn StateStore> = Arc::new(SledStore::open(&dir.path().join("state")).unwrap());
    let pipeline = Pipeline::new(
        PipelineConfig {
            name: "sf-to-file".into(),
            from: "sf".into(),
            to: "file".into(),
            entity: EntityKind::StockPosition,
            mode: Mode::Incremental,
            schedule: None,
            maps: Default::default(),
            batch_size: None,
            page_size: 2000,
            delete_missing: false,
            retry: Default::default(),
            write_as: None,
            require_catalog: None,
        },
        connector(&SalesforceFactory, dir.path(), "sf", &toml),
        connector(
            &FileFactory,
            dir.path(),
            "file",
            "write_path = 'out/stock.jsonl'",
        ),
        &[],
    )
    .unwrap();
    for pass in ["first", "unchanged"] {
        let started = Instant::now();
        let report = pipeline
            .run(store.clone(), &NoProgress, &Default::default())
            .await;
        assert!(report.succeeded(), "{report:?}");
        println!(
            "salesforce → file, {pass} run: {} read, {} written in {:.2}s",
            report.read,
            report.written,
            started.elapsed().as_secs_f64()
        );
    }

    // Writes: 10k quantities back into existing Source Items.
    sim.log().reset();
    let sink_connector = connector(&SalesforceFactory, dir.path(), "sf_out", &toml);
    let sink = sink_connector.connector.sink().unwrap();
    let ops: Vec<WriteOp> = (0..WRITTEN)
        .map(|i| WriteOp::Upsert {
            record: Record::StockPosition(StockPosition::new(
                format!("SKU-{:05}", i / SOURCES),
                format!("SRC-{:02}", i % SOURCES),
                1_000 + i as i64,
            )),
        })
        .collect();
    let started = Instant::now();
    for batch in ops.chunks(200) {
        let outcomes = sink
            .write_batch(EntityKind::StockPosition, batch)
            .await
            .unwrap();
        assert!(outcomes
            .iter()
            .all(|o| matches!(o, syncd_core::WriteOutcome::Applied)));
    }
    let collections = sim
        .log()
        .calls("PATCH /services/data/{version}/composite/sobjects")
        + sim
            .log()
            .calls("POST /services/data/{version}/composite/sobjects");
    common::figure(
        "salesforce_read",
        &format!("{WRITTEN} quantities written to Salesforce"),
        serde_json::json!({
            "syncd_s": started.elapsed().as_secs_f64(),
            "collections_calls": collections,
            "calls_per_change": collections as f64 / WRITTEN as f64,
            "minimum_calls": WRITTEN.div_ceil(200),
        }),
    );
    println!(
        "salesforce write: {WRITTEN} quantities in {:.2}s, {} Collections calls (minimum {}), {} lookup queries for ids not met before",
        started.elapsed().as_secs_f64(),
        sim.log().calls("PATCH /services/data/{version}/composite/sobjects")
            + sim.log().calls("POST /services/data/{version}/composite/sobjects"),
        WRITTEN.div_ceil(200),
        sim.log().calls("GET /services/data/{version}/query"),
    );
}
