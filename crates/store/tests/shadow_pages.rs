//! Shadow pages on the sled store: pages appended per acknowledgement read back as one index,
//! pending pages count only once promoted, and compaction keeps what the shadow holds.

use syncd_core::model::StockPosition;
use syncd_core::{EntityKind, Fingerprint, Record};
use syncd_store::{shadow, Durability, Held, ShadowPage, SledStore, StateStore, WriteBatch};

const ENTITY: EntityKind = EntityKind::StockPosition;

fn record(i: usize, qty: i64) -> Record {
    Record::StockPosition(StockPosition::new(format!("SKU-{i:04}"), "WH", qty))
}

fn append(store: &SledStore, page: ShadowPage, pending: bool) {
    let mut batch = WriteBatch::new();
    match pending {
        true => shadow::append_pending(store, &mut batch, "shop", ENTITY, page).unwrap(),
        false => shadow::append(store, &mut batch, "shop", ENTITY, page).unwrap(),
    }
    store.commit(batch, Durability::Flushed).unwrap();
}

#[test]
fn many_small_acknowledgements_compact_into_few_pages_holding_the_same_fingerprints() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    // 200 runs over 50 keys: every key rewritten many times, some deleted in the end.
    let mut expected = std::collections::BTreeMap::new();
    for run in 0..200usize {
        let mut page = ShadowPage::default();
        for i in (run % 10..50).step_by(10) {
            let r = record(i, run as i64);
            page.upsert(&r.key(), r.fingerprint());
            expected.insert(r.key(), Some(r.fingerprint()));
        }
        if run == 199 {
            let gone = record(3, 0).key();
            page.delete(&gone);
            expected.insert(gone, None);
        }
        append(&store, page, false);
    }
    let (index, size) = shadow::load_index_and_size(&store, "shop", ENTITY).unwrap();
    assert_eq!(size.pages, 200);
    assert!(size.worth_compacting(), "{size:?}");

    let mut batch = WriteBatch::new();
    assert!(shadow::compact(&store, &mut batch, "shop", ENTITY, size).unwrap());
    store.commit(batch, Durability::Flushed).unwrap();

    let (after, size) = shadow::load_index_and_size(&store, "shop", ENTITY).unwrap();
    assert_eq!(size.pages, 1, "{size:?}");
    assert_eq!(size.stored, index.len());
    assert!(!size.worth_compacting());
    for (key, fp) in &expected {
        assert_eq!(after.get(key), fp.map(Held::of), "{key}");
        assert_eq!(index.get(key), fp.map(Held::of), "{key}");
    }
    let mut batch = WriteBatch::new();
    assert!(!shadow::compact(&store, &mut batch, "shop", ENTITY, size).unwrap());
    assert!(batch.is_empty(), "a compact shadow is left alone");
}

#[test]
fn pending_pages_count_only_once_promoted_and_vanish_when_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let kept = record(1, 1);
    let mut page = ShadowPage::default();
    page.upsert(&kept.key(), kept.fingerprint());
    append(&store, page, true);
    assert!(shadow::load_index(&store, "shop", ENTITY)
        .unwrap()
        .is_empty());

    let mut batch = WriteBatch::new();
    shadow::promote_pending(&store, &mut batch, "shop", ENTITY).unwrap();
    store.commit(batch, Durability::Flushed).unwrap();
    let index = shadow::load_index(&store, "shop", ENTITY).unwrap();
    assert_eq!(index.get(&kept.key()), Some(Held::of(kept.fingerprint())));

    let dropped = record(2, 2);
    let mut page = ShadowPage::default();
    page.upsert(&dropped.key(), Fingerprint(7));
    append(&store, page, true);
    let mut batch = WriteBatch::new();
    shadow::discard_pending(&store, &mut batch, "shop", ENTITY).unwrap();
    store.commit(batch, Durability::Flushed).unwrap();
    let (index, size) = shadow::load_index_and_size(&store, "shop", ENTITY).unwrap();
    assert_eq!(index.len(), 1);
    assert_eq!(index.get(&dropped.key()), None);
    assert_eq!(size.pages, 1);
}
