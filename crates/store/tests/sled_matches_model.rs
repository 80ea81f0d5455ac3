//! The sled backend behaves like the in-memory model under any sequence of commits and reopens.

use proptest::prelude::*;
use syncd_store::{Durability, MemoryStore, SledStore, StateStore, Tree, WriteBatch};

#[derive(Clone, Debug)]
enum Step {
    Commit(Vec<(usize, u8, Option<u8>)>),
    Reopen,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => prop::collection::vec((0usize..Tree::ALL.len(), 0u8..12, prop::option::of(any::<u8>())), 1..6)
            .prop_map(Step::Commit),
        1 => Just(Step::Reopen),
    ]
}

fn key_of(k: u8) -> Vec<u8> {
    // Two-part keys so that prefix scans over the first part are exercised.
    vec![b'p', k % 3, 0, b'k', k]
}

fn assert_same(sled: &dyn StateStore, model: &dyn StateStore) {
    for tree in Tree::ALL {
        if tree == Tree::Meta {
            continue; // sled keeps its schema version there
        }
        for p in 0..3u8 {
            let prefix = vec![b'p', p, 0];
            let a: Vec<_> = sled
                .scan_prefix(tree, &prefix)
                .map(Result::unwrap)
                .collect();
            let b: Vec<_> = model
                .scan_prefix(tree, &prefix)
                .map(Result::unwrap)
                .collect();
            assert_eq!(a, b, "tree {tree:?} prefix {p}");
        }
        for k in 0..12u8 {
            assert_eq!(
                sled.get(tree, &key_of(k)).unwrap(),
                model.get(tree, &key_of(k)).unwrap()
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn sled_store_matches_the_in_memory_model(steps in prop::collection::vec(step(), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let mut sled = Some(SledStore::open(dir.path()).unwrap());
        let model = MemoryStore::new();
        for s in steps {
            match s {
                Step::Commit(ops) => {
                    let mut batch = WriteBatch::new();
                    for (t, k, v) in ops {
                        let tree = Tree::ALL[t];
                        if tree == Tree::Meta { continue; }
                        match v {
                            Some(v) => batch.put(tree, key_of(k), vec![v; (v % 7) as usize + 1]),
                            None => batch.delete(tree, key_of(k)),
                        }
                    }
                    sled.as_ref().unwrap().commit(batch.clone(), Durability::Flushed).unwrap();
                    model.commit(batch, Durability::Flushed).unwrap();
                }
                Step::Reopen => {
                    drop(sled.take());
                    sled = Some(SledStore::open(dir.path()).unwrap());
                }
            }
            assert_same(sled.as_ref().unwrap(), &model);
        }
    }
}
