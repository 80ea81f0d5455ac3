//! `syncd demo`'s NewStore leg: seed 003's worked example and a few orders after it, played
//! through a real daemon (a child `syncd run`, whose public listener takes NewStore's webhooks)
//! against the sandbox's NewStore, with NewStore's on-hand, allocations and ATP after each
//! import.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use serde_json::{json, Value};
use syncd_sandbox::Sandbox;

use crate::daemon::pidfile::{self, RunningDaemon};
use crate::operate::remote::Remote;

const SECRET_ENV: &str = "SYNCD_DEMO_NEWSTORE_CLIENT_SECRET";
const HOOK_KEY_ENV: &str = "SYNCD_DEMO_NEWSTORE_HOOK_KEY";
/// The event stream's api key in the demo (sandbox only).
const HOOK_KEY: &str = "demo-newstore-stream-key";
const PRODUCT: &str = "P1";
const NODE: &str = "DC01";
const DEADLINE: Duration = Duration::from_secs(60);

fn config(sandbox: &Sandbox) -> String {
    let n = sandbox.newstore.config();
    format!(
        r#"# Written by `syncd demo`: NewStore's fulfillment events → the ERP's stock ledger → NewStore imports.
[daemon]
state_dir = "newstore-state"
admin_listen = "127.0.0.1:0"
public_listen = "127.0.0.1:0"

[connectors.newstore]
kind = "newstore"
tenant = "{tenant}"
api_base = "{api}"
token_url = "{token}"
client_id = "{client}"
client_secret = {{ env = "{SECRET_ENV}" }}
webhook_api_key = {{ env = "{HOOK_KEY_ENV}" }}

[connectors.erp]
kind = "file"
ledger_path = "erp-ledger.json"

[connectors.counts]
kind = "file"
read_dir = "erp-counts"

[[pipelines]]
name = "events-to-erp"
from = "newstore"
to = "erp"
entity = "fulfillment_event"
write_as = "stock_adjustment"

[[pipelines]]
name = "counts-to-erp"
from = "counts"
to = "erp"
entity = "stock_position"

[[pipelines]]
name = "stock-to-newstore"
from = "erp"
to = "newstore"
entity = "stock_position"
mode = "full"
"#,
        tenant = n.tenant,
        api = sandbox.newstore.url(),
        token = sandbox.newstore.token_url(),
        client = n.client_id,
    )
}

/// The daemon of the leg, stopped (SIGTERM) when dropped.
struct Daemon {
    child: Child,
    running: RunningDaemon,
    config: std::path::PathBuf,
    remote: Remote,
}

impl Daemon {
    async fn start(dir: &Path, config: &Path, sandbox: &Sandbox) -> anyhow::Result<Self> {
        let log = std::fs::File::create(dir.join("newstore-daemon.log"))?;
        let child = Command::new(std::env::current_exe()?)
            .args(["run", "--config"])
            .arg(config)
            .env(SECRET_ENV, &sandbox.newstore.config().client_secret)
            .env(HOOK_KEY_ENV, HOOK_KEY)
            .env_remove("NOTIFY_SOCKET")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting `syncd run` for the NewStore leg")?;
        let state_dir = dir.join("newstore-state");
        let since = Instant::now();
        let running = loop {
            if let Some(running) = pidfile::running(&state_dir) {
                break running;
            }
            anyhow::ensure!(
                since.elapsed() < DEADLINE,
                "the NewStore leg's daemon did not start: see {}",
                dir.join("newstore-daemon.log").display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        Ok(Daemon {
            child,
            remote: Remote::new(running.admin, None),
            running,
            config: config.to_path_buf(),
        })
    }

    /// Runs `pipeline` now and waits for its report.
    async fn run(&self, pipeline: &str) -> anyhow::Result<syncd_engine::RunReport> {
        let path = format!("/runs?pipeline={pipeline}&limit=1000");
        let before = self.remote.get::<Vec<Value>>(&path).await?.len();
        super::trigger::request(&self.config, &[pipeline.to_string()])?;
        let since = Instant::now();
        loop {
            let mut reports: Vec<syncd_engine::RunReport> = self.remote.get(&path).await?;
            if reports.len() > before {
                return reports.pop().context("a report");
            }
            anyhow::ensure!(since.elapsed() < DEADLINE, "{pipeline} did not finish");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: signals our own child; SIGTERM asks it to drain and exit.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let _ = self.child.wait();
    }
}

/// The sandbox tenant's controls (`/_sandbox/...`).
struct Tenant {
    http: reqwest::Client,
    base: String,
}

impl Tenant {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let answer = self
            .http
            .request(method, format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await?;
        let status = answer.status();
        let text = answer.text().await?;
        anyhow::ensure!(status.is_success(), "{path}: {status} {text}");
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, body).await
    }

    async fn stock(&self) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!(
                "{}/_sandbox/stock?product_id={PRODUCT}&fulfillment_node_id={NODE}",
                self.base
            ))
            .send()
            .await?
            .json()
            .await?)
    }
}

fn count(dir: &Path, on_hand: i64) -> anyhow::Result<()> {
    let n = std::fs::read_dir(dir.join("erp-counts"))?.count();
    syncd_core::files::replace(
        &dir.join(format!("erp-counts/{n:03}.csv")),
        format!("sku,location,on_hand\n{PRODUCT},{NODE},{on_hand}\n").as_bytes(),
    )?;
    Ok(())
}

fn ledger_on_hand(dir: &Path) -> anyhow::Result<i64> {
    let ledger: Value = serde_json::from_slice(&std::fs::read(dir.join("erp-ledger.json"))?)?;
    ledger["positions"]
        .as_array()
        .and_then(|positions| {
            positions
                .iter()
                .find(|p| p["sku"] == PRODUCT && p["location"] == NODE)
        })
        .and_then(|p| p["on_hand"].as_i64())
        .context("the ledger holds P1 at DC01")
}

