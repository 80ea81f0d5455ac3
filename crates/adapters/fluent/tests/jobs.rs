//! Fluent's one-job-a-day rule against the simulator: the job is reused across restarts and
//! replaced when Fluent closes it.

mod common;

use syncd_core::model::StockPosition;
use syncd_core::{Connector, EntityKind, Record, WriteOp, WriteOutcome};
use syncd_sandbox::fluent::{FluentSim, FluentSimConfig};

async fn write(connector: &dyn Connector, sku: &str, qty: i64) {
    let op = WriteOp::Upsert {
        record: Record::StockPosition(StockPosition::new(sku, "LOC_1", qty)),
    };
    let outcomes = connector
        .sink()
        .unwrap()
        .write_batch(EntityKind::StockPosition, &[op])
        .await
        .unwrap();
    assert!(matches!(outcomes[0], WriteOutcome::Applied), "{outcomes:?}");
}

#[tokio::test]
async fn todays_job_is_reused_across_restarts_and_replaced_once_fluent_closes_it() {
    let sim = FluentSim::start(FluentSimConfig {
        ..FluentSimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    common::connector(&sim, dir.path(), "")
        .check()
        .await
        .unwrap();

    write(common::connector(&sim, dir.path(), "").as_ref(), "A", 1).await;
    // A new process (a fresh connector over the same data dir) keeps batching into that job.
    write(common::connector(&sim, dir.path(), "").as_ref(), "B", 2).await;
    assert_eq!(sim.job_ids().len(), 1);

    sim.close_job(&sim.job_ids()[0]);
    let again = common::connector(&sim, dir.path(), "");
    write(again.as_ref(), "C", 3).await;
    assert_eq!(sim.job_ids().len(), 2, "a closed job is replaced");
    assert_eq!(
        sim.log().calls("GET /api/v4.1/job/{id}"),
        1,
        "the refusal was read against the job's status, not its wording"
    );
    write(again.as_ref(), "D", 4).await;
    assert_eq!(sim.job_ids().len(), 2);
    assert_eq!(sim.quantities().len(), 4);
}
