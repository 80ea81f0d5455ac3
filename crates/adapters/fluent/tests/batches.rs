//! One write against the Fluent simulator, record by record: every page of a batch's results is
//! read, a record no result names is read back before it counts as written, and a write larger
//! than Fluent's 2 MB request limit goes out as several batches.

mod common;

use std::collections::HashSet;

use syncd_core::model::StockPosition;
use syncd_core::{Connector, EntityKind, ErrorClass, Record, WriteOp, WriteOutcome};
use syncd_sandbox::fluent::{FluentSim, FluentSimConfig};

fn upserts(positions: Vec<StockPosition>) -> Vec<WriteOp> {
    positions
        .into_iter()
        .map(|p| WriteOp::Upsert {
            record: Record::StockPosition(p),
        })
        .collect()
}

async fn write(connector: &dyn Connector, ops: &[WriteOp]) -> Vec<WriteOutcome> {
    connector
        .sink()
        .unwrap()
        .write_batch(EntityKind::StockPosition, ops)
        .await
        .unwrap()
}

fn sku(i: usize) -> String {
    format!("S{i:04}")
}

#[tokio::test]
async fn failures_on_the_last_page_of_a_5000_entity_batch_are_reported_not_taken_as_written() {
    // Every record gets a result here, so a 5000-entity batch has five pages of them; the
    // failures are the last records, on the last page.
    let sim = FluentSim::start(FluentSimConfig {
        results_for_all: true,
        failing_skus: [sku(4998)].into(),
        known_locations: Some(["LOC_1".to_string()].into()),
        ..FluentSimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let positions: Vec<StockPosition> = (0..5000)
        .map(|i| StockPosition::new(sku(i), if i == 4999 { "NOWHERE" } else { "LOC_1" }, 1))
        .collect();
    let outcomes = write(
        common::connector(&sim, dir.path(), "").as_ref(),
        &upserts(positions),
    )
    .await;
    assert_eq!(sim.log().calls("POST /api/v4.1/job/{id}/batch"), 1);
    assert!(
        sim.log().calls("GET /api/v4.1/job/{id}/batch/{batch_id}") >= 5,
        "every page read: {:?}",
        sim.log().snapshot()
    );
    let failed: Vec<(usize, ErrorClass)> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            WriteOutcome::Failed(e) => Some((i, e.class())),
            _ => None,
        })
        .collect();
    assert_eq!(
        failed,
        [(4998, ErrorClass::Retryable), (4999, ErrorClass::Permanent)],
        "500 is retried, 404 (dependent record missing) is the record's"
    );
    assert_eq!(sim.quantities().len(), 4998);
}

#[tokio::test]
async fn a_record_no_result_names_is_read_back_before_it_counts_as_written() {
    // Fluent lists failures only, and ignores a nonconforming record without a result.
    let sim = FluentSim::start(FluentSimConfig {
        ignored_skus: HashSet::from(["GHOST".to_string()]),
        ..FluentSimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ops = upserts(vec![
        StockPosition::new("A", "LOC_1", 5),
        StockPosition::new("GHOST", "LOC_1", 5),
        StockPosition::new("B", "LOC_1", 0),
    ]);
    let outcomes = write(common::connector(&sim, dir.path(), "").as_ref(), &ops).await;
    assert!(matches!(outcomes[0], WriteOutcome::Applied), "{outcomes:?}");
    assert!(matches!(outcomes[2], WriteOutcome::Applied), "{outcomes:?}");
    match &outcomes[1] {
        WriteOutcome::Failed(e) => {
            assert_eq!(e.class(), ErrorClass::Retryable);
            assert!(e.to_string().contains("no result"), "{e}");
        }
        other => panic!("the ignored record counted as {other:?}"),
    }
    assert!(sim.log().calls("POST /graphql") >= 1, "read back");
}

#[tokio::test]
async fn a_write_over_fluents_two_megabyte_limit_goes_out_as_several_batches() {
    let sim = FluentSim::start(FluentSimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let note = serde_json::Value::String("x".repeat(1000));
    let positions: Vec<StockPosition> = (0..4000)
        .map(|i| {
            let mut p = StockPosition::new(sku(i), "LOC_1", 1);
            p.attributes.insert("note".into(), note.clone());
            p
        })
        .collect();
    let outcomes = write(
        common::connector(&sim, dir.path(), "").as_ref(),
        &upserts(positions),
    )
    .await;
    assert!(outcomes.iter().all(|o| matches!(o, WriteOutcome::Applied)));
    assert!(sim.log().calls("POST /api/v4.1/job/{id}/batch") >= 2);
    assert_eq!(sim.quantities().len(), 4000);
}

#[tokio::test]
async fn the_sources_correction_goes_out_and_the_seeds_retailer_and_catalogue_work() {
    let sim = FluentSim::start(FluentSimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let connector = common::connector(
        &sim,
        dir.path(),
        "retailer_id = 2\ncatalogue_ref = 'FUTURE:2'\ninventory_type = 'FUTURE'\nrelated_quantities = [{ type = 'SALE', status = 'ACTIVE' }]",
    );
    let mut p = StockPosition::new("D45", "LOC_MEL", 350);
    p.corrected = Some(4);
    let outcomes = write(connector.as_ref(), &upserts(vec![p])).await;
    assert!(matches!(outcomes[0], WriteOutcome::Applied), "{outcomes:?}");
    // The seed's example: retailer 2, catalogue FUTURE:2, a FUTURE quantity.
    let held = sim.quantities();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (
            held[0].catalogue_ref.as_str(),
            held[0].kind.as_str(),
            held[0].qty,
            held[0].corrected_qty
        ),
        ("FUTURE:2", "FUTURE", 350, 4)
    );
}
