//! Vendor calls made and not yet known to have finished (a Fluent batch posted, a NewStore import
//! created), kept in the connector's data dir under a digest of what they carry. When a retry or
//! a restart makes the same call again (the engine replays a write from its outbox after a
//! crash), the connector finds the call already made and waits for it instead of making it
//! twice. An entry is forgotten once its call has finished; entries older than a day are
//! dropped (a Fluent job closes at midnight, a NewStore import ends within hours), so that a
//! body sent again much later is sent anew rather than matched to an old call.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ConnectorError;

const RETENTION_MS: i64 = 24 * 3600 * 1000;

#[derive(Default, Serialize, Deserialize)]
struct Entry {
    handle: serde_json::Value,
    kept_ms: i64,
}

/// The calls in flight of one connector, in one small file.
pub struct InFlightCalls {
    path: PathBuf,
    context: String,
    lock: Mutex<()>,
}

impl InFlightCalls {
    /// The calls kept in `path`; `context` names them in errors (`fluent batches`).
    pub fn new(path: PathBuf, context: impl Into<String>) -> Self {
        InFlightCalls {
            path,
            context: context.into(),
            lock: Mutex::new(()),
        }
    }

    /// A digest of a call's content: equal content, equal digest, across restarts and builds.
    pub fn digest(content: &[u8]) -> String {
        format!(
            "{:032x}-{}",
            xxhash_rust::xxh3::xxh3_128(content),
            content.len()
        )
    }

    fn read(&self) -> BTreeMap<String, Entry> {
        // An unreadable file only costs a call made again, which every vendor call we keep
        // here is safe to be: start afresh rather than fail the write.
        std::fs::read(&self.path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    fn write(&self, entries: &BTreeMap<String, Entry>) -> Result<(), ConnectorError> {
        let result = match entries.is_empty() {
            true => match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
            false => crate::files::replace(
                &self.path,
                &serde_json::to_vec(entries).expect("entries serialize"),
            ),
        };
        result.map_err(|e| ConnectorError::io(&self.context, &e))
    }

    /// The handle kept for the call carrying `digest`, if one is in flight (and not expired).
    pub fn find<T: DeserializeOwned>(&self, digest: &str) -> Option<T> {
        let _guard = self.lock.lock().expect("in-flight lock");
        let now = crate::clock::now_millis();
        self.read()
            .remove(digest)
            .filter(|entry| now - entry.kept_ms < RETENTION_MS)
            .and_then(|entry| serde_json::from_value(entry.handle).ok())
    }

    /// Keeps `handle` (what the vendor answered: a job or batch id) for the call carrying
    /// `digest`, durably, before the caller waits for it.
    pub fn keep<T: Serialize>(&self, digest: &str, handle: &T) -> Result<(), ConnectorError> {
        let _guard = self.lock.lock().expect("in-flight lock");
        let now = crate::clock::now_millis();
        let mut entries = self.read();
        entries.retain(|_, e| now - e.kept_ms < RETENTION_MS);
        entries.insert(
            digest.to_string(),
            Entry {
                handle: serde_json::to_value(handle).expect("a handle serializes"),
                kept_ms: now,
            },
        );
        self.write(&entries)
    }

    /// Forgets the call carrying `digest`: it finished (or is to be made anew).
    pub fn forget(&self, digest: &str) -> Result<(), ConnectorError> {
        let _guard = self.lock.lock().expect("in-flight lock");
        let mut entries = self.read();
        if entries.remove(digest).is_some() {
            self.write(&entries)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_call_is_found_by_its_content_until_forgotten_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in_flight.json");
        let a = InFlightCalls::digest(b"batch a");
        let b = InFlightCalls::digest(b"batch b");
        assert_ne!(a, b);
        let calls = InFlightCalls::new(path.clone(), "test");
        calls.keep(&a, &("job-1", "batch-7")).unwrap();
        calls.keep(&b, &("job-1", "batch-8")).unwrap();
        let reopened = InFlightCalls::new(path.clone(), "test");
        assert_eq!(
            reopened.find::<(String, String)>(&a),
            Some(("job-1".into(), "batch-7".into()))
        );
        reopened.forget(&a).unwrap();
        assert_eq!(reopened.find::<(String, String)>(&a), None);
        assert!(reopened.find::<(String, String)>(&b).is_some());
        reopened.forget(&b).unwrap();
        assert!(!path.exists(), "nothing in flight, no file");
    }
}
