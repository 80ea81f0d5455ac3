//! Shadows: what each connector last held (as we last wrote or read it), by entity and key.

use std::collections::HashMap;

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

/// Fingerprints by key: all the engine needs to tell changed from unchanged.
pub type ShadowIndex = HashMap<RecordKey, Fingerprint>;

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
    let mut index = ShadowIndex::new();
    for pair in store.scan_prefix(Tree::Shadow, &prefix) {
        let (k, v) = pair?;
        let record_key =
            keys::suffix_str(&k, &prefix).ok_or_else(|| corrupt(&k, "key is not UTF-8"))?;
        let fp = Fingerprint::from_bytes(&v).ok_or_else(|| corrupt(&k, "value too short"))?;
        index.insert(RecordKey::from_raw(record_key), fp);
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
