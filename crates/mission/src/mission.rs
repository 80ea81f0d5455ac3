//! The mission set up: the sandbox started and seeded as a merchant's systems are on day one,
//! the reference topology's config written for it, the daemon started on that config, and
//! Ergonode's app installed; then passes of every pipeline, run as the pace says.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use syncd_engine::RunReport;
use syncd_sandbox::ergonode::catalog::{Product, ProductValue};
use syncd_sandbox::ergonode::SyncKind;
use syncd_sandbox::Sandbox;

use crate::config::{self, Schedules, PIPELINES};
use crate::daemon::Daemon;
use crate::MissionError;

/// ShipHero's warehouse the example names (`Warehouse:4350`).
pub const WAREHOUSE: u64 = 4350;
/// The Magento source code of that warehouse's stock (the example's ShipHero `location`).
pub const WAREHOUSE_SOURCE: &str = "default";
/// The ERP's location: NewStore's fulfillment node and Fluent's location.
pub const STORE_NODE: &str = "DC01";
/// A SKU the warehouse and the ERP hold before the catalog has it (the catalog delta adds it).
pub const LATE_SKU: &str = "SKU-0100";
const ADMIN_TOKEN: &str = "mission-admin-token-0123456789";

/// How the daemon's runs happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// Each run asked for by `syncd trigger`, one pipeline after the other (no schedules).
    Triggered,
    /// The daemon's own cron, every pipeline once per `cycle_secs`, in pass order.
    Scheduled {
        /// Seconds per cycle (a divisor of 60).
        cycle_secs: u32,
    },
}

/// Where and how to play the mission.
#[derive(Clone, Debug)]
pub struct MissionOptions {
    /// The directory for config, state, files and the daemon's log (must not hold a state).
    pub dir: PathBuf,
    /// The `syncd` binary to run.
    pub syncd: PathBuf,
    /// How runs happen.
    pub pace: Pace,
}

/// The mission running: the sandbox, the daemon, and what was seeded.
pub struct Mission {
    /// Every simulator.
    pub sandbox: Sandbox,
    /// The daemon.
    pub daemon: Daemon,
    /// The directory everything is in.
    pub dir: PathBuf,
    /// How runs happen.
    pub pace: Pace,
    /// The SKUs that have stock (the catalog's simple products, and [`LATE_SKU`]).
    pub stock_skus: Vec<String>,
    counts_written: usize,
}

fn free_local_port() -> Result<SocketAddr, MissionError> {
    // Ergonode and ShipHero are given the public listener's address before the daemon starts.
    let probe = TcpListener::bind("127.0.0.1:0").map_err(|e| MissionError::io("127.0.0.1:0", e))?;
    probe
        .local_addr()
        .map_err(|e| MissionError::io("127.0.0.1:0", e))
}

/// Whether the daemon's log says a listener's address was in use.
fn port_taken(log: &Path) -> bool {
    std::fs::read_to_string(log).is_ok_and(|text| text.contains("in use"))
}

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The on hand the warehouse and the ERP start with for the `i`-th stock SKU.
fn first_count(i: usize) -> i64 {
    10 + (i as i64 * 7) % 23
}

impl Mission {
    /// Starts the sandbox, seeds it, writes the config, starts the daemon, and installs the
    /// app in Ergonode (which synchronizes nothing yet).
    pub async fn start(options: MissionOptions) -> Result<Self, MissionError> {
        let dir = options.dir;
        if dir.join("state").exists() {
            return Err(MissionError::Daemon(format!(
                "{} already holds a state: pick another directory or remove it",
                dir.display()
            )));
        }
        let counts = dir.join("counts");
        std::fs::create_dir_all(&counts).map_err(|e| MissionError::io(&counts, e))?;
        let sandbox = Sandbox::start()
            .await
            .map_err(|e| MissionError::call("starting the sandbox", e))?;
        let schedules = match options.pace {
            Pace::Triggered => Schedules::None,
            Pace::Scheduled { cycle_secs } => Schedules::Cycle { cycle_secs },
        };
        let config_path = dir.join("adapters.toml");

        let catalog = sandbox.ergonode.catalog();
        let mut stock_skus: Vec<String> = catalog
            .products
            .values()
            .filter(|p| p.kind == "SIMPLE-PRODUCT")
            .map(|p| p.sku.clone())
            .collect();
        stock_skus.push(LATE_SKU.to_string());
        {
            let mut org = sandbox.salesforce.store();
            for (name, code) in [("Warehouse", WAREHOUSE_SOURCE), ("Store DC", STORE_NODE)] {
                org.insert(
                    "Inventory_Source__c",
                    fields(json!({"Name": name, "Source_Code__c": code, "Enabled__c": "1"})),
                )
                .map_err(|e| {
                    MissionError::call("seeding Salesforce's sources", format!("{e:?}"))
                })?;
            }
        }
        let seeded: Vec<(&str, i64)> = stock_skus
            .iter()
            .enumerate()
            .map(|(i, sku)| (sku.as_str(), first_count(i)))
            .collect();
        sandbox.shiphero.seed_products(WAREHOUSE, &seeded);

        let log = dir.join("daemon.log");
        let mut attempt = 0;
        let daemon = loop {
            let public = free_local_port()?;
            let text = config::render(&sandbox, public, schedules)?;
            std::fs::write(&config_path, text).map_err(|e| MissionError::io(&config_path, e))?;
            let env = config::secrets(&sandbox, ADMIN_TOKEN);
            match Daemon::start(&options.syncd, &config_path, env, &log).await {
                // The port probed free was taken before the daemon bound it: probe again.
                Err(MissionError::Daemon(_)) if attempt < 2 && port_taken(&log) => attempt += 1,
                started => break started?,
            }
        };
        let mut mission = Mission {
            sandbox,
            daemon,
            dir,
            pace: options.pace,
            stock_skus,
            counts_written: 0,
        };
        let counts: Vec<(String, i64)> = mission
            .stock_skus
            .iter()
            .enumerate()
            .map(|(i, sku)| (sku.clone(), first_count(i)))
            .collect();
        mission.count_in_erp(&counts)?;
        mission.connect_vendors().await?;
        Ok(mission)
    }

