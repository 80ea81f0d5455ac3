//! Drift: what a pipeline's two sides hold now, compared without writing anything. The source
//! is read whole and mapped as the pipeline maps it; the target is read whole; records are
//! matched by key and compared field by field, each differing field with its owner when the
//! pipeline is one side of a link.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use syncd_core::{Cursor, ReadMode, ReadRequest, Record, RecordKey};

use crate::error::RunError;
use crate::mapping::{self, Mapped};
use crate::run::Pipeline;

/// One field that differs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDrift {
    /// The field (top level of the record).
    pub field: String,
    /// The source's value (mapped).
    pub source: Value,
    /// The target's value.
    pub target: Value,
    /// The connector that owns the field, on a link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// What differs for one key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyDrift {
    /// In the source, not in the target.
    MissingInTarget {
        /// The record's key.
        key: String,
    },
    /// In the target, not in the source.
    MissingInSource {
        /// The record's key.
        key: String,
    },
    /// In both, with different values.
    Differs {
        /// The record's key.
        key: String,
        /// The fields that differ.
        fields: Vec<FieldDrift>,
    },
}

/// A pipeline's drift.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// The pipeline.
    pub pipeline: String,
    /// Records read from the source (after maps).
    pub source_records: usize,
    /// Records read from the target.
    pub target_records: usize,
    /// Every difference, by key.
    pub differences: Vec<KeyDrift>,
}

impl Drift {
    /// Whether both sides agree.
    pub fn in_sync(&self) -> bool {
        self.differences.is_empty()
    }
}

async fn read_all(
    handle: &crate::handle::ConnectorHandle,
    entity: syncd_core::EntityKind,
    page_size: usize,
) -> Result<BTreeMap<RecordKey, Record>, RunError> {
    let fail = |error| RunError::Connector {
        connector: handle.name().to_string(),
        error,
    };
    let source = handle.connector.source().ok_or_else(|| RunError::Invalid {
        pipeline: handle.name().to_string(),
        message: format!("connector `{}` cannot be read", handle.name()),
    })?;
    let mut records = BTreeMap::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        handle.until_ready().await;
        let page = source
            .read_page(ReadRequest {
                entity,
                mode: ReadMode::Full,
                cursor: cursor.clone(),
                max_records: page_size,
            })
            .await
            .map_err(fail)?;
        let done = page.done || page.items.is_empty();
        let next = page.next.clone();
        for item in page.items {
            if let Ok(record) = item.record {
                if !item.deleted {
                    records.insert(record.key(), record);
                }
            }
        }
        if done {
            return Ok(records);
        }
        cursor = Some(next);
    }
}

fn fields(record: &Record) -> BTreeMap<String, Value> {
    match serde_json::to_value(record) {
        Ok(Value::Object(map)) => map.into_iter().filter(|(k, _)| k != "entity").collect(),
        _ => BTreeMap::new(),
    }
}

impl Pipeline {
    /// Reads both sides now and says what differs; writes nothing.
    pub async fn drift(&self) -> Result<Drift, RunError> {
        let config = self.config();
        if self.reads_inbox() {
            return Err(RunError::Invalid {
                pipeline: config.name.clone(),
                message: format!(
                    "connector `{}` delivers {} by webhook: there is no snapshot of it to compare",
                    config.from, config.entity
                ),
            });
        }
        let written = self.written_entity();
        if written != config.entity {
            return Err(RunError::Invalid {
                pipeline: config.name.clone(),
                message: format!(
                    "{} is written as {written}: the two sides hold different things",
                    config.entity
                ),
            });
        }
        let source = read_all(self.source_handle(), config.entity, config.page_size).await?;
        let target = read_all(self.target_handle(), written, config.page_size).await?;
        let mut mapped: BTreeMap<RecordKey, Record> = BTreeMap::new();
        for record in source.into_values() {
            if let Mapped::Record(record) = mapping::apply(&config.maps, record) {
                mapped.insert(record.key(), record);
            }
        }
        let owner = |field: &str| self.policy().and_then(|p| p.owner_of(field));
        // A field one side does not keep (it reads a default there) cannot drift.
        let kept_by = |handle: &crate::handle::ConnectorHandle, field: &str| {
            handle
                .connector
                .fields_kept(config.entity)
                .is_none_or(|fields| fields.contains(&field))
        };
        let compared = |field: &str| {
            kept_by(self.source_handle(), field) && kept_by(self.target_handle(), field)
        };
        let mut differences = Vec::new();
        for (key, record) in &mapped {
            match target.get(key) {
                None => differences.push(KeyDrift::MissingInTarget {
                    key: key.to_string(),
                }),
                Some(held) if held != record => {
                    let (s, t) = (fields(record), fields(held));
                    let names: std::collections::BTreeSet<&String> =
                        s.keys().chain(t.keys()).collect();
                    let fields: Vec<FieldDrift> = names
                        .into_iter()
                        .filter_map(|name| {
                            let (a, b) = (
                                s.get(name).cloned().unwrap_or(Value::Null),
                                t.get(name).cloned().unwrap_or(Value::Null),
                            );
                            (a != b && compared(name)).then(|| FieldDrift {
                                field: name.clone(),
                                owner: owner(name),
                                source: a,
                                target: b,
                            })
                        })
                        .collect();
                    if !fields.is_empty() {
                        differences.push(KeyDrift::Differs {
                            key: key.to_string(),
                            fields,
                        });
                    }
                }
                Some(_) => {}
            }
        }
        for key in target.keys().filter(|k| !mapped.contains_key(*k)) {
            differences.push(KeyDrift::MissingInSource {
                key: key.to_string(),
            });
        }
        Ok(Drift {
            pipeline: config.name.clone(),
            source_records: mapped.len(),
            target_records: target.len(),
            differences,
        })
    }
}