/// One line of the leg's table, after an import.
async fn row(
    table: &mut Table,
    step: &str,
    dir: &Path,
    tenant: &Tenant,
    sandbox: &Sandbox,
) -> anyhow::Result<()> {
    let stock = tenant.stock().await?;
    let held: Vec<String> = stock["allocations"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|a| {
                    let request = a["fulfillment_request_id"].as_str().unwrap_or("?");
                    match a["completed_at"].as_u64() {
                        Some(at) => format!("{request} (shipped at {at})"),
                        None => format!("{request} (open)"),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let ranges: Vec<String> = sandbox
        .newstore
        .ranges()
        .iter()
        .map(|r| format!("{}–{}", r.from, r.to))
        .collect();
    table.add_row(vec![
        step.to_string(),
        ledger_on_hand(dir)?.to_string(),
        stock["on_hand"].to_string(),
        if held.is_empty() {
            "-".into()
        } else {
            held.join(", ")
        },
        stock["atp"].to_string(),
        ranges.join(", "),
    ]);
    Ok(())
}

/// Plays the leg in `dir`; prints the table and gives whether every run succeeded.
pub async fn run(dir: &Path, sandbox: &Sandbox) -> anyhow::Result<bool> {
    std::fs::create_dir_all(dir.join("erp-counts"))?;
    let config_path = dir.join("newstore.toml");
    std::fs::write(&config_path, config(sandbox))?;
    let daemon = Daemon::start(dir, &config_path, sandbox).await?;
    let tenant = Tenant {
        http: reqwest::Client::new(),
        base: sandbox.newstore.url(),
    };
    let public = daemon
        .running
        .public
        .context("the leg's daemon has a public listener")?;
    tenant
        .send(
            reqwest::Method::PUT,
            "/_sandbox/event_stream",
            json!({"callback_url": format!("http://{public}/hooks/newstore/events"), "api_key": HOOK_KEY}),
        )
        .await?;
    println!(
        "\n3. NewStore (seed 003): fulfillment events → the ERP's ledger → stock imports, each event at its own logical timestamp\n   config {}; daemon log {}",
        config_path.display(),
        dir.join("newstore-daemon.log").display()
    );
    let mut ok = true;
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "after",
        "ERP on hand",
        "NewStore on hand",
        "allocations",
        "ATP",
        "ranges",
    ]);

    // "Let's assume your product stock is 10."
    tenant
        .send(
            reqwest::Method::PUT,
            "/_sandbox/stock",
            json!({"product_id": PRODUCT, "fulfillment_node_id": NODE, "on_hand": 10}),
        )
        .await?;
    count(dir, 10)?;
    ok &= daemon.run("counts-to-erp").await?.succeeded();
    // ff1..ff4 assigned at 6..9; "ff1, ff2, ff3 were completed with logical timestamps 10, 11, 12".
    for (ff, at) in [("ff1", 6), ("ff2", 7), ("ff3", 8), ("ff4", 9)] {
        tenant
            .post(
                "/_sandbox/fulfillment_requests",
                json!({"id": ff, "fulfillment_location_id": NODE, "items": [{"product_id": PRODUCT}], "logical_timestamp": at}),
            )
            .await?;
    }
    for (ff, at) in [("ff1", 10), ("ff2", 11), ("ff3", 12)] {
        tenant
            .post(
                &format!("/_sandbox/fulfillment_requests/{ff}/complete"),
                json!({"logical_timestamp": at}),
            )
            .await?;
    }
    ok &= daemon.run("events-to-erp").await?.succeeded();
    // "Stock is imported with current on hand value set to 17".
    count(dir, 17)?;
    ok &= daemon.run("counts-to-erp").await?.succeeded();
    ok &= daemon.run("stock-to-newstore").await?.succeeded();
    row(
        &mut table,
        "seed: ff1–ff3 shipped (10–12), ERP 17",
        dir,
        &tenant,
        sandbox,
    )
    .await?;

    // Orders after it, each event at its own timestamp.
    tenant
        .post("/_sandbox/fulfillment_requests/ff4/complete", json!({}))
        .await?;
    tenant
        .post(
            "/_sandbox/fulfillment_requests",
            json!({"id": "ff5", "fulfillment_location_id": NODE, "items": [{"product_id": PRODUCT}]}),
        )
        .await?;
    tenant
        .post("/_sandbox/fulfillment_requests/ff5/complete", json!({}))
        .await?;
    tenant
        .post(
            "/_sandbox/fulfillment_requests",
            json!({"id": "ff6", "fulfillment_location_id": NODE, "items": [{"product_id": PRODUCT}, {"product_id": PRODUCT}]}),
        )
        .await?;
    ok &= daemon.run("events-to-erp").await?.succeeded();
    ok &= daemon.run("stock-to-newstore").await?.succeeded();
    row(
        &mut table,
        "ff4 shipped (13), ff5 (14, 15), ff6 in (16)",
        dir,
        &tenant,
        sandbox,
    )
    .await?;

    tenant
        .post("/_sandbox/fulfillment_requests/ff6/fail", json!({}))
        .await?;
    ok &= daemon.run("events-to-erp").await?.succeeded();
    ok &= daemon.run("stock-to-newstore").await?.succeeded();
    row(&mut table, "ff6 failed (17)", dir, &tenant, sandbox).await?;
    println!("{table}");
    println!("   ATP = NewStore on hand − allocations: each shipped item counted out once, in the ERP's stock;\n   a failed item's allocation NewStore releases itself.");
    drop(daemon);
    Ok(ok)
}
