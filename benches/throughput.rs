//! Throughput figures: `cargo bench --bench throughput` prints them.
//!
//! - diff: 1M stock positions against a 1M-entry shadow index, in memory, one core;
//! - shadow persistence: shadow updates committed to sled in flushed batches;
//! - planning: a full page plan (map, key, fingerprint, diff) per position.

use std::collections::BTreeMap;
use std::time::Instant;

use syncd_core::model::StockPosition;
use syncd_core::WriteOp;
use syncd_core::{ReadItem, Record};
use syncd_engine::planner::Planner;
use syncd_engine::{diff, Mode, PipelineConfig};
use syncd_store::{
    outbox, shadow, Durability, MemoryStore, OutboxEntry, ShadowIndex, ShadowPage, SledStore,
    StateStore, WriteBatch,
};

const POSITIONS: usize = 1_000_000;

fn positions(n: usize, salt: i64) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let mut p = StockPosition::new(
                format!("SKU-{:07}", i / 4),
                format!("LOC-{}", i % 4),
                (i as i64 * 7 + salt) % 500,
            );
            p.allocated = (i % 3) as i64;
            if i % 10 == 0 {
                p.attributes
                    .insert("condition".into(), serde_json::json!("NEW"));
            }
            Record::StockPosition(p)
        })
        .collect()
}

fn per_second(n: usize, secs: f64) -> String {
    format!("{:.2}M/s", n as f64 / secs / 1e6)
}

fn bench_diff() {
    let records = positions(POSITIONS, 0);
    // The shadow holds the same content for 90% of positions, older content for the rest.
    let mut index = ShadowIndex::default();
    for (i, r) in positions(POSITIONS, 0).into_iter().enumerate() {
        let fp = if i % 10 == 0 {
            positions(1, i as i64 + 1)[0].fingerprint()
        } else {
            r.fingerprint()
        };
        index.insert(&r.key(), fp);
    }
    for round in 0..3 {
        let start = Instant::now();
        let mut changed = 0usize;
        for r in &records {
            if diff::changed(&index, r).is_some() {
                changed += 1;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "diff (key + fingerprint + lookup), round {round}: {POSITIONS} positions in {secs:.3}s = {} ({changed} changed)",
            per_second(POSITIONS, secs)
        );
    }
    let start = Instant::now();
    let hashes: Vec<u128> = records.iter().map(Record::key_hash).collect();
    println!(
        "key hash alone: {}",
        per_second(POSITIONS, start.elapsed().as_secs_f64())
    );
    let start = Instant::now();
    let found = hashes
        .iter()
        .filter(|h| index.get_hashed(**h).is_some())
        .count();
    println!(
        "index look-up alone: {} ({found} found)",
        per_second(POSITIONS, start.elapsed().as_secs_f64())
    );
    let start = Instant::now();
    let fps: u128 = records.iter().map(|r| r.fingerprint().0 & 1).sum();
    let secs = start.elapsed().as_secs_f64();
    println!("fingerprint alone: {} ({fps})", per_second(POSITIONS, secs));
}

fn bench_plan() {
    let store = MemoryStore::new();
    let config = PipelineConfig {
        name: "bench".into(),
        from: "a".into(),
        to: "b".into(),
        entity: syncd_core::EntityKind::StockPosition,
        mode: Mode::Full,
        schedule: None,
        maps: syncd_engine::Maps {
            location: BTreeMap::from([("LOC-0".to_string(), "WH-0".to_string())]),
            ..Default::default()
        },
        batch_size: None,
        page_size: 5_000,
        delete_missing: false,
        retry: Default::default(),
        write_as: None,
        require_catalog: None,
    };
    let planner = Planner::new(&config, &store);
    let items: Vec<ReadItem> = positions(POSITIONS, 0)
        .into_iter()
        .enumerate()
        .map(|(i, r)| ReadItem::new(i as u64, Ok(r)))
        .collect();
    let index = ShadowIndex::default();
    let mut writes = 0;
    let pages: Vec<Vec<ReadItem>> = items.chunks(5_000).map(<[ReadItem]>::to_vec).collect();
    let start = Instant::now();
    for page in pages {
        writes += planner.plan_page(page, &index, None).unwrap().writes.len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "plan pages (map + diff + plan, records moved from the page): {} ({writes} writes)",
        per_second(POSITIONS, secs)
    );
}

fn bench_shadow_persistence() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let records = positions(200_000, 0);
    let entity = syncd_core::EntityKind::StockPosition;
    // What a run commits per acknowledged call: the call's outbox entry dropped and one shadow
    // page appended, atomically across the two trees.
    for batch_size in [1_000usize, 5_000] {
        let pipeline = format!("ack-{batch_size}");
        let target = format!("target-{batch_size}");
        let start = Instant::now();
        for chunk in records.chunks(batch_size) {
            let call = outbox::new_call(&store).unwrap();
            let entries: Vec<OutboxEntry> = chunk
                .iter()
                .map(|r| OutboxEntry {
                    op: WriteOp::Upsert { record: r.clone() },
                    link_base: None,
                })
                .collect();
            let mut intent = WriteBatch::new();
            outbox::put_call(&mut intent, &pipeline, call, &entries);
            store.commit(intent, Durability::Flushed).unwrap();
            let mut batch = WriteBatch::new();
            let mut page = ShadowPage::default();
            for r in chunk {
                page.upsert(&r.key(), r.fingerprint());
            }
            outbox::delete_call(&mut batch, &pipeline, call);
            shadow::append(&store, &mut batch, &target, entity, page).unwrap();
            store.commit(batch, Durability::Buffered).unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "sled intent + acknowledgement per call (outbox entry, shadow page), calls of {batch_size}: {}",
            per_second(records.len(), secs)
        );
    }
    let start = Instant::now();
    let index = shadow::load_index(&store, "target-1000", entity).unwrap();
    println!(
        "sled shadow index load: {} entries in {:.2}s",
        index.len(),
        start.elapsed().as_secs_f64()
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for the list of tests; there are none.
    }
    bench_diff();
    bench_plan();
    bench_shadow_persistence();
}
