//! `syncd demo`'s script: a merchant's day through the reference topology, step by step, each
//! step followed by one pass of every pipeline and printed as what the runs did and what each
//! system holds for three sample SKUs. It ends by checking that every system agrees and that
//! `syncd drift` finds the link in sync.

use serde_json::json;
use syncd_engine::RunReport;
use syncd_sandbox::ergonode::{Change, SyncKind};

use crate::config::LINK;
use crate::holdings::Holdings;
use crate::mission::{Mission, MissionOptions, LATE_SKU, WAREHOUSE};
use crate::orders::Orders;
use crate::{tables, MissionError};

const RENAMED: &str = "SKU-0001";
const COUNTED: &str = "SKU-0002";
const SAMPLES: [&str; 3] = [RENAMED, COUNTED, LATE_SKU];

/// What the demo found: whether every run succeeded and every system agreed at the end.
#[derive(Debug)]
pub struct DemoOutcome {
    /// Every run of every pass succeeded.
    pub runs_succeeded: bool,
    /// Where systems still disagree at the end (empty: all agree).
    pub disagreements: Vec<String>,
    /// `syncd drift` on the link exited 0.
    pub link_in_sync: bool,
}

impl DemoOutcome {
    /// All well.
    pub fn ok(&self) -> bool {
        self.runs_succeeded && self.disagreements.is_empty() && self.link_in_sync
    }
}

async fn step(
    mission: &Mission,
    number: usize,
    title: &str,
    ok: &mut bool,
) -> Result<Vec<RunReport>, MissionError> {
    println!("\nStep {number}. {title}");
    if let crate::Pace::Scheduled { cycle_secs } = mission.pace {
        // Up to two cycles of silence otherwise: say what is awaited.
        println!(
            "   (waiting for the daemon's cron to run every pipeline, once per {cycle_secs} s)"
        );
    }
    let reports = mission.pass().await?;
    *ok &= reports.iter().all(|r| r.succeeded());
    let holdings = Holdings::read(mission)?;
    println!("{}", tables::runs(&reports));
    println!("{}", tables::samples(&holdings, &SAMPLES));
    Ok(reports)
}

