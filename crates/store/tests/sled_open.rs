//! Opening the sled store: persistence across reopen, the lock, and the schema check.

use syncd_core::model::StockPosition;
use syncd_core::{Cursor, EntityKind, Record, RecordKey};
use syncd_store::{
    cursors, link_base, outbox, shadow, Durability, Held, OutboxEntry, ShadowPage, SledStore,
    StateStore, StoreError, Tree, WriteBatch,
};

#[test]
fn every_committed_write_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let record = Record::StockPosition(StockPosition::new("SKU-1", "WH-1", 4));
    {
        let store = SledStore::open(dir.path()).unwrap();
        let mut batch = WriteBatch::new();
        cursors::put(
            &mut batch,
            "erp-to-shop",
            &Cursor(serde_json::json!({"line": 7})),
        );
        let mut page = ShadowPage::default();
        page.upsert(&record.key(), record.fingerprint());
        shadow::append(&store, &mut batch, "shop", record.entity(), page).unwrap();
        store.commit(batch, Durability::Flushed).unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        cursors::get(&store, "erp-to-shop").unwrap(),
        Some(Cursor(serde_json::json!({"line": 7})))
    );
    let held = shadow::get(&store, "shop", EntityKind::StockPosition, &record.key()).unwrap();
    assert_eq!(held, Some(Held::of(record.fingerprint())));
    let index = shadow::load_index(&store, "shop", EntityKind::StockPosition).unwrap();
    assert_eq!(
        index.get(&record.key()),
        Some(Held::of(record.fingerprint()))
    );
}

#[test]
fn a_second_process_on_the_same_directory_gets_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let _held = SledStore::open(&state).unwrap();
    // A child process, because sled's file lock is per process.
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "open_from_child_process",
            "--nocapture",
            "--ignored",
        ])
        .env("SYNCD_STORE_TEST_DIR", &state)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("LOCKED:"), "{text}");
    assert!(text.contains(&state.display().to_string()), "{text}");
}

#[test]
#[ignore = "run as a child process by a_second_process_on_the_same_directory_gets_an_error_naming_it"]
fn open_from_child_process() {
    let Some(dir) = std::env::var_os("SYNCD_STORE_TEST_DIR") else {
        return;
    };
    match SledStore::open(std::path::Path::new(&dir)) {
        Err(e @ StoreError::Locked { .. }) => println!("LOCKED: {e}"),
        Err(e) => println!("OTHER: {e}"),
        Ok(_) => println!("OPENED"),
    }
}

#[test]
fn a_store_of_another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SledStore::open(dir.path()).unwrap();
        let mut batch = WriteBatch::new();
        batch.put(Tree::Meta, b"schema_version".to_vec(), b"999".to_vec());
        store.commit(batch, Durability::Flushed).unwrap();
    }
    let err = SledStore::open(dir.path()).err().expect("must refuse");
    assert!(matches!(err, StoreError::SchemaMismatch { .. }), "{err}");
    assert!(err.to_string().contains("999"));
}

#[test]
fn ids_keep_increasing_across_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let store = SledStore::open(dir.path()).unwrap();
        store.next_id().unwrap()
    };
    let store = SledStore::open(dir.path()).unwrap();
    assert!(store.next_id().unwrap() > first);
}

/// `n` stock positions at one location, SKU-0 holding 0 up to SKU-(n-1) holding n-1.
fn positions(n: i64) -> Vec<Record> {
    (0..n)
        .map(|i| Record::StockPosition(StockPosition::new(format!("SKU-{i}"), "WH-1", i)))
        .collect()
}

/// Writes a state dir the way schema 1 laid it out: one shadow entry per key (fingerprint and
/// the record as JSON), link bases in the shadow tree, one outbox entry per key.
fn write_schema_1(dir: &std::path::Path, records: &[Record]) {
    let db = sled::open(dir).unwrap();
    db.open_tree("meta")
        .unwrap()
        .insert("schema_version", "1")
        .unwrap();
    let shadow = db.open_tree("shadow").unwrap();
    let outbox = db.open_tree("outbox").unwrap();
    for (namespace, r) in records
        .iter()
        .flat_map(|r| [("shop", r), ("link:erp-shop", r)])
    {
        let key = [namespace, "stock_position", r.key().as_str()].join("\0");
        let mut value = r.fingerprint().to_bytes().to_vec();
        value.extend(serde_json::to_vec(r).unwrap());
        shadow.insert(key, value).unwrap();
    }
    let pending = OutboxEntry {
        op: syncd_core::WriteOp::Upsert {
            record: records[0].clone(),
        },
        link_base: None,
    };
    outbox
        .insert(
            ["erp-to-shop", records[0].key().as_str()].join("\0"),
            serde_json::to_vec(&pending).unwrap(),
        )
        .unwrap();
    db.flush().unwrap();
}

