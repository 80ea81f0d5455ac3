//! Shadows: what each connector last held (as we last wrote or read it), by entity and key.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use syncd_core::{EntityKind, Fingerprint, Record, RecordKey};

use crate::batch::WriteBatch;
use crate::error::StoreError;
use crate::keys;
use crate::store::{StateStore, Tree};

/// One shadowed record and its fingerprint.
#[derive(Clone, Debug, PartialEq)]
pub struct ShadowEntry {
    /// The record's content fingerprint.
    pub fingerprint: Fingerprint,
    /// The record as last held.
    pub record: Record,
}

/// A key's 128-bit hash: what the shadow index is keyed by.
pub fn key_hash(key: &RecordKey) -> u128 {
    key.hash128()
}

/// Passes a key hash through: it is already uniformly distributed.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(29) ^ u64::from_le_bytes(word);
        }
    }

    fn write_u128(&mut self, v: u128) {
        self.0 = (v as u64) ^ ((v >> 64) as u64);
    }
}

/// Fingerprints by key hash: all the engine needs to tell changed from unchanged.
///
/// Keyed by a 128-bit hash of the record key rather than the key itself, so that a look-up in a
/// million-entry index touches one slot instead of a slot and a heap string.
#[derive(Clone, Debug, Default)]
pub struct ShadowIndex {
    map: HashMap<u128, Fingerprint, BuildHasherDefault<KeyHasher>>,
}

impl ShadowIndex {
    /// The fingerprint held for `key`.
    pub fn get(&self, key: &RecordKey) -> Option<Fingerprint> {
        self.get_hashed(key_hash(key))
    }

    /// The fingerprint held for the key with hash `hash` (see [`Record::key_hash`]).
    pub fn get_hashed(&self, hash: u128) -> Option<Fingerprint> {
        self.map.get(&hash).copied()
    }

    /// Records that `key` now holds content `fp`.
    pub fn insert(&mut self, key: &RecordKey, fp: Fingerprint) {
        self.map.insert(key_hash(key), fp);
    }

    /// Records that `key` is gone.
    pub fn remove(&mut self, key: &RecordKey) {
        self.map.remove(&key_hash(key));
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The key hashes held.
    pub fn hashes(&self) -> impl Iterator<Item = u128> + '_ {
        self.map.keys().copied()
    }
}

fn prefix(connector: &str, entity: EntityKind) -> Vec<u8> {
    keys::prefix(&[connector.as_bytes(), entity.as_str().as_bytes()])
}

fn key(connector: &str, entity: EntityKind, key: &RecordKey) -> Vec<u8> {
    keys::compose(&[
        connector.as_bytes(),
        entity.as_str().as_bytes(),
        key.as_str().as_bytes(),
    ])
}

fn corrupt(key: &[u8], message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        tree: Tree::Shadow.name(),
        key: keys::printable(key),
        message: message.into(),
    }
}

/// Loads every fingerprint of `connector`'s `entity` shadow.
pub fn load_index(
    store: &dyn StateStore,
    connector: &str,
    entity: EntityKind,
) -> Result<ShadowIndex, StoreError> {
    let prefix = prefix(connector, entity);
    let mut index = ShadowIndex::default();
    for pair in store.scan_prefix(Tree::Shadow, &prefix) {
        let (k, v) = pair?;
        let record_key =
            keys::suffix_str(&k, &prefix).ok_or_else(|| corrupt(&k, "key is not UTF-8"))?;
        let fp = Fingerprint::from_bytes(&v).ok_or_else(|| corrupt(&k, "value too short"))?;
        index.insert(&RecordKey::from_raw(record_key), fp);
    }
    Ok(index)
}

/// The shadowed record of `connector` at `key`, if any.
pub fn get(
    store: &dyn StateStore,
    connector: &str,
    entity: EntityKind,
    record_key: &RecordKey,
) -> Result<Option<ShadowEntry>, StoreError> {
    let k = key(connector, entity, record_key);
    let Some(v) = store.get(Tree::Shadow, &k)? else {
        return Ok(None);
    };
    decode(&k, &v).map(Some)
}

fn decode(k: &[u8], v: &[u8]) -> Result<ShadowEntry, StoreError> {
    let fingerprint = Fingerprint::from_bytes(v).ok_or_else(|| corrupt(k, "value too short"))?;
    let record = serde_json::from_slice(&v[16..]).map_err(|e| corrupt(k, e.to_string()))?;
    Ok(ShadowEntry {
        fingerprint,
        record,
    })
}

/// Every shadowed record of `connector`'s `entity`, in key order.
pub fn list(
    store: &dyn StateStore,
    connector: &str,
    entity: EntityKind,
) -> Result<Vec<ShadowEntry>, StoreError> {
    let prefix = prefix(connector, entity);
    store
        .scan_prefix(Tree::Shadow, &prefix)
        .map(|pair| {
            let (k, v) = pair?;
            decode(&k, &v)
        })
        .collect()
}

/// The keys of `connector`'s `entity` shadow whose hashes are in `wanted`, sorted.
pub fn keys_for_hashes(
    store: &dyn StateStore,
    connector: &str,
    entity: EntityKind,
    wanted: &HashSet<u128>,
) -> Result<Vec<RecordKey>, StoreError> {
    let prefix = prefix(connector, entity);
    let mut keys = Vec::new();
    for pair in store.scan_prefix(Tree::Shadow, &prefix) {
        let (k, _) = pair?;
        let key = RecordKey::from_raw(
            keys::suffix_str(&k, &prefix).ok_or_else(|| corrupt(&k, "key is not UTF-8"))?,
        );
        if wanted.contains(&key_hash(&key)) {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// Records in `batch` that `connector` now holds `record` (with fingerprint `fp`).
pub fn put(batch: &mut WriteBatch, connector: &str, record: &Record, fp: Fingerprint) {
    let mut value = Vec::with_capacity(160);
    value.extend_from_slice(&fp.to_bytes());
    serde_json::to_writer(&mut value, record).expect("a record serializes");
    batch.put(
        Tree::Shadow,
        key(connector, record.entity(), &record.key()),
        value,
    );
}

/// Records in `batch` that `connector` no longer holds `key`.
pub fn delete(batch: &mut WriteBatch, connector: &str, entity: EntityKind, record_key: &RecordKey) {
    batch.delete(Tree::Shadow, key(connector, entity, record_key));
}
