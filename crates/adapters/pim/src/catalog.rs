//! The catalog the app keeps, in sled (one tree, opened at first use so that building the
//! connector for a check never contends for it), answering by SKU in O(1):
//!
//! - `l␀<kind>␀<key>`: the live records (products, attributes, categories), as JSON;
//! - `s␀<sync>␀<kind>␀<key>`: what a full synchronization under way has sent so far (empty: the
//!   resource was deleted), applied only when its `synchronization_ended` arrives;
//! - `y␀<sync>`: a full synchronization's state, and once ended the changes it made (so that
//!   `_ended` sent again yields them again);
//! - `i␀<installation>`: an installation's shared secret, encrypted (ChaCha20-Poly1305 under a
//!   key derived from the configured `encryption_key`, the installation id as associated data)
//!   with its `api_url`;
//! - `u␀<event type>`: how many events of a type the seed does not list were received.

use std::collections::HashSet;
use std::path::PathBuf;

use base64::Engine;
use ring::aead;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use syncd_core::model::{Attribute, Category, Product};
use syncd_core::Record;

use crate::fold::{self, Kind};

/// A change the catalog made, for the pipelines reading it.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The record as it is now (as it was, for a deletion).
    pub record: Record,
    /// Whether it was removed.
    pub deleted: bool,
}

#[derive(Default, Serialize, Deserialize)]
struct SyncState {
    full: bool,
    ended: bool,
    /// Once ended: (kind, key, deleted) of every change, with the records deleted.
    #[serde(default)]
    changes: Vec<(String, String, bool)>,
    #[serde(default)]
    removed: Vec<Value>,
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    nonce: String,
    secret: String,
    api_url: Option<String>,
}

fn key(parts: &[&str]) -> Vec<u8> {
    parts.join("\0").into_bytes()
}

fn kind_named(name: &str) -> Option<Kind> {
    match name {
        "attribute" => Some(Kind::Attribute),
        "category" => Some(Kind::Category),
        "product" => Some(Kind::Product),
        _ => None,
    }
}

/// The record `value` (a live entry of `kind`) stands for.
fn record_of(kind: Kind, value: &[u8]) -> Result<Record, String> {
    let record = match kind {
        Kind::Attribute => serde_json::from_slice::<Attribute>(value).map(Record::Attribute),
        Kind::Category => serde_json::from_slice::<Category>(value).map(Record::Category),
        Kind::Product => serde_json::from_slice::<Product>(value).map(Record::Product),
    };
    record.map_err(|e| format!("a stored {} is unreadable: {e}", kind.as_str()))
}

/// Applies `events` to the stored `current` record of `kind` `id`.
fn folded(
    kind: Kind,
    id: &str,
    current: Option<&[u8]>,
    events: &[Value],
) -> Result<Vec<u8>, String> {
    let bytes = match kind {
        Kind::Attribute => {
            let mut r: Option<Attribute> = current
                .map(serde_json::from_slice)
                .transpose()
                .map_err(|e| e.to_string())?;
            for e in events {
                r = fold::attribute(r, id, e);
            }
            serde_json::to_vec(&r)
        }
        Kind::Category => {
            let mut r: Option<Category> = current
                .map(serde_json::from_slice)
                .transpose()
                .map_err(|e| e.to_string())?;
            for e in events {
                r = fold::category(r, id, e);
            }
            serde_json::to_vec(&r)
        }
        Kind::Product => {
            let mut r: Option<Product> = current
                .map(serde_json::from_slice)
                .transpose()
                .map_err(|e| e.to_string())?;
            for e in events {
                r = fold::product(r, id, e);
            }
            serde_json::to_vec(&r)
        }
    };
    bytes.map_err(|e| e.to_string())
}

/// The catalog of one app.
pub struct CatalogStore {
    db: syncd_store::local::LocalDb,
    sealing: aead::LessSafeKey,
}

