//! Link bases: for each direction of a bidirectional link, the record as both sides last agreed
//! on it, in full, so that a three-way merge can tell who changed which field.

use syncd_core::{EntityKind, Fingerprint, Record, RecordKey};

use crate::batch::WriteBatch;
use crate::error::StoreError;
use crate::keys;
use crate::store::{StateStore, Tree};

/// One base record and its fingerprint.
#[derive(Clone, Debug, PartialEq)]
pub struct BaseEntry {
    /// The record's content fingerprint.
    pub fingerprint: Fingerprint,
    /// The record as last agreed.
    pub record: Record,
}

fn key(namespace: &str, entity: EntityKind, key: &RecordKey) -> Vec<u8> {
    keys::compose(&[
        namespace.as_bytes(),
        entity.as_str().as_bytes(),
        key.as_str().as_bytes(),
    ])
}

/// The base of `namespace` at `record_key`, if any.
pub fn get(
    store: &dyn StateStore,
    namespace: &str,
    entity: EntityKind,
    record_key: &RecordKey,
) -> Result<Option<BaseEntry>, StoreError> {
    let k = key(namespace, entity, record_key);
    let Some(v) = store.get(Tree::LinkBases, &k)? else {
        return Ok(None);
    };
    let corrupt = |message: String| StoreError::Corrupt {
        tree: Tree::LinkBases.name(),
        key: keys::printable(&k),
        message,
    };
    let fingerprint =
        Fingerprint::from_bytes(&v).ok_or_else(|| corrupt("value too short".into()))?;
    let record = serde_json::from_slice(&v[16..]).map_err(|e| corrupt(e.to_string()))?;
    Ok(Some(BaseEntry {
        fingerprint,
        record,
    }))
}

/// Records in `batch` that `record` (with fingerprint `fp`) is the new base of `namespace`.
pub fn put(batch: &mut WriteBatch, namespace: &str, record: &Record, fp: Fingerprint) {
    let mut value = Vec::with_capacity(160);
    value.extend_from_slice(&fp.to_bytes());
    serde_json::to_writer(&mut value, record).expect("a record serializes");
    batch.put(
        Tree::LinkBases,
        key(namespace, record.entity(), &record.key()),
        value,
    );
}
