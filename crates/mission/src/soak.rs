//! The soak: for a while, random changes on both sides of the link and through every webhook,
//! with the vendors failing as vendors do (5xx, 429 with `Retry-After`, tokens expiring,
//! NewStore events and Ergonode's calls duplicated and delivered out of order), a pass of every
//! pipeline between bursts. Then the faults stop, the withheld events arrive, and the daemon is given passes
//! until one writes nothing. What must then hold is checked by [`SoakOutcome::violations`]:
//! no ping-pong (no pipeline calls its target more often than changes came upstream of it, and
//! the link writes no more records than changes came on its sides), everything converged, no
//! allocation removed twice, no negative ATP, and every shipped item counted out of the ERP
//! exactly once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;
use syncd_engine::RunReport;
use syncd_sandbox::ergonode::{Change, SyncKind};
use syncd_sandbox::{FaultPlan, FaultSpec};

use crate::config::LINK;
use crate::holdings::Holdings;
use crate::mission::{Mission, WAREHOUSE};
use crate::orders::Orders;
use crate::MissionError;

/// How long and how hard to soak.
#[derive(Clone, Debug)]
pub struct SoakOptions {
    /// How long changes keep coming.
    pub duration: Duration,
    /// Seeds every random choice (and the vendors' faults).
    pub seed: u64,
    /// Vendor faults while changes come.
    pub faults: bool,
    /// Most passes given to converge after the changes stop.
    pub settle_passes: usize,
}

impl Default for SoakOptions {
    fn default() -> Self {
        SoakOptions {
            duration: Duration::from_secs(20),
            seed: 7,
            faults: true,
            settle_passes: 6,
        }
    }
}

/// Changes made, by kind.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Changes {
    /// ShipHero counts (on hand set in the warehouse).
    pub warehouse_counts: u64,
    /// Salesforce Source Item statuses changed.
    pub salesforce_statuses: u64,
    /// Salesforce Source Item quantities typed (ShipHero owns them: put back).
    pub salesforce_quantities: u64,
    /// Products renamed in Ergonode.
    pub catalog_renames: u64,
    /// NewStore fulfillment events (assignments, completions, failures).
    pub order_events: u64,
    /// NewStore events posted again (duplicates) or late (out of order).
    pub redeliveries: u64,
}

impl Changes {
    /// Changes on the link's two sides.
    pub fn on_link(&self) -> u64 {
        self.warehouse_counts + self.salesforce_statuses + self.salesforce_quantities
    }

    /// Every change made in a source system (redeliveries are not changes).
    pub fn total(&self) -> u64 {
        self.on_link() + self.catalog_renames + self.order_events
    }
}

/// What the soak did and found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SoakOutcome {
    /// Changes made.
    pub changes: Changes,
    /// Passes while changes came, and after.
    pub passes: u64,
    /// Runs that ended failed (faults) while changes came.
    pub failed_runs: u64,
    /// Write calls by pipeline, from the first change to convergence.
    pub write_calls: BTreeMap<String, u64>,
    /// Of those, calls that repeated one a vendor had refused (5xx, 429) or made after waiting
    /// out a rate limit: the faults' cost, not the daemon's choice.
    pub repeated_calls: BTreeMap<String, u64>,
    /// Records written by pipeline, from the first change to convergence.
    pub written: BTreeMap<String, u64>,
    /// Records written by the link's two pipelines.
    pub link_written: u64,
    /// Vendor API calls (reads and writes) by vendor, from the first change to convergence.
    pub vendor_calls: BTreeMap<String, u64>,
    /// Write calls of the quiet pass after convergence (must be 0).
    pub quiet_write_calls: u64,
    /// Vendor API calls of that quiet pass, by vendor (reads: polls are calls too).
    pub quiet_vendor_calls: BTreeMap<String, u64>,
    /// Conflicts the runs counted on the link.
    pub conflicts_counted: u64,
    /// Conflicts `syncd conflicts --json` lists for the link.
    pub conflicts_listed: u64,
    /// Completion timestamps whose allocations NewStore removed more often than items shipped.
    pub removed_twice: Vec<u64>,
    /// Shipped items whose allocation is still held after convergence.
    pub shipped_still_held: u64,
    /// The lowest ATP NewStore showed after any pass.
    pub lowest_atp: i64,
    /// SKUs whose ERP on hand is not their first count less what shipped.
    pub erp_miscounted: Vec<String>,
    /// Where systems disagree after convergence.
    pub disagreements: Vec<String>,
    /// Where a system does not hold what the side owning the field last set.
    pub owner_lost: Vec<String>,
    /// Passes it took to converge.
    pub settle_passes: u64,
}