/// Plays the demo; prints as it goes.
pub async fn play(options: MissionOptions) -> Result<DemoOutcome, MissionError> {
    let mut mission = Mission::start(options).await?;
    println!("The omnichannel topology (examples/omnichannel/adapters.toml) on the sandbox");
    println!("  config     {}", mission.config_path().display());
    println!("  daemon log {}", mission.daemon.log().display());
    println!(
        "  runs       {}",
        match mission.pace {
            crate::Pace::Triggered =>
                "asked for with `syncd trigger`, one pipeline after the other".to_string(),
            crate::Pace::Scheduled { cycle_secs } =>
                format!("by the daemon's cron, every pipeline once per {cycle_secs} s"),
        }
    );
    let mut ok = true;

    mission.synchronize_catalog(SyncKind::Full).await?;
    step(
        &mission,
        1,
        &format!("Day one: Ergonode's full synchronization, ShipHero's and the ERP's stock. {LATE_SKU} is not in the catalog yet: the guard dead-letters its stock"),
        &mut ok,
    )
    .await?;

    mission
        .sandbox
        .ergonode
        .change(&[
            Change::SetValue {
                sku: RENAMED.into(),
                attribute: "name".into(),
                language: Some("en_GB".into()),
                value: json!("Trail jacket"),
            },
            Change::AddProduct {
                sku: LATE_SKU.into(),
                kind: "SIMPLE-PRODUCT".into(),
                categories: Vec::new(),
            },
            Change::SetValue {
                sku: LATE_SKU.into(),
                attribute: "name".into(),
                language: Some("en_GB".into()),
                value: json!("Rain cover"),
            },
        ])
        .map_err(|e| MissionError::call("editing Ergonode's catalog", e))?;
    mission.synchronize_catalog(SyncKind::Delta).await?;
    step(
        &mission,
        2,
        &format!(
            "A catalog delta: {RENAMED} renamed, {LATE_SKU} added (its stock, held back, goes out)"
        ),
        &mut ok,
    )
    .await?;

    mission
        .sandbox
        .shiphero
        .seed_products(WAREHOUSE, &[(COUNTED, 3)]);
    mission.count_in_erp(&[(COUNTED.to_string(), 40)])?;
    step(
        &mission,
        3,
        &format!("Warehouse counts: ShipHero counts {COUNTED} at 3, the ERP's count says 40 at the store"),
        &mut ok,
    )
    .await?;

    let mut orders = Orders::new(mission.sandbox.newstore.url());
    let (shipping, _) = orders.assign(RENAMED, 2, true).await?;
    let (failing, _) = orders.assign(COUNTED, 1, true).await?;
    step(
        &mission,
        4,
        &format!("Orders in NewStore, assigned: 2 × {RENAMED}, 1 × {COUNTED} (allocated: ATP drops, on hand stays)"),
        &mut ok,
    )
    .await?;

    orders.finish(&shipping, true, true).await?;
    orders.finish(&failing, false, true).await?;
    step(
        &mission,
        5,
        &format!("Orders completed: the 2 × {RENAMED} shipped (counted out of the ERP once, their allocations removed by range), the {COUNTED} failed (released)"),
        &mut ok,
    )
    .await?;

    {
        let mut org = mission.sandbox.salesforce.store();
        for (sku, fields) in [
            (RENAMED, json!({"Status__c": "0"})),
            (COUNTED, json!({"Quantity__c": "99"})),
        ] {
            let id = source_item_id(&org, sku)?;
            org.update(
                "Inventory_Source_Item__c",
                &id,
                serde_json::from_value(fields).unwrap_or_default(),
            )
            .map_err(|e| MissionError::call("editing a Source Item", format!("{e:?}")))?;
        }
    }
    step(
        &mission,
        6,
        &format!("Edits in Salesforce: {RENAMED} set out of stock (Salesforce owns status: it stays), {COUNTED}'s quantity typed as 99 (ShipHero owns on hand: it is put back)"),
        &mut ok,
    )
    .await?;

    let holdings = Holdings::read(&mission)?;
    let disagreements = holdings.disagreements();
    let drift = mission.daemon.command(&["drift", LINK]).await?;
    println!(
        "\n`syncd drift {LINK}`:\n{}",
        String::from_utf8_lossy(&drift.stdout).trim_end()
    );
    let conflicts = mission.daemon.command(&["conflicts", LINK]).await?;
    println!(
        "\n`syncd conflicts {LINK}`:\n{}",
        String::from_utf8_lossy(&conflicts.stdout).trim_end()
    );
    if disagreements.is_empty() {
        println!(
            "\nEvery system agrees: {} products, {} sources (each a NewStore DC location), {} Source Items, {} positions in the ERP, NewStore and Fluent.",
            holdings.catalog.len(),
            holdings.sources.len(),
            holdings.source_items.len(),
            holdings.erp.len()
        );
    } else {
        println!("\nSystems that disagree:");
        for d in &disagreements {
            println!("  {d}");
        }
    }
    let outcome = DemoOutcome {
        runs_succeeded: ok,
        disagreements,
        link_in_sync: drift.status.success(),
    };
    mission.stop().await?;
    Ok(outcome)
}

pub(crate) fn source_item_id(
    org: &syncd_sandbox::salesforce::store::Store,
    sku: &str,
) -> Result<String, MissionError> {
    let query = syncd_sandbox::salesforce::soql::parse(
        "SELECT Id, Product__r.ProductCode, Inventory_Source_Field__r.Source_Code__c FROM Inventory_Source_Item__c",
    )
    .map_err(|e| MissionError::call("a SOQL query", format!("{e:?}")))?;
    let rows = org
        .run(&query, false, "62.0")
        .map_err(|e| MissionError::call("a SOQL query", format!("{e:?}")))?;
    rows.iter()
        .find(|r| {
            r["Product__r"]["ProductCode"] == sku
                && r["Inventory_Source_Field__r"]["Source_Code__c"]
                    == crate::mission::WAREHOUSE_SOURCE
        })
        .and_then(|r| r["Id"].as_str())
        .map(str::to_string)
        .ok_or_else(|| MissionError::call("finding a Source Item", format!("{sku} has none")))
}
