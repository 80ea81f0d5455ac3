//! The conformance cases. Each panics with a message naming the broken rule.

use std::collections::HashSet;
use std::sync::Arc;

use syncd_core::{
    BuildContext, ConfigSection, Connector, Cursor, KeyNeed, ReadMode, ReadRequest, Record,
    RecordKey, WriteOp, WriteOutcome,
};
use syncd_engine::checkpoint::AckTracker;
use syncd_engine::{ConnectorHandle, NoProgress, Pipeline, PipelineConfig, RetryConfig};
use syncd_store::{cursors, dead_letters, outbox, SledStore, StateStore};

use crate::fixture::FixtureSource;
use crate::subject::Subject;

fn build(subject: &dyn Subject, name: &str, section: ConfigSection) -> Arc<dyn Connector> {
    let data_dir = subject.data_dir().join(name);
    let base_dir = subject.data_dir();
    match subject.factory().build(BuildContext {
        name: name.to_string(),
        section,
        data_dir,
        base_dir,
    }) {
        Ok(c) => c,
        Err(errors) => panic!("a valid config was refused: {errors:?}"),
    }
}

async fn read_all_from(
    connector: &dyn Connector,
    subject: &dyn Subject,
    mut cursor: Option<Cursor>,
    page: usize,
) -> (Vec<Record>, Option<Cursor>) {
    let source = connector.source().expect("the connector reads");
    let mut out = Vec::new();
    for _ in 0..10_000 {
        let request = ReadRequest {
            entity: subject.entity(),
            mode: ReadMode::Incremental,
            cursor: cursor.clone(),
            max_records: page,
        };
        let p = source.read_page(request).await.expect("read_page");
        for item in &p.items {
            out.push(item.record.clone().expect("the seeded records are valid"));
        }
        let empty = p.items.is_empty();
        cursor = Some(p.next);
        if p.done || empty {
            return (out, cursor);
        }
    }
    panic!("the source never reported done");
}

fn keys(records: &[Record]) -> Vec<RecordKey> {
    records.iter().map(Record::key).collect()
}

/// Reading everything, then reading again from the saved cursor (after a restart), yields no
/// record twice; a restart in the middle resumes where the cursor says.
pub async fn reading_twice_from_a_saved_cursor_yields_no_record_twice(subject: &dyn Subject) {
    let records = subject.sample(23);
    let section = subject.source_with(&records).await;
    let first = build(subject, "conformance-source", section.clone());
    let (half, mid_cursor) = {
        let source = first.source().unwrap();
        let request = ReadRequest {
            entity: subject.entity(),
            mode: ReadMode::Incremental,
            cursor: None,
            max_records: 10,
        };
        let page = source.read_page(request).await.expect("read_page");
        let half: Vec<Record> = page
            .items
            .iter()
            .map(|i| i.record.clone().unwrap())
            .collect();
        (half, Some(page.next))
    };
    let restarted = build(subject, "conformance-source", section.clone());
    let (rest, end_cursor) = read_all_from(restarted.as_ref(), subject, mid_cursor, 7).await;
    let mut all = half.clone();
    all.extend(rest);
    let seen: HashSet<RecordKey> = keys(&all).into_iter().collect();
    assert_eq!(
        all.len(),
        seen.len(),
        "a record came twice across a restart"
    );
    assert_eq!(
        seen,
        keys(&records).into_iter().collect::<HashSet<_>>(),
        "a record was lost across a restart"
    );
    let again = build(subject, "conformance-source", section);
    let (repeat, _) = read_all_from(again.as_ref(), subject, end_cursor, 7).await;
    assert!(
        repeat.is_empty(),
        "reading again from the saved cursor returned {} record(s)",
        repeat.len()
    );
}

/// Writing a batch twice leaves the target exactly as after the first time.
pub async fn writing_the_same_batch_twice_leaves_the_target_unchanged(subject: &dyn Subject) {
    let records = subject.sample(12);
    let target = build(subject, "conformance-target", subject.fresh_target().await);
    let sink = target.sink().expect("the connector writes");
    let batch: Vec<WriteOp> = records
        .iter()
        .map(|r| WriteOp::Upsert { record: r.clone() })
        .collect();
    for _ in 0..2 {
        let outcomes = sink
            .write_batch(subject.entity(), &batch)
            .await
            .expect("write_batch");
        assert!(
            outcomes.iter().all(|o| matches!(o, WriteOutcome::Applied)),
            "{outcomes:?}"
        );
        // A staging sink holds the batch until `finish` (a no-op for the others).
        sink.finish(subject.entity()).await.expect("finish");
    }
    let mut expected = records;
    expected.sort_by_key(Record::key);
    assert_eq!(
        subject.target_contents().await,
        expected,
        "the target differs from one application of the batch"
    );
}