impl SoakOutcome {
    /// The changes that can make `pipeline` write: those made in the systems upstream of it.
    pub fn changes_upstream_of(&self, pipeline: &str) -> u64 {
        let c = &self.changes;
        match pipeline {
            "catalog-to-salesforce" => c.catalog_renames,
            "warehouse-to-salesforce" | "salesforce-to-warehouse" => c.on_link(),
            "orders-to-erp" | "erp-to-newstore" | "erp-to-fluent" => c.order_events,
            _ => 0,
        }
    }

    /// Every property that failed, one line each; empty when the soak passed.
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        // No ping-pong: each pipeline calls its target at most once per change upstream of it
        // (a pass batches what changed; an echo written back would be a call with no change).
        for (pipeline, calls) in &self.write_calls {
            let repeated = self.repeated_calls.get(pipeline).copied().unwrap_or(0);
            let first = calls.saturating_sub(repeated);
            let changes = self.changes_upstream_of(pipeline);
            if first > changes {
                out.push(format!(
                    "ping-pong: {pipeline} made {first} write calls (repeats after faults aside) for {changes} changes upstream"
                ));
            }
        }
        if self.link_written > self.changes.on_link() {
            out.push(format!(
                "ping-pong on the link: {} records written for {} changes on its sides",
                self.link_written,
                self.changes.on_link()
            ));
        }
        if self.quiet_write_calls != 0 {
            out.push(format!(
                "a quiet pass made {} write calls",
                self.quiet_write_calls
            ));
        }
        if self.conflicts_counted != self.conflicts_listed {
            out.push(format!(
                "runs counted {} conflicts, the log lists {}",
                self.conflicts_counted, self.conflicts_listed
            ));
        }
        if !self.removed_twice.is_empty() {
            out.push(format!(
                "allocations removed twice at {:?}",
                self.removed_twice
            ));
        }
        if self.shipped_still_held != 0 {
            out.push(format!(
                "{} shipped items still allocated",
                self.shipped_still_held
            ));
        }
        if self.lowest_atp < 0 {
            out.push(format!("NewStore showed ATP {}", self.lowest_atp));
        }
        for sku in &self.erp_miscounted {
            out.push(format!("the ERP miscounts {sku}"));
        }
        out.extend(self.disagreements.iter().cloned());
        out.extend(self.owner_lost.iter().cloned());
        out
    }
}

fn faulty(seed: u64) -> FaultPlan {
    FaultPlan {
        seed,
        default: FaultSpec {
            error_rate: 0.04,
            rate_limit_rate: 0.03,
            retry_after_secs: 1,
            ..FaultSpec::default()
        },
        endpoints: BTreeMap::new(),
        expire_tokens_after: Some(40),
    }
}

fn set_faults(mission: &Mission, plan: impl Fn(u64) -> FaultPlan) {
    let s = &mission.sandbox;
    // Ergonode's calls to the app: a third sent twice, each phase's calls shuffled.
    let faulty = plan(0) != FaultPlan::none();
    s.ergonode
        .set_delivery(syncd_sandbox::ergonode::DeliveryFaults {
            duplicate_rate: if faulty { 0.3 } else { 0.0 },
            reorder: faulty,
        });
    s.salesforce.set_faults(plan(1));
    s.shiphero.set_faults(plan(2));
    s.newstore.set_faults(plan(3));
    s.fluent.set_faults(plan(4));
}

struct Totals<'a> {
    outcome: &'a mut SoakOutcome,
}

impl Totals<'_> {
    fn add(&mut self, reports: &[RunReport]) {
        for r in reports {
            *self
                .outcome
                .write_calls
                .entry(r.pipeline.clone())
                .or_default() += r.write_calls;
            *self
                .outcome
                .repeated_calls
                .entry(r.pipeline.clone())
                .or_default() += r.retries + r.rate_limit_waits;
            *self.outcome.written.entry(r.pipeline.clone()).or_default() += r.written + r.deleted;
            if matches!(
                r.pipeline.as_str(),
                "warehouse-to-salesforce" | "salesforce-to-warehouse"
            ) {
                self.outcome.link_written += r.written + r.deleted;
                self.outcome.conflicts_counted += r.conflicts;
            }
        }
        self.outcome.passes += 1;
    }
}

