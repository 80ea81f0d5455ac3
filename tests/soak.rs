//! The soak (issue: "echo suppression and field ownership under a soak"): the omnichannel
//! topology on the sandbox, worked by a real `syncd run`, while random changes come on both
//! sides of the Salesforce ⇄ ShipHero link and through NewStore's event stream (duplicated and
//! out of order), and the vendors answer 5xx, 429 with `Retry-After`, and expire tokens. The
//! longer variant is `cargo bench --bench soak`.

use std::time::Duration;

use syncd_mission::soak::{soak, SoakOptions};
use syncd_mission::{Mission, MissionOptions, Pace};
use syncd_sandbox::ergonode::SyncKind;

fn seconds() -> u64 {
    std::env::var("SYNCD_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_random_changes_and_vendor_faults_the_topology_converges_with_no_ping_pong_no_loss_and_no_double_count(
) {
    let dir = tempfile::tempdir().unwrap();
    let mut mission = Mission::start(MissionOptions {
        dir: dir.path().join("mission"),
        syncd: env!("CARGO_BIN_EXE_syncd").into(),
        pace: Pace::Triggered,
    })
    .await
    .unwrap();
    mission.synchronize_catalog(SyncKind::Full).await.unwrap();
    let day_one = mission.pass().await.unwrap();
    assert!(
        day_one.iter().all(|r| r.succeeded()),
        "{day_one:#?}\n{}",
        std::fs::read_to_string(mission.daemon.log()).unwrap_or_default()
    );

    let options = SoakOptions {
        duration: Duration::from_secs(seconds()),
        seed: std::env::var("SYNCD_SOAK_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(7),
        ..SoakOptions::default()
    };
    let outcome = soak(&mut mission, &options).await.unwrap();
    let figures = serde_json::to_string_pretty(&outcome).unwrap();
    println!("{figures}");
    // The soak made changes of every kind, so that the properties below say something.
    let c = &outcome.changes;
    assert!(
        c.warehouse_counts > 0 && c.salesforce_statuses + c.salesforce_quantities > 0,
        "{figures}"
    );
    assert!(c.order_events > 0 && c.redeliveries > 0, "{figures}");
    // "write calls ≤ the number of source changes, and a quiet period produces 0 calls"; the
    // end state converged; no allocation removed twice; no negative ATP.
    let violations = outcome.violations();
    assert!(
        violations.is_empty(),
        "{}\n{figures}\n{}",
        violations.join("\n"),
        std::fs::read_to_string(mission.daemon.log()).unwrap_or_default()
    );
    mission.stop().await.unwrap();
}