#[test]
fn a_schema_1_state_dir_is_migrated_on_open_and_keeps_every_shadow_base_and_pending_write() {
    let dir = tempfile::tempdir().unwrap();
    let records = positions(300);
    write_schema_1(dir.path(), &records);
    let store = SledStore::open(dir.path()).unwrap();
    let index = shadow::load_index(&store, "shop", EntityKind::StockPosition).unwrap();
    assert_eq!(index.len(), records.len());
    for r in &records {
        assert_eq!(
            index.get(&r.key()),
            Some(Held::of(r.fingerprint())),
            "{}",
            r.key()
        );
        let base = link_base::get(&store, "link:erp-shop", EntityKind::StockPosition, &r.key())
            .unwrap()
            .expect("link base kept");
        assert_eq!(base.record, *r);
    }
    let calls = outbox::list(&store, "erp-to-shop").unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].1.len(), 1);
    assert_eq!(outbox::depth(&store, "erp-to-shop").unwrap(), 1);
    drop(store);
    // Opened again, it is the current schema as it stands: nothing migrates twice.
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        shadow::load_index(&store, "shop", EntityKind::StockPosition)
            .unwrap()
            .len(),
        records.len()
    );
}

/// A shadow page as schema 2 wrote it: the entry count, then each key (front coding left
/// unused) and its whole 16-byte fingerprint, zero for a deleted key.
fn schema_2_page(entries: &[(RecordKey, u128)]) -> Vec<u8> {
    let mut out = (entries.len() as u32).to_le_bytes().to_vec();
    for (key, fp) in entries {
        out.push(0);
        out.push(key.as_str().len() as u8);
        out.extend_from_slice(key.as_str().as_bytes());
        out.extend_from_slice(&fp.to_le_bytes());
    }
    out
}

#[test]
fn a_schema_2_state_dir_is_migrated_on_open_and_its_pages_read_beside_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let records = positions(300);
    let page_key = |seq: u64| {
        let mut k = syncd_store::keys::prefix(&[b"shop", b"stock_position"]);
        k.extend_from_slice(&seq.to_be_bytes());
        k
    };
    {
        let db = sled::open(dir.path()).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", "2")
            .unwrap();
        let mut entries: Vec<(RecordKey, u128)> = records
            .iter()
            .map(|r| (r.key(), r.fingerprint().0))
            .collect();
        // The last record was deleted after it was written.
        entries.push((records[299].key(), 0));
        db.open_tree("shadow")
            .unwrap()
            .insert(page_key(1), schema_2_page(&entries))
            .unwrap();
        db.flush().unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        store.get(Tree::Meta, b"schema_version").unwrap(),
        Some(syncd_store::SCHEMA_VERSION.to_string().into_bytes())
    );
    // A page of the new layout, written later, wins over the old one for its key.
    let changed = Record::StockPosition(StockPosition::new("SKU-0", "WH-1", 1_000));
    let mut page = ShadowPage::default();
    page.upsert(&changed.key(), changed.fingerprint());
    let mut batch = WriteBatch::new();
    batch.put(Tree::Shadow, page_key(2), page.into_bytes());
    store.commit(batch, Durability::Flushed).unwrap();

    let index = shadow::load_index(&store, "shop", EntityKind::StockPosition).unwrap();
    assert_eq!(index.len(), 299);
    assert_eq!(
        index.get(&changed.key()),
        Some(Held::of(changed.fingerprint()))
    );
    for r in &records[1..299] {
        assert_eq!(
            index.get(&r.key()),
            Some(Held::of(r.fingerprint())),
            "{}",
            r.key()
        );
    }
    assert_eq!(
        index.get(&records[299].key()),
        None,
        "deleted in the old page"
    );
}