/// Every bad config is refused with an error naming its key.
pub async fn a_bad_config_is_rejected_naming_the_key(subject: &dyn Subject) {
    let cases = subject.bad_configs();
    assert!(
        !cases.is_empty(),
        "the subject gave no bad configs to check"
    );
    for (section, key) in cases {
        let ctx = BuildContext {
            name: "bad".into(),
            section: section.clone(),
            data_dir: std::env::temp_dir(),
            base_dir: std::env::temp_dir(),
        };
        match subject.factory().build(ctx) {
            Ok(_) => panic!(
                "config {:?} was accepted; it must be refused naming `{key}`",
                section.keys()
            ),
            Err(errors) => assert!(
                errors.iter().any(|e| e.key == key),
                "refused, but no error names `{key}`: {errors:?}"
            ),
        }
    }
}

/// `syncd connectors` lists exactly the keys the adapter reads, and says truly which are
/// required: an empty section is refused for each required key and no other.
pub fn the_documented_keys_are_the_keys_the_connector_reads(subject: &dyn Subject) {
    let factory = subject.factory();
    let probe = "undocumented_probe_key";
    let section = ConfigSection::from_toml("connectors.probe", &format!("{probe} = 1"))
        .expect("a one-line section parses");
    let ctx = BuildContext {
        name: "probe".into(),
        section,
        data_dir: std::env::temp_dir(),
        base_dir: std::env::temp_dir(),
    };
    let Err(errors) = factory.build(ctx) else {
        panic!("a section with an unknown key `{probe}` was accepted");
    };
    let unknown = errors
        .iter()
        .find(|e| e.key == format!("connectors.probe.{probe}"))
        .unwrap_or_else(|| panic!("no error names the unknown key `{probe}`: {errors:?}"));
    let mut read: Vec<&str> = unknown
        .message
        .split_once("expected one of: ")
        .map(|(_, keys)| keys.trim_end_matches(')').split(", ").collect())
        .unwrap_or_else(|| panic!("the unknown-key error lists no keys: {unknown:?}"));
    read.sort_unstable();
    let mut documented: Vec<&str> = factory.keys().iter().map(|k| k.name).collect();
    documented.sort_unstable();
    assert_eq!(
        documented,
        read,
        "the keys `{}` documents differ from those its config reads",
        factory.kind()
    );
    let mut missing: Vec<&str> = errors
        .iter()
        .filter(|e| e.message == "missing key")
        .filter_map(|e| e.key.strip_prefix("connectors.probe."))
        .collect();
    missing.sort_unstable();
    let mut required: Vec<&str> = factory
        .keys()
        .iter()
        .filter(|k| k.need == KeyNeed::Required)
        .map(|k| k.name)
        .collect();
    required.sort_unstable();
    assert_eq!(
        required,
        missing,
        "the keys `{}` documents as required differ from those it cannot do without",
        factory.kind()
    );
}

fn pipeline_config(subject: &dyn Subject) -> PipelineConfig {
    PipelineConfig {
        name: "conformance".into(),
        from: "fixture".into(),
        to: "conformance-target".into(),
        entity: subject.entity(),
        write_as: None,
        require_catalog: None,
        mode: syncd_engine::Mode::Incremental,
        schedule: None,
        maps: Default::default(),
        batch_size: None,
        page_size: 4,
        delete_missing: false,
        retry: RetryConfig {
            max_attempts: 3,
            initial_backoff_ms: 1,
            max_backoff_ms: 5,
            max_rate_limit_waits: 3,
        },
    }
}

fn pipeline(subject: &dyn Subject, records: Vec<Record>, target: Arc<dyn Connector>) -> Pipeline {
    let source = ConnectorHandle::new(Arc::new(FixtureSource::new("fixture", records)), None);
    Pipeline::new(
        pipeline_config(subject),
        source,
        ConnectorHandle::new(target, None),
        &[],
    )
    .expect("pipeline")
}

/// A record the target refuses for good becomes a dead letter; the others arrive.
pub async fn a_permanent_error_becomes_a_dead_letter(subject: &dyn Subject) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn StateStore> =
        Arc::new(SledStore::open(&dir.path().join("state")).expect("store"));
    let mut records = subject.sample(6);
    let bad = subject.permanently_rejected();
    records.insert(3, bad.clone());
    let target = build(subject, "conformance-target", subject.fresh_target().await);
    let report = pipeline(subject, records.clone(), target)
        .run(store.clone(), &NoProgress, &Default::default())
        .await;
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(report.dead_lettered, 1, "{report:?}");
    let letters = dead_letters::list(store.as_ref(), Some("conformance")).unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].key.as_deref(), Some(bad.key().as_str()));
    let mut good: Vec<Record> = records
        .into_iter()
        .filter(|r| r.key() != bad.key())
        .collect();
    good.sort_by_key(Record::key);
    assert_eq!(subject.target_contents().await, good);
}