    /// NewStore's event stream and Ergonode's app, pointed at the daemon's public listener.
    async fn connect_vendors(&self) -> Result<(), MissionError> {
        let public = &self.daemon.public;
        let http = reqwest::Client::new();
        let answer = http
            .put(format!(
                "{}/_sandbox/event_stream",
                self.sandbox.newstore.url()
            ))
            .json(&json!({
                "callback_url": format!("http://{public}/hooks/newstore/events"),
                "api_key": config::NEWSTORE_STREAM_KEY,
            }))
            .send()
            .await
            .map_err(|e| MissionError::call("NewStore's event stream", e))?;
        if !answer.status().is_success() {
            return Err(MissionError::call(
                "NewStore's event stream",
                answer.status(),
            ));
        }
        self.sandbox
            .ergonode
            .install(&format!("http://{public}/hooks/pim"))
            .await
            .map_err(|e| MissionError::call("installing the app in Ergonode", e))?;
        Ok(())
    }

    /// The directory's `path`.
    pub fn path(&self, path: &str) -> PathBuf {
        self.dir.join(path)
    }

    /// The config the daemon runs.
    pub fn config_path(&self) -> &Path {
        self.daemon.config()
    }

    /// Drops a counts file into the ERP's folder: each (SKU, on hand) at [`STORE_NODE`].
    pub fn count_in_erp(&mut self, counts: &[(String, i64)]) -> Result<(), MissionError> {
        self.counts_written += 1;
        let path = self
            .dir
            .join(format!("counts/{:04}.csv", self.counts_written));
        let mut csv = String::from("sku,location,on_hand\n");
        for (sku, on_hand) in counts {
            csv.push_str(&format!("{sku},{STORE_NODE},{on_hand}\n"));
        }
        // Written aside and renamed: the drop folder never sees half a file.
        let aside = self
            .dir
            .join(format!("counts/.{:04}.tmp", self.counts_written));
        std::fs::write(&aside, csv).map_err(|e| MissionError::io(&aside, e))?;
        std::fs::rename(&aside, &path).map_err(|e| MissionError::io(&path, e))
    }

    /// Ergonode synchronizes (`kind`) into the app.
    pub async fn synchronize_catalog(&self, kind: SyncKind) -> Result<(), MissionError> {
        let report = self
            .sandbox
            .ergonode
            .synchronize(kind)
            .await
            .map_err(|e| MissionError::call("an Ergonode synchronization", e))?;
        if !report.completed {
            return Err(MissionError::call(
                "an Ergonode synchronization",
                format!("did not complete: {report:?}"),
            ));
        }
        Ok(())
    }

    /// One pass: every pipeline once, in [`PIPELINES`] order, each run starting after the one
    /// before it finished (asked for, or waited for on the daemon's schedule).
    pub async fn pass(&self) -> Result<Vec<RunReport>, MissionError> {
        let mut reports = Vec::with_capacity(PIPELINES.len());
        let mut mark = now_rfc3339();
        for pipeline in PIPELINES {
            let report = match self.pace {
                Pace::Triggered => self.daemon.run(pipeline).await?,
                Pace::Scheduled { .. } => self.daemon.next_report(pipeline, &mark).await?,
            };
            mark = finished_at(&report);
            reports.push(report);
        }
        Ok(reports)
    }

    /// The English name Ergonode holds for `sku`.
    pub fn catalog_name(&self, sku: &str) -> Option<String> {
        english_name(self.sandbox.ergonode.catalog().products.get(sku)?)
    }

    /// Stops the daemon.
    pub async fn stop(self) -> Result<(), MissionError> {
        let status = self.daemon.stop().await?;
        if !status.success() {
            return Err(MissionError::Daemon(format!("exited with {status}")));
        }
        Ok(())
    }
}

/// The English name of a product of Ergonode's catalog.
pub fn english_name(product: &Product) -> Option<String> {
    match product.values.get("name")? {
        ProductValue::Local(by_language) => by_language
            .get("en_GB")
            .and_then(Value::as_str)
            .map(str::to_string),
        ProductValue::Global(value) => value.as_str().map(str::to_string),
    }
}

/// Now, as run reports write it.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// When the run of `report` finished, as run reports write times.
fn finished_at(report: &RunReport) -> String {
    chrono::DateTime::parse_from_rfc3339(&report.started_at)
        .map(|start| {
            (start + chrono::Duration::milliseconds(report.duration_ms as i64))
                .with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        })
        .unwrap_or_else(|_| report.started_at.clone())
}