/// Soaks a started mission (its day one already synced); gives what it found.
pub async fn soak(
    mission: &mut Mission,
    options: &SoakOptions,
) -> Result<SoakOutcome, MissionError> {
    let mut rng = fastrand::Rng::with_seed(options.seed);
    let mut outcome = SoakOutcome {
        lowest_atp: i64::MAX,
        ..SoakOutcome::default()
    };
    let first_erp = Holdings::read(mission)?.erp;
    let mut orders = Orders::new(mission.sandbox.newstore.url());
    let mut withheld: Vec<u64> = Vec::new();
    let mut delivered: Vec<u64> = Vec::new();
    let mut counted: BTreeMap<String, i64> = BTreeMap::new();
    let mut statuses: BTreeMap<String, String> = BTreeMap::new();
    let skus: Vec<String> = mission
        .stock_skus
        .iter()
        .filter(|s| mission.catalog_name(s).is_some())
        .cloned()
        .collect();
    for (_, log) in vendor_logs(mission) {
        log.reset();
    }
    if options.faults {
        set_faults(mission, faulty);
    }
    let started = Instant::now();
    let mut renames = 0u32;
    while started.elapsed() < options.duration {
        for _ in 0..rng.usize(1..6) {
            let sku = skus[rng.usize(..skus.len())].clone();
            match rng.u8(..10) {
                0 | 1 => {
                    let on_hand = rng.i64(0..60);
                    if mission.sandbox.shiphero.on_hand(WAREHOUSE, &sku) != Some(on_hand) {
                        mission
                            .sandbox
                            .shiphero
                            .seed_products(WAREHOUSE, &[(&sku, on_hand)]);
                        counted.insert(sku, on_hand);
                        outcome.changes.warehouse_counts += 1;
                    }
                }
                2 => {
                    let status = if rng.bool() { "1" } else { "0" };
                    if edit_source_item(mission, &sku, json!({"Status__c": status}))? {
                        statuses.insert(sku, status.to_string());
                        outcome.changes.salesforce_statuses += 1;
                    }
                }
                3 => {
                    if edit_source_item(
                        mission,
                        &sku,
                        json!({"Quantity__c": rng.i64(100..200).to_string()}),
                    )? {
                        outcome.changes.salesforce_quantities += 1;
                    }
                }
                4 => {
                    renames += 1;
                    mission
                        .sandbox
                        .ergonode
                        .change(&[Change::SetValue {
                            sku: sku.clone(),
                            attribute: "name".into(),
                            language: Some("en_GB".into()),
                            value: json!(format!("{sku} (edition {renames})")),
                        }])
                        .map_err(|e| MissionError::call("editing Ergonode's catalog", e))?;
                    mission.synchronize_catalog(SyncKind::Delta).await?;
                    outcome.changes.catalog_renames += 1;
                }
                5..=7 => {
                    // Three best sellers take most orders, so that their stock sells down to
                    // nothing and ATP is tested at zero. A storefront sells only what NewStore
                    // shows available, up to three items an order.
                    let sku = if rng.bool() {
                        skus[rng.usize(..3.min(skus.len()))].clone()
                    } else {
                        sku
                    };
                    let stock = mission
                        .sandbox
                        .newstore
                        .stock(&sku, crate::mission::STORE_NODE);
                    let items = rng.i64(1..=3).min(stock.atp());
                    if items > 0 {
                        let deliver = rng.u8(..4) != 0;
                        let (_, lts) = orders.assign(&sku, items, deliver).await?;
                        note(&mut withheld, &mut delivered, lts, deliver);
                        outcome.changes.order_events += 1;
                    }
                }
                _ => {
                    let open = orders.open();
                    if !open.is_empty() {
                        let request = &open[rng.usize(..open.len())];
                        let deliver = rng.u8(..4) != 0;
                        let lts = orders
                            .finish(&request.id, rng.u8(..4) != 0, deliver)
                            .await?;
                        note(&mut withheld, &mut delivered, lts, deliver);
                        outcome.changes.order_events += 1;
                    }
                }
            }
        }
        // Duplicates of events already delivered, and some withheld ones, late and shuffled.
        if !delivered.is_empty() && rng.bool() {
            orders
                .redeliver(delivered[rng.usize(..delivered.len())])
                .await?;
            outcome.changes.redeliveries += 1;
        }
        if withheld.len() > 2 && rng.bool() {
            rng.shuffle(&mut withheld);
            let late = withheld.pop().unwrap_or_default();
            orders.redeliver(late).await?;
            delivered.push(late);
            outcome.changes.redeliveries += 1;
        }
        if options.faults && rng.u8(..8) == 0 {
            mission.sandbox.salesforce.expire_sessions();
            mission.sandbox.shiphero.expire_tokens();
        }
        let reports = mission.pass().await?;
        outcome.failed_runs += reports.iter().filter(|r| !r.succeeded()).count() as u64;
        Totals {
            outcome: &mut outcome,
        }
        .add(&reports);
        lowest_atp(mission, &mut outcome);
    }

    // The changes stop; the vendors heal; what the stream held back arrives, in any order.
    set_faults(mission, |_| FaultPlan::none());
    rng.shuffle(&mut withheld);
    for lts in withheld.drain(..) {
        orders.redeliver(lts).await?;
        outcome.changes.redeliveries += 1;
    }
    for pass in 1..=options.settle_passes {
        let reports = mission.pass().await?;
        Totals {
            outcome: &mut outcome,
        }
        .add(&reports);
        lowest_atp(mission, &mut outcome);
        outcome.settle_passes = pass as u64;
        let wrote: u64 = reports.iter().map(|r| r.write_calls).sum();
        if wrote == 0 && reports.iter().all(|r| r.succeeded() && r.pending == 0) {
            break;
        }
    }

    for (vendor, log) in vendor_logs(mission) {
        outcome
            .vendor_calls
            .insert(vendor.to_string(), log.snapshot().values().sum());
    }
    // A quiet period: nothing changes, so nothing is written.
    for (_, log) in vendor_logs(mission) {
        log.reset();
    }
    let quiet = mission.pass().await?;
    outcome.quiet_write_calls = quiet.iter().map(|r| r.write_calls).sum();
    for (vendor, log) in vendor_logs(mission) {
        outcome
            .quiet_vendor_calls
            .insert(vendor.to_string(), log.snapshot().values().sum());
    }

    let listed = mission
        .daemon
        .command(&["conflicts", "--json", LINK])
        .await?;
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout)
        .map_err(|e| MissionError::call("syncd conflicts --json", e))?;
    outcome.conflicts_listed = listed.as_array().map_or(0, |a| a.len() as u64);

    let removals = mission.sandbox.newstore.removals();
    for (lts, removed) in &removals {
        if *removed > orders.completions().get(lts).copied().unwrap_or(0) {
            outcome.removed_twice.push(*lts);
        }
    }
    let shipped_items: u64 = orders.completions().values().sum();
    let removed_items: u64 = removals.values().sum();
    outcome.shipped_still_held = shipped_items.saturating_sub(removed_items);

    let holdings = Holdings::read(mission)?;
    for (sku, first) in &first_erp {
        let expected = first - orders.shipped().get(sku).copied().unwrap_or(0);
        if holdings.erp.get(sku) != Some(&expected) {
            outcome.erp_miscounted.push(format!(
                "{sku} (first count {first}, shipped {}, holds {:?})",
                orders.shipped().get(sku).copied().unwrap_or(0),
                holdings.erp.get(sku)
            ));
        }
    }
    for (sku, stock) in &holdings.newstore {
        if stock.allocations != orders.open_items(sku) {
            outcome.owner_lost.push(format!(
                "{sku}: NewStore holds {} allocations, {} items are open",
                stock.allocations,
                orders.open_items(sku)
            ));
        }
    }
    for (sku, on_hand) in &counted {
        if holdings.warehouse.get(sku) != Some(on_hand) {
            outcome.owner_lost.push(format!(
                "{sku}: ShipHero was counted at {on_hand}, holds {:?}",
                holdings.warehouse.get(sku)
            ));
        }
    }
    for (sku, status) in &statuses {
        if holdings.source_items.get(sku).map(|i| &i.status) != Some(status) {
            outcome.owner_lost.push(format!(
                "{sku}: Salesforce set status {status}, holds {:?}",
                holdings.source_items.get(sku)
            ));
        }
    }
    outcome.disagreements = holdings.disagreements();
    Ok(outcome)
}