/// A transient failure is retried; when retries run out the writes wait in the outbox and the
/// cursor holds; the next run delivers every record exactly once.
pub async fn a_retryable_error_is_retried_and_nothing_is_lost_or_doubled(subject: &dyn Subject) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn StateStore> =
        Arc::new(SledStore::open(&dir.path().join("state")).expect("store"));
    let records = subject.sample(9);
    let target = build(subject, "conformance-target", subject.fresh_target().await);
    let stages = target.sink().is_some_and(|s| s.stages_writes());
    let pipeline = pipeline(subject, records.clone(), target);
    subject.break_target().await;
    let failed = pipeline
        .run(store.clone(), &NoProgress, &Default::default())
        .await;
    assert!(
        !failed.succeeded(),
        "a run against a broken target must fail: {failed:?}"
    );
    assert!(
        failed.retries >= 1,
        "the failing write was not retried: {failed:?}"
    );
    assert_eq!(
        failed.dead_lettered, 0,
        "a retryable failure must not dead-letter: {failed:?}"
    );
    assert_eq!(
        cursors::get(store.as_ref(), "conformance").unwrap(),
        None,
        "the cursor moved past writes that were never applied"
    );
    // A staging sink's calls reach nothing before `finish`: they need no outbox entry, and
    // the cursor alone holds its writes.
    if !stages {
        assert!(
            outbox::depth(store.as_ref(), "conformance").unwrap() > 0,
            "the write calls made left the outbox"
        );
    }
    subject.heal_target().await;
    let healed = pipeline
        .run(store.clone(), &NoProgress, &Default::default())
        .await;
    assert!(healed.succeeded(), "{healed:?}");
    assert_eq!(outbox::depth(store.as_ref(), "conformance").unwrap(), 0);
    let mut expected = records;
    expected.sort_by_key(Record::key);
    assert_eq!(subject.target_contents().await, expected);
    assert_eq!(
        healed.written + healed.replayed,
        9,
        "every record written exactly once after healing: {healed:?}"
    );
    let again = pipeline.run(store, &NoProgress, &Default::default()).await;
    assert_eq!(
        (again.written, again.write_calls),
        (0, 0),
        "an unchanged source must cause no writes: {again:?}"
    );
}

/// Acknowledge A, B, D and fail C, E; after a restart C, D and E come again, A and B do not.
pub async fn checkpoint_capture_redelivers_from_the_first_unacknowledged(subject: &dyn Subject) {
    let records = subject.sample(5);
    let section = subject.source_with(&records).await;
    let connector = build(subject, "conformance-source", section.clone());
    // Read until the five records are in hand, remembering which page each came in.
    let mut pages = Vec::new();
    let mut located = Vec::new();
    // In the source's own order (a vendor may sort differently from how it was seeded).
    let mut delivered = Vec::new();
    let mut cursor = None;
    while located.len() < 5 {
        let request = ReadRequest {
            entity: subject.entity(),
            mode: ReadMode::Incremental,
            cursor: cursor.clone(),
            max_records: 5,
        };
        let page = connector
            .source()
            .unwrap()
            .read_page(request)
            .await
            .expect("read_page");
        assert!(
            !page.items.is_empty(),
            "the source ran dry before returning the five records"
        );
        for item in &page.items {
            located.push((pages.len(), item.position));
            delivered.push(item.record.clone().expect("the seeded records are valid"));
        }
        cursor = Some(page.next.clone());
        pages.push(page);
    }
    let mut tracker = AckTracker::new(5);
    for acknowledged in [0, 1, 3] {
        tracker.settle(acknowledged);
    }
    let prefix = tracker.settled_prefix();
    assert_eq!(prefix, 2);
    let (page, position) = located[prefix - 1];
    let cursor = pages[page].cursor_after(position);
    let restarted = build(subject, "conformance-source", section);
    let (again, _) = read_all_from(restarted.as_ref(), subject, Some(cursor), 10).await;
    assert_eq!(
        keys(&again),
        keys(&delivered[2..5]),
        "after the restart exactly C, D, E must come again"
    );
}

/// Runs every case in turn.
pub async fn run_all(subject: &dyn Subject) {
    reading_twice_from_a_saved_cursor_yields_no_record_twice(subject).await;
    writing_the_same_batch_twice_leaves_the_target_unchanged(subject).await;
    a_bad_config_is_rejected_naming_the_key(subject).await;
    the_documented_keys_are_the_keys_the_connector_reads(subject);
    a_permanent_error_becomes_a_dead_letter(subject).await;
    a_retryable_error_is_retried_and_nothing_is_lost_or_doubled(subject).await;
    checkpoint_capture_redelivers_from_the_first_unacknowledged(subject).await;
}
