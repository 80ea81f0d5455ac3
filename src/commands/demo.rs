//! `syncd demo`: the sandbox in-process, an ERP drop folder of seeded positions, and a config
//! pointing at both; then a full reconciliation (ERP → Fluent, Fluent → storefront snapshot),
//! a change of a few positions and a second, incremental run, each with its report and the
//! vendor API calls it took; then NewStore's leg (`demo_newstore`); then the omnichannel
//! reference topology, every connector in one daemon (`syncd_mission::demo`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use syncd_core::model::StockPosition;
use syncd_sandbox::{data, Sandbox};

use crate::render;

/// The secret's environment variable the demo config names (secrets never go in the file).
const SECRET_ENV: &str = "SYNCD_DEMO_FLUENT_CLIENT_SECRET";
const PASSWORD_ENV: &str = "SYNCD_DEMO_FLUENT_PASSWORD";

fn write_csv(path: &Path, positions: &[StockPosition]) -> std::io::Result<()> {
    let mut csv = String::from("sku,location,on_hand,condition\n");
    for p in positions {
        csv.push_str(&format!("{},{},{},NEW\n", p.sku, p.location, p.on_hand));
    }
    // Whole files only: the drop folder ignores the temporary name.
    syncd_core::files::replace(path, csv.as_bytes())
}

fn config(sandbox: &Sandbox) -> String {
    let f = sandbox.fluent.config();
    format!(
        r#"# Written by `syncd demo`: the ERP's drop folder → Fluent (sandbox) → a storefront snapshot.
[daemon]
state_dir = "state"
admin_listen = "127.0.0.1:0"

[connectors.erp]
kind = "file"
read_dir = "erp-drop"

[connectors.fluent]
kind = "fluent"
base_url = "{url}"
account = "{account}"
retailer_id = {retailer}
client_id = "{client_id}"
client_secret = {{ env = "{SECRET_ENV}" }}
username = "{username}"
password = {{ env = "{PASSWORD_ENV}" }}

[connectors.shop]
kind = "file"
write_path = "shop/stock.jsonl"

[[pipelines]]
name = "erp-to-fluent"
from = "erp"
to = "fluent"
entity = "stock_position"
mode = "incremental"
schedule = "0 */5 * * * *"

[[pipelines]]
name = "fluent-to-shop"
from = "fluent"
to = "shop"
entity = "stock_position"
mode = "full"
delete_missing = true
schedule = "30 */5 * * * *"
"#,
        url = sandbox.fluent.url(),
        account = f.account,
        retailer = f.retailer_id,
        client_id = f.client_id,
        username = f.username,
    )
}

fn calls_table(sandbox: &Sandbox) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(["Fluent endpoint", "calls"]);
    for (endpoint, calls) in sandbox.fluent.log().snapshot() {
        table.add_row(vec![endpoint, calls.to_string()]);
    }
    table.to_string()
}

/// Runs the demo in `dir` (a fresh temp dir when none) with `positions` ERP positions.
pub async fn run(dir: Option<PathBuf>, positions: usize, fast: bool) -> anyhow::Result<ExitCode> {
    let dir = dir
        .unwrap_or_else(|| std::env::temp_dir().join(format!("syncd-demo-{}", std::process::id())));
    if dir.join("state").exists() {
        anyhow::bail!(
            "{} already holds a demo's state: pick another --dir or remove it",
            dir.display()
        );
    }
    for sub in ["erp-drop", "shop"] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("creating {}", dir.join(sub).display()))?;
    }
    let sandbox = Sandbox::start().await.context("starting the sandbox")?;
    let f = sandbox.fluent.config();
    // The config names these variables; the sandbox's credentials go there, not in the file.
    std::env::set_var(SECRET_ENV, &f.client_secret);
    std::env::set_var(PASSWORD_ENV, &f.password);
    let config_path = dir.join("adapters.toml");
    std::fs::write(&config_path, config(&sandbox))?;
    let stock = data::stock_positions(2026, positions, 4);
    write_csv(&dir.join("erp-drop/1-stock.csv"), &stock)?;
    println!("syncd demo in {}", dir.display());
    println!("  sandbox: fluent at {}", sandbox.fluent.url());
    println!("  config:  {}", config_path.display());
    println!(
        "  ERP drop: {} positions in erp-drop/1-stock.csv\n",
        stock.len()
    );

    let (config, topology) = match super::load(&config_path) {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let all: Vec<_> = topology.pipelines.iter().collect();
    println!("1. Full reconciliation: ERP → Fluent, then Fluent → storefront snapshot");
    let reports = super::once::run_in_order(&config, &all).await?;
    println!(
        "{}\n{}\n",
        render::reports_table(&reports),
        calls_table(&sandbox)
    );

    sandbox.fluent.log().reset();
    let changed = data::with_changes(stock.clone(), 7, 7);
    let delta: Vec<StockPosition> = changed
        .into_iter()
        .zip(&stock)
        .filter(|(new, old)| new != *old)
        .map(|(new, _)| new)
        .collect();
    write_csv(&dir.join("erp-drop/2-changes.csv"), &delta)?;
    println!(
        "2. The ERP drops {} changed positions; the next run sends only those",
        delta.len()
    );
    let reports2 = super::once::run_in_order(&config, &all).await?;
    println!(
        "{}\n{}",
        render::reports_table(&reports2),
        calls_table(&sandbox)
    );
    let held = sandbox.fluent.quantities().len();
    println!(
        "\nFluent now holds {held} positions; the storefront snapshot is {}",
        dir.join("shop/stock.jsonl").display()
    );
    let newstore_ok = super::demo_newstore::run(&dir, &sandbox).await?;
    drop(sandbox);

    println!("\n4. Every connector in one daemon");
    let mission = syncd_mission::demo::play(syncd_mission::MissionOptions {
        dir: dir.join("omnichannel"),
        syncd: std::env::current_exe().context("finding the syncd binary")?,
        pace: if fast {
            syncd_mission::Pace::Triggered
        } else {
            syncd_mission::Pace::Scheduled { cycle_secs: 30 }
        },
    })
    .await
    .context("the omnichannel topology")?;
    let ok = newstore_ok && mission.ok() && reports.iter().chain(&reports2).all(|r| r.succeeded());
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
