//! The managed package's pushes: `POST /hooks/<connector>` with a reverse-sync body
//! (`{"sf": [...]}`), authorized by the shared secret the package is configured with and sends
//! as `Authorization: Bearer <secret>`, compared in constant time (no signature scheme is
//! documented for the package's outbound call, only its envelope; a configured bearer secret
//! over TLS is what a callout can carry).
//!
//! Each body is turned into one inbox event per canonical record it carries. Delivery is at
//! least once and in no promised order: a duplicate is harmless (the diff finds nothing to do),
//! and a unit older than one already taken for the same record is dropped. A unit's age is the
//! latest `SystemModstamp` anywhere in it: a unit rendered later holds every change an earlier
//! one held. The latest age taken per record is kept on disk, so that a late push is still known
//! late after a restart.

use std::path::PathBuf;

use serde_json::{json, Value};
use syncd_core::{EntityKind, InboundEvent, Record, WebhookError};

use crate::names::Names;
use crate::sobject::{Body, Field, SObject};
use crate::unit::Unit;

/// `2022-03-03T10:53:23.000+0000` as milliseconds since the epoch.
fn millis(stamp: &str) -> Option<i64> {
    chrono::DateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(stamp))
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The latest `SystemModstamp` in `record` and everything nested in it.
pub fn latest_stamp(record: &SObject) -> Option<i64> {
    record
        .fields
        .iter()
        .filter_map(|(name, field)| match field {
            Field::Value(Value::String(s)) if name == "SystemModstamp" => millis(s),
            Field::Children(children) => children.records.iter().filter_map(latest_stamp).max(),
            _ => None,
        })
        .max()
}

/// The latest unit age taken per record key, on disk.
pub struct Ages {
    db: syncd_store::local::LocalDb,
}

impl Ages {
    /// Ages kept under `dir` (opened at the first push, so that building the connector for a
    /// check never contends for the file).
    pub fn new(dir: PathBuf) -> Self {
        Ages {
            db: syncd_store::local::LocalDb::new(dir.join("push_ages"), 8 * 1024 * 1024),
        }
    }

    fn db(&self) -> Result<sled::Db, WebhookError> {
        self.db
            .get()
            .map_err(|e| WebhookError::Unavailable(format!("push ages cannot be kept: {e}")))
    }

    /// Keeps, of `candidates` (key, age), those not older than what was taken for their key,
    /// and records their ages durably before saying so.
    pub fn take_newer(&self, candidates: &[(String, i64)]) -> Result<Vec<bool>, WebhookError> {
        let db = self.db()?;
        let unavailable = |e: sled::Error| WebhookError::Unavailable(format!("push ages: {e}"));
        let mut keep = Vec::with_capacity(candidates.len());
        let mut batch = sled::Batch::default();
        for (key, age) in candidates {
            let taken = db
                .get(key.as_bytes())
                .map_err(unavailable)?
                .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
                .map(i64::from_be_bytes);
            let newer = taken.is_none_or(|taken| *age >= taken);
            if newer {
                batch.insert(key.as_bytes(), &age.to_be_bytes());
            }
            keep.push(newer);
        }
        db.apply_batch(batch).map_err(unavailable)?;
        db.flush().map_err(unavailable)?;
        Ok(keep)
    }
}

/// The inbox events a verified body stands for: one per record of a kind in `entities`, or per
/// record that cannot be read (it becomes a dead letter naming its field); units older than
/// those already taken are left out.
pub fn events(
    body: &[u8],
    names: &Names,
    entities: &[EntityKind],
    ages: &Ages,
) -> Result<Vec<InboundEvent>, WebhookError> {
    let body = Body::parse(body).map_err(|e| WebhookError::BadRequest(e.to_string()))?;
    let mut out: Vec<(String, i64, InboundEvent)> = Vec::new();
    for (n, record) in body.records.into_iter().enumerate() {
        let age = latest_stamp(&record).unwrap_or(0);
        let id = record.text("Id").unwrap_or("?").to_string();
        let kind = record.kind.clone();
        let Some(unit) = Unit::of(record, names) else {
            tracing::debug!(object = %kind, "push of an object no unit starts: ignored");
            continue;
        };
        for (i, result) in unit.records(names).into_iter().enumerate() {
            match result {
                Ok(record) if entities.contains(&record.entity()) => {
                    let key = format!("{}|{}", record.entity(), record.key());
                    out.push((
                        key.clone(),
                        age,
                        InboundEvent {
                            id: format!("{kind}:{id}:{age}:{key}"),
                            payload: json!({ "record": record }),
                        },
                    ));
                }
                Ok(_) => {}
                Err(e) => out.push((
                    // Never compared: a record that cannot be read is always let through.
                    String::new(),
                    age,
                    InboundEvent {
                        id: format!("{kind}:{id}:{age}:sf[{n}]#{i}"),
                        payload: json!({ "error": e.to_string() }),
                    },
                )),
            }
        }
    }
    let keyed: Vec<(String, i64)> = out
        .iter()
        .filter(|(key, _, _)| !key.is_empty())
        .map(|(key, age, _)| (key.clone(), *age))
        .collect();
    let mut newer = ages.take_newer(&keyed)?.into_iter();
    syncd_core::crash::point("push_aged");
    Ok(out
        .into_iter()
        .filter(|(key, _, event)| {
            let keep = key.is_empty() || newer.next().unwrap_or(true);
            if !keep {
                tracing::info!(event = %event.id, "push older than one already taken: dropped");
            }
            keep
        })
        .map(|(_, _, event)| event)
        .collect())
}

/// The record a stored push event stands for.
pub fn decode(event: &InboundEvent) -> Result<Record, String> {
    if let Some(error) = event.payload.get("error").and_then(Value::as_str) {
        return Err(error.to_string());
    }
    serde_json::from_value(event.payload["record"].clone())
        .map_err(|e| format!("stored push {}: {e}", event.id))
}
