//! The long soak: `cargo bench --bench soak` (`SYNCD_SOAK_SECS`, default 120; `SYNCD_SOAK_SEED`).
//! The omnichannel topology on the sandbox under random changes on both sides of the link and
//! through NewStore's event stream, with vendor faults, then convergence and a quiet pass. It
//! prints the figures (changes, write calls, records written, passes to converge, the quiet
//! pass's calls) as a table and as one JSON line, and exits non-zero if a property failed.

mod common;

use std::time::{Duration, Instant};

use syncd_mission::soak::{soak, SoakOptions};
use syncd_mission::{Mission, MissionOptions, Pace};
use syncd_sandbox::ergonode::SyncKind;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        // `cargo test --benches` asks benches to list their tests; this one has none.
        return;
    }
    let secs = env_u64("SYNCD_SOAK_SECS", 120);
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut mission = Mission::start(MissionOptions {
        dir: dir.path().join("mission"),
        syncd: env!("CARGO_BIN_EXE_syncd").into(),
        pace: Pace::Triggered,
    })
    .await
    .expect("the mission starts");
    mission
        .synchronize_catalog(SyncKind::Full)
        .await
        .expect("Ergonode's full synchronization");
    mission.pass().await.expect("day one");
    let started = Instant::now();
    let outcome = soak(
        &mut mission,
        &SoakOptions {
            duration: Duration::from_secs(secs),
            seed: env_u64("SYNCD_SOAK_SEED", 7),
            settle_passes: 10,
            ..SoakOptions::default()
        },
    )
    .await
    .expect("the soak runs");
    let wall = started.elapsed();
    let calls: u64 = outcome.write_calls.values().sum();
    let written: u64 = outcome.written.values().sum();
    println!(
        "soak: {secs} s of changes, seed {}",
        env_u64("SYNCD_SOAK_SEED", 7)
    );
    println!("| figure | value |\n|---|---|");
    for (figure, value) in [
        (
            "changes made (source systems)",
            outcome.changes.total().to_string(),
        ),
        (
            "  of which on the link's sides",
            outcome.changes.on_link().to_string(),
        ),
        (
            "NewStore events redelivered (duplicates, late)",
            outcome.changes.redeliveries.to_string(),
        ),
        ("passes", outcome.passes.to_string()),
        (
            "runs failed by vendor faults",
            outcome.failed_runs.to_string(),
        ),
        ("write calls", calls.to_string()),
        (
            "write calls per change",
            format!(
                "{:.3}",
                calls as f64 / outcome.changes.total().max(1) as f64
            ),
        ),
        ("records written", written.to_string()),
        (
            "records written on the link / link changes",
            format!("{} / {}", outcome.link_written, outcome.changes.on_link()),
        ),
        (
            "passes to converge after the changes",
            outcome.settle_passes.to_string(),
        ),
        (
            "quiet pass: write calls",
            outcome.quiet_write_calls.to_string(),
        ),
        (
            "quiet pass: vendor calls (reads)",
            format!("{:?}", outcome.quiet_vendor_calls),
        ),
        ("lowest NewStore ATP seen", outcome.lowest_atp.to_string()),
        ("wall time", format!("{:.1} s", wall.as_secs_f64())),
    ] {
        println!("| {figure} | {value} |");
    }
    println!(
        "{}",
        serde_json::json!({"bench": "soak", "seconds": secs, "outcome": outcome, "wall_secs": wall.as_secs_f64()})
    );
    for (vendor, calls) in &outcome.vendor_calls {
        common::figure(
            "soak",
            &format!("{vendor}: API calls per change (soak, faults on)"),
            serde_json::json!({
                "syncd_calls_per_change": *calls as f64 / outcome.changes.total().max(1) as f64,
                "calls": calls,
                "changes": outcome.changes.total(),
            }),
        );
    }
    common::figure(
        "soak",
        "write calls per change (soak, faults on)",
        serde_json::json!({
            "syncd_calls_per_change": calls as f64 / outcome.changes.total().max(1) as f64,
            "quiet_write_calls": outcome.quiet_write_calls,
        }),
    );
    let violations = outcome.violations();
    mission.stop().await.expect("the daemon stops");
    if !violations.is_empty() {
        eprintln!("soak failed:\n{}", violations.join("\n"));
        std::process::exit(1);
    }
}