impl CatalogStore {
    /// The catalog kept in `dir`, its secrets sealed under `encryption_key`.
    pub fn new(dir: PathBuf, encryption_key: &str) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, encryption_key.as_bytes());
        let unbound = aead::UnboundKey::new(&aead::CHACHA20_POLY1305, digest.as_ref())
            .expect("a SHA-256 digest is a ChaCha20-Poly1305 key");
        CatalogStore {
            db: syncd_store::local::LocalDb::new(dir.join("catalog"), 64 * 1024 * 1024),
            sealing: aead::LessSafeKey::new(unbound),
        }
    }

    fn db(&self) -> Result<sled::Db, String> {
        self.db
            .get()
            .map_err(|e| format!("the catalog cannot be opened: {e}"))
    }

    fn flush(&self) -> Result<(), String> {
        self.db()?.flush().map(|_| ()).map_err(|e| e.to_string())
    }

    /// Keeps installation `id`'s shared secret, sealed, with its API URL.
    pub fn put_installation(
        &self,
        id: &str,
        secret: &str,
        api_url: Option<&str>,
    ) -> Result<(), String> {
        let mut nonce = [0u8; 12];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
            .map_err(|_| "no randomness for a nonce".to_string())?;
        let mut sealed = secret.as_bytes().to_vec();
        self.sealing
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(id.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| "the secret cannot be sealed".to_string())?;
        let b64 = base64::engine::general_purpose::STANDARD;
        let value = serde_json::to_vec(&Sealed {
            nonce: b64.encode(nonce),
            secret: b64.encode(sealed),
            api_url: api_url.map(str::to_string),
        })
        .map_err(|e| e.to_string())?;
        self.db()?
            .insert(key(&["i", id]), value)
            .map_err(|e| e.to_string())?;
        self.flush()
    }

    /// Installation `id`'s shared secret, if it is installed.
    pub fn installation_secret(&self, id: &str) -> Result<Option<Vec<u8>>, String> {
        let Some(value) = self.db()?.get(key(&["i", id])).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let sealed: Sealed = serde_json::from_slice(&value).map_err(|e| e.to_string())?;
        let b64 = base64::engine::general_purpose::STANDARD;
        let nonce: [u8; 12] = b64
            .decode(&sealed.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or("a stored nonce is unreadable")?;
        let mut secret = b64.decode(&sealed.secret).map_err(|e| e.to_string())?;
        let plain = self
            .sealing
            .open_in_place(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(id.as_bytes()),
                &mut secret,
            )
            .map_err(|_| {
                format!("installation `{id}`'s secret does not open: was encryption_key changed?")
            })?;
        Ok(Some(plain.to_vec()))
    }

    /// Forgets installation `id` (the app was uninstalled).
    pub fn remove_installation(&self, id: &str) -> Result<(), String> {
        self.db()?
            .remove(key(&["i", id]))
            .map_err(|e| e.to_string())?;
        self.flush()
    }

    /// Whether the catalog holds product `sku`.
    pub fn knows_sku(&self, sku: &str) -> Result<bool, String> {
        self.db()?
            .contains_key(key(&["l", "product", sku]))
            .map_err(|e| e.to_string())
    }

    /// The live record of `kind` `id`.
    pub fn get(&self, kind: Kind, id: &str) -> Result<Option<Record>, String> {
        match self
            .db()?
            .get(key(&["l", kind.as_str(), id]))
            .map_err(|e| e.to_string())?
        {
            Some(v) => record_of(kind, &v).map(Some),
            None => Ok(None),
        }
    }

    /// Counts an event of a type the seed does not list.
    pub fn count_unknown(&self, event_type: &str) -> Result<u64, String> {
        let counted = self
            .db()?
            .update_and_fetch(key(&["u", event_type]), |old| {
                let n = old
                    .and_then(|v| <[u8; 8]>::try_from(v).ok())
                    .map_or(0, u64::from_be_bytes);
                Some((n + 1).to_be_bytes().to_vec())
            })
            .map_err(|e| e.to_string())?;
        Ok(counted
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map_or(0, u64::from_be_bytes))
    }

    /// Every unknown event type received, with its count.
    pub fn unknown_events(&self) -> Result<Vec<(String, u64)>, String> {
        self.db()?
            .scan_prefix(key(&["u", ""]))
            .map(|entry| {
                let (k, v) = entry.map_err(|e| e.to_string())?;
                let name = String::from_utf8_lossy(&k[2..]).to_string();
                let n = <[u8; 8]>::try_from(v.as_ref()).map_or(0, u64::from_be_bytes);
                Ok((name, n))
            })
            .collect()
    }

    fn sync_state(&self, sync: &str) -> Result<Option<SyncState>, String> {
        self.db()?
            .get(key(&["y", sync]))
            .map_err(|e| e.to_string())?
            .map(|v| serde_json::from_slice(&v).map_err(|e| e.to_string()))
            .transpose()
    }

    /// A full synchronization starts: what it sends is staged until it ends. A full one
    /// left unfinished (interrupted, never to end) is dropped: this one supersedes it.
    pub fn begin_full(&self, sync: &str) -> Result<(), String> {
        if self.sync_state(sync)?.is_some() {
            return Ok(()); // `_started` delivered again
        }
        let db = self.db()?;
        let mut stale = sled::Batch::default();
        for entry in db.scan_prefix(key(&["y", ""])) {
            let (k, v) = entry.map_err(|e| e.to_string())?;
            let state: SyncState = serde_json::from_slice(&v).map_err(|e| e.to_string())?;
            if state.full && !state.ended {
                let old = String::from_utf8_lossy(&k[2..]).to_string();
                for staged in db.scan_prefix(key(&["s", &old, ""])) {
                    stale.remove(staged.map_err(|e| e.to_string())?.0);
                }
                stale.remove(k);
                tracing::info!(synchronization = %old, "an unfinished full synchronization is superseded: its staged records are dropped");
            }
        }
        db.apply_batch(stale).map_err(|e| e.to_string())?;
        let state = serde_json::to_vec(&SyncState {
            full: true,
            ..SyncState::default()
        })
        .map_err(|e| e.to_string())?;
        self.db()?
            .insert(key(&["y", sync]), state)
            .map_err(|e| e.to_string())?;
        self.flush()
    }

    /// Whether `sync` is a full synchronization still under way.
    fn staging(&self, sync: Option<&str>) -> Result<Option<String>, String> {
        let Some(sync) = sync else { return Ok(None) };
        Ok(self
            .sync_state(sync)?
            .filter(|s| s.full && !s.ended)
            .map(|_| sync.to_string()))
    }

    /// Applies one call's `events` to resource `kind` `id` (`delete`: the resource was
    /// deleted), durably. Within a full synchronization the change is staged and nothing is
    /// returned; otherwise the record as it now is (or was, deleted).
    pub fn apply(
        &self,
        sync: Option<&str>,
        kind: Kind,
        id: &str,
        events: &[Value],
        delete: bool,
    ) -> Result<Option<Change>, String> {
        let db = self.db()?;
        let live_key = key(&["l", kind.as_str(), id]);
        if let Some(sync) = self.staging(sync)? {
            let staged_key = key(&["s", &sync, kind.as_str(), id]);
            let value = match delete {
                true => Vec::new(),
                false => {
                    let base = match db.get(&staged_key).map_err(|e| e.to_string())? {
                        Some(v) if v.is_empty() => None,
                        Some(v) => Some(v),
                        None => db.get(&live_key).map_err(|e| e.to_string())?,
                    };
                    folded(kind, id, base.as_deref(), events)?
                }
            };
            db.insert(staged_key, value).map_err(|e| e.to_string())?;
            self.flush()?;
            return Ok(None);
        }
        let before = db.get(&live_key).map_err(|e| e.to_string())?;
        if delete {
            let record = match &before {
                Some(before) => record_of(kind, before)?,
                // Deleted already (the call is delivered again): the key is what counts.
                None => record_of(kind, &folded(kind, id, None, &[])?)?,
            };
            if before.is_some() {
                db.remove(&live_key).map_err(|e| e.to_string())?;
                self.flush()?;
            }
            return Ok(Some(Change {
                record,
                deleted: true,
            }));
        }
        let after = folded(kind, id, before.as_deref(), events)?;
        if before.as_deref() != Some(after.as_slice()) {
            db.insert(&live_key, after.as_slice())
                .map_err(|e| e.to_string())?;
            self.flush()?;
        }
        // The record as it is, changed or not: a call delivered again after a crash that kept
        // its change but lost its answer still brings the change to the pipelines (the engine's
        // diff makes a repeat free).
        Ok(Some(Change {
            record: record_of(kind, &after)?,
            deleted: false,
        }))
    }

    /// A synchronization ends. A full one replaces the catalog with what it sent, at once:
    /// its staged records go live and whatever it did not send is removed. Its changes are
    /// returned (again, when `_ended` is delivered twice).
    pub fn end(&self, sync: &str) -> Result<Vec<Change>, String> {
        let Some(state) = self.sync_state(sync)? else {
            return Ok(Vec::new());
        };
        if state.ended {
            return self.changes_again(&state);
        }
        let db = self.db()?;
        let mut batch = sled::Batch::default();
        let mut changes = Vec::new();
        let mut recorded = Vec::new();
        let mut removed = Vec::new();
        let mut sent: HashSet<Vec<u8>> = HashSet::new();
        let prefix = key(&["s", sync, ""]);
        for entry in db.scan_prefix(&prefix) {
            let (k, v) = entry.map_err(|e| e.to_string())?;
            batch.remove(k.clone());
            let rest = String::from_utf8_lossy(&k[prefix.len()..]).to_string();
            let Some((kind_name, id)) = rest.split_once('\0') else {
                continue;
            };
            let Some(kind) = kind_named(kind_name) else {
                continue;
            };
            let live_key = key(&["l", kind_name, id]);
            let before = db.get(&live_key).map_err(|e| e.to_string())?;
            if v.is_empty() {
                continue; // deleted: removed below with whatever else was not sent
            }
            sent.insert(live_key.clone());
            if before.as_deref() != Some(v.as_ref()) {
                batch.insert(live_key, v.clone());
                changes.push(Change {
                    record: record_of(kind, &v)?,
                    deleted: false,
                });
                recorded.push((kind_name.to_string(), id.to_string(), false));
            }
        }
        for entry in db.scan_prefix(key(&["l", ""])) {
            let (k, v) = entry.map_err(|e| e.to_string())?;
            if sent.contains(k.as_ref()) {
                continue;
            }
            let rest = String::from_utf8_lossy(&k[2..]).to_string();
            let Some((kind_name, id)) = rest.split_once('\0') else {
                continue;
            };
            let Some(kind) = kind_named(kind_name) else {
                continue;
            };
            let record = record_of(kind, &v)?;
            batch.remove(k);
            removed.push(serde_json::to_value(&record).map_err(|e| e.to_string())?);
            recorded.push((kind_name.to_string(), id.to_string(), true));
            changes.push(Change {
                record,
                deleted: true,
            });
        }
        let ended = SyncState {
            full: true,
            ended: true,
            changes: recorded,
            removed,
        };
        batch.insert(
            key(&["y", sync]),
            serde_json::to_vec(&ended).map_err(|e| e.to_string())?,
        );
        db.apply_batch(batch).map_err(|e| e.to_string())?;
        self.flush()?;
        Ok(changes)
    }

    fn changes_again(&self, state: &SyncState) -> Result<Vec<Change>, String> {
        let mut removed = state.removed.iter();
        let mut out = Vec::new();
        for (kind_name, id, deleted) in &state.changes {
            let Some(kind) = kind_named(kind_name) else {
                continue;
            };
            if *deleted {
                if let Some(record) = removed.next() {
                    out.push(Change {
                        record: serde_json::from_value(record.clone())
                            .map_err(|e| e.to_string())?,
                        deleted: true,
                    });
                }
            } else if let Some(record) = self.get(kind, id)? {
                out.push(Change {
                    record,
                    deleted: false,
                });
            }
        }
        Ok(out)
    }

    /// Every live record of `kind`, in key order.
    pub fn all(&self, kind: Kind) -> Result<Vec<Record>, String> {
        self.db()?
            .scan_prefix(key(&["l", kind.as_str(), ""]))
            .map(|entry| {
                let (_, v) = entry.map_err(|e| e.to_string())?;
                record_of(kind, &v)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn created(sku: &str) -> Vec<Value> {
        vec![
            json!({"type": "product_created", "payload": {"sku": sku, "type": "SIMPLE-PRODUCT", "category_codes": []}}),
        ]
    }

    #[test]
    fn a_secret_is_sealed_at_rest_and_opens_only_under_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = CatalogStore::new(dir.path().to_path_buf(), "key-0123456789abcdef");
        store
            .put_installation("inst", "shared-secret", Some("http://e"))
            .unwrap();
        assert_eq!(
            store.installation_secret("inst").unwrap().unwrap(),
            b"shared-secret"
        );
        assert_eq!(store.installation_secret("other").unwrap(), None);
        let raw = store
            .db()
            .unwrap()
            .get(key(&["i", "inst"]))
            .unwrap()
            .unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("shared-secret"));
        drop(store);
        let rekeyed = CatalogStore::new(dir.path().to_path_buf(), "another-key-0123456789");
        assert!(rekeyed.installation_secret("inst").is_err());
    }

    #[test]
    fn a_full_synchronization_changes_nothing_until_it_ends_then_replaces_the_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let store = CatalogStore::new(dir.path().to_path_buf(), "key-0123456789abcdef");
        store
            .apply(None, Kind::Product, "OLD", &created("OLD"), false)
            .unwrap();
        store
            .apply(None, Kind::Product, "KEEP", &created("KEEP"), false)
            .unwrap();
        store.begin_full("sync-1").unwrap();
        store
            .apply(
                Some("sync-1"),
                Kind::Product,
                "KEEP",
                &created("KEEP"),
                false,
            )
            .unwrap();
        store
            .apply(Some("sync-1"), Kind::Product, "NEW", &created("NEW"), false)
            .unwrap();
        // Interrupted here, it would have changed nothing.
        assert!(store.knows_sku("OLD").unwrap() && !store.knows_sku("NEW").unwrap());
        let changes = store.end("sync-1").unwrap();
        assert!(store.knows_sku("NEW").unwrap() && store.knows_sku("KEEP").unwrap());
        assert!(!store.knows_sku("OLD").unwrap(), "not sent: removed");
        let mut summary: Vec<(String, bool)> = changes
            .iter()
            .map(|c| (c.record.key().to_string(), c.deleted))
            .collect();
        summary.sort();
        assert_eq!(summary, vec![("NEW".into(), false), ("OLD".into(), true)]);
        assert_eq!(
            store.end("sync-1").unwrap(),
            changes,
            "`_ended` again gives the same"
        );
    }

    #[test]
    fn a_new_full_synchronization_drops_what_an_unfinished_one_staged() {
        let dir = tempfile::tempdir().unwrap();
        let store = CatalogStore::new(dir.path().to_path_buf(), "key-0123456789abcdef");
        store.begin_full("abandoned").unwrap();
        store
            .apply(
                Some("abandoned"),
                Kind::Product,
                "GHOST",
                &created("GHOST"),
                false,
            )
            .unwrap();
        store.begin_full("next").unwrap();
        store
            .apply(Some("next"), Kind::Product, "REAL", &created("REAL"), false)
            .unwrap();
        store.end("next").unwrap();
        assert!(store.knows_sku("REAL").unwrap() && !store.knows_sku("GHOST").unwrap());
        assert_eq!(store.db().unwrap().scan_prefix(key(&["s", ""])).count(), 0);
        assert!(store.end("abandoned").unwrap().is_empty());
    }
}