fn note(withheld: &mut Vec<u64>, delivered: &mut Vec<u64>, lts: u64, was_delivered: bool) {
    if was_delivered {
        delivered.push(lts);
    } else {
        withheld.push(lts);
    }
}

fn lowest_atp(mission: &Mission, outcome: &mut SoakOutcome) {
    for (_, _, entry) in mission.sandbox.newstore.positions() {
        outcome.lowest_atp = outcome.lowest_atp.min(entry.atp());
    }
}

/// The request logs of the vendors the daemon calls (Ergonode calls the daemon instead).
fn vendor_logs(mission: &Mission) -> [(&'static str, &syncd_sandbox::RequestLog); 4] {
    let s = &mission.sandbox;
    [
        ("salesforce", s.salesforce.log()),
        ("shiphero", s.shiphero.log()),
        ("newstore", s.newstore.log()),
        ("fluent", s.fluent.log()),
    ]
}

/// Sets `fields` on the Source Item of `sku` at the warehouse's source, as a user editing it
/// in Salesforce would; false when it has none yet.
fn edit_source_item(
    mission: &Mission,
    sku: &str,
    fields: serde_json::Value,
) -> Result<bool, MissionError> {
    let mut org = mission.sandbox.salesforce.store();
    let Some(id) = crate::demo::source_item_id(&org, sku).ok() else {
        return Ok(false);
    };
    org.update(
        "Inventory_Source_Item__c",
        &id,
        serde_json::from_value(fields).unwrap_or_default(),
    )
    .map_err(|e| MissionError::call("editing a Source Item", format!("{e:?}")))?;
    Ok(true)
}
