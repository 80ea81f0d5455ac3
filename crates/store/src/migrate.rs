//! Bringing an older state directory to the current layout, in one atomic commit.
//!
//! Schema 1 kept one shadow entry per key (fingerprint and the whole record) and one outbox
//! entry per key. Schema 2 keeps shadows as compact pages, link bases in their own tree, and
//! one outbox entry per write call. Schema 3 writes shadow pages with 8-byte fingerprint
//! digests instead of whole 16-byte fingerprints, and reads both.

use std::collections::BTreeMap;

use syncd_core::{Fingerprint, RecordKey};

use crate::batch::{Durability, WriteBatch};
use crate::error::StoreError;
use crate::keys;
use crate::outbox::{self, OutboxEntry};
use crate::shadow::{ShadowPage, PAGE_ENTRIES};
use crate::store::{StateStore, Tree};

/// Link bases were kept in the shadow tree under namespaces of this prefix.
const LINK_NAMESPACE: &[u8] = b"link:";

fn corrupt(tree: Tree, key: &[u8], message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        tree: tree.name(),
        key: keys::printable(key),
        message: message.into(),
    }
}

/// Rewrites a schema-1 store as the current schema and sets the version, all in one commit.
pub fn from_v1(store: &dyn StateStore, version_key: &[u8]) -> Result<(), StoreError> {
    let mut batch = WriteBatch::new();
    // Shadow: (connector, entity) prefix → pages; link namespaces move whole.
    let mut pages: BTreeMap<Vec<u8>, Vec<ShadowPage>> = BTreeMap::new();
    for pair in store.scan_prefix(Tree::Shadow, b"") {
        let (k, v) = pair?;
        batch.delete(Tree::Shadow, k.clone());
        if k.starts_with(LINK_NAMESPACE) {
            batch.put(Tree::LinkBases, k, v);
            continue;
        }
        let mut parts = k.splitn(3, |b| *b == 0);
        let (Some(connector), Some(entity), Some(key)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(corrupt(Tree::Shadow, &k, "not a schema-1 shadow key"));
        };
        let key =
            std::str::from_utf8(key).map_err(|_| corrupt(Tree::Shadow, &k, "key is not UTF-8"))?;
        let fp = Fingerprint::from_bytes(&v)
            .ok_or_else(|| corrupt(Tree::Shadow, &k, "value too short"))?;
        let list = pages
            .entry(keys::prefix(&[connector, entity]))
            .or_insert_with(|| vec![ShadowPage::default()]);
        if list.last().is_some_and(|p| p.len() == PAGE_ENTRIES) {
            list.push(ShadowPage::default());
        }
        list.last_mut()
            .expect("never empty")
            .upsert(&RecordKey::from_raw(key), fp);
    }
    for (prefix, list) in pages {
        for page in list {
            let mut k = prefix.clone();
            k.extend_from_slice(&store.next_id()?.to_be_bytes());
            batch.put(Tree::Shadow, k, page.into_bytes());
        }
    }
    // Outbox: every pipeline's pending writes become one call.
    let mut calls: BTreeMap<Vec<u8>, Vec<OutboxEntry>> = BTreeMap::new();
    for pair in store.scan_prefix(Tree::Outbox, b"") {
        let (k, v) = pair?;
        batch.delete(Tree::Outbox, k.clone());
        let pipeline = k.split(|b| *b == 0).next().unwrap_or_default().to_vec();
        let entry: OutboxEntry =
            serde_json::from_slice(&v).map_err(|e| corrupt(Tree::Outbox, &k, e.to_string()))?;
        calls.entry(pipeline).or_default().push(entry);
    }
    for (pipeline, entries) in calls {
        let pipeline = String::from_utf8(pipeline)
            .map_err(|_| corrupt(Tree::Outbox, b"", "pipeline name is not UTF-8"))?;
        outbox::put_call(&mut batch, &pipeline, outbox::new_call(store)?, &entries);
    }
    batch.put(
        Tree::Meta,
        version_key.to_vec(),
        crate::store::SCHEMA_VERSION.to_string().into_bytes(),
    );
    store.commit(batch, Durability::Flushed)
}

/// Brings a schema-2 store to schema 3. Its shadow pages stay as they are: schema 3 reads them,
/// and compaction rewrites them in its own layout. Setting the version is what keeps a binary
/// of schema 2, which cannot read the new pages, from opening the store.
pub fn from_v2(store: &dyn StateStore, version_key: &[u8]) -> Result<(), StoreError> {
    let mut batch = WriteBatch::new();
    batch.put(
        Tree::Meta,
        version_key.to_vec(),
        crate::store::SCHEMA_VERSION.to_string().into_bytes(),
    );
    store.commit(batch, Durability::Flushed)
}
