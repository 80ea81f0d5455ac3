//! The Fluent connector: writes stock positions as batches of today's job and reads them back
//! through GraphQL.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use syncd_core::in_flight::InFlightCalls;
use syncd_core::{
    BuildContext, Capabilities, ConfigError, Connector, ConnectorError, ConnectorFactory, Cursor,
    EntityKind, Page, ReadItem, ReadRequest, Record, Sink, Source, WriteOp, WriteOutcome,
};

use crate::batch::Batches;
use crate::client::FluentClient;
use crate::config::FluentConfig;
use crate::graphql::Failure;
use crate::job::JobKeeper;
use crate::wire::{Conditions, Entity, NewBatch, PositionsData, POSITIONS_QUERY};

/// Builds Fluent connectors (`kind = "fluent"`).
pub struct FluentFactory;

impl ConnectorFactory for FluentFactory {
    fn kind(&self) -> &'static str {
        "fluent"
    }

    fn about(&self) -> &'static str {
        "Fluent Commerce: writes stock through the Batch Inventory API (job, batches, status) and reads it back through GraphQL"
    }

    fn keys(&self) -> &'static [syncd_core::KeyDoc] {
        crate::config::KEYS
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn Connector>, Vec<ConfigError>> {
        let config = FluentConfig::from_section(&ctx.section)?;
        let client = FluentClient::new(config)
            .map_err(|e| vec![ctx.section.error("base_url", e.to_string())])?;
        Ok(Arc::new(FluentConnector {
            name: ctx.name,
            in_flight: InFlightCalls::new(ctx.data_dir.join("in_flight.json"), "fluent batches"),
            jobs: JobKeeper::new(ctx.data_dir),
            page_size: AtomicUsize::new(client.config().read_page_size),
            client,
        }))
    }
}

/// A Fluent account as a source and sink of stock positions.
pub struct FluentConnector {
    name: String,
    client: FluentClient,
    jobs: JobKeeper,
    in_flight: InFlightCalls,
    /// Positions per read page: the configured size, halved while Fluent finds the query too
    /// complex.
    page_size: AtomicUsize,
}

/// The largest request body Fluent takes ("Request ≤2 MB (else 413)"), less room for the
/// batch's own fields.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024 - 16 * 1024;

impl FluentConnector {
    fn config(&self) -> &FluentConfig {
        self.client.config()
    }

    fn context(&self) -> String {
        syncd_core::error::connector_context("fluent", &self.name)
    }

    /// `entities` cut into batches whose bodies stay under Fluent's request limit.
    fn bodies(&self, entities: Vec<Entity>) -> Vec<NewBatch<'_>> {
        let config = self.config();
        let mut bodies: Vec<NewBatch<'_>> = Vec::new();
        let mut size = 0;
        for entity in entities {
            let bytes = serde_json::to_vec(&entity).map_or(0, |b| b.len()) + 1;
            let full = bodies
                .last()
                .is_none_or(|b| size + bytes > MAX_BODY_BYTES && !b.entities.is_empty());
            if full {
                bodies.push(NewBatch {
                    action: "UPSERT",
                    entity_type: "INVENTORY",
                    source: &config.source,
                    event: &config.event,
                    catalogue_ref: config.catalogue(),
                    conditions: config.related_quantities.clone().map(|related| Conditions {
                        has_related_inventory_quantities: related,
                    }),
                    entities: Vec::new(),
                });
                size = 0;
            }
            size += bytes;
            bodies
                .last_mut()
                .expect("pushed above")
                .entities
                .push(entity);
        }
        bodies
    }
}

#[async_trait]
impl Connector for FluentConnector {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            reads: vec![EntityKind::StockPosition],
            writes: vec![EntityKind::StockPosition],
            max_batch: self.config().batch_size,
        }
    }

    fn source(&self) -> Option<&dyn Source> {
        Some(self)
    }

    fn sink(&self) -> Option<&dyn Sink> {
        Some(self)
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        // Reading one position proves the token, the account and the catalogue.
        self.read_page(ReadRequest {
            entity: EntityKind::StockPosition,
            mode: syncd_core::ReadMode::Full,
            cursor: None,
            max_records: 1,
        })
        .await
        .map(|_| ())
    }
}

#[async_trait]
impl Sink for FluentConnector {
    async fn write_batch(
        &self,
        entity: EntityKind,
        batch: &[WriteOp],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let context = self.context();
        if entity != EntityKind::StockPosition {
            return Err(ConnectorError::permanent(
                &context,
                format!("cannot write {entity}"),
            ));
        }
        let config = self.config();
        let mut outcomes: Vec<Option<WriteOutcome>> = vec![None; batch.len()];
        let mut entities = Vec::new();
        let mut sent: HashMap<String, usize> = HashMap::new();
        for (i, op) in batch.iter().enumerate() {
            match op {
                WriteOp::Upsert {
                    record: Record::StockPosition(p),
                } if p.on_hand >= 0 && p.corrected.is_none_or(|c| c >= 0) => {
                    let e = Entity::of(p, config);
                    sent.insert(e.reference.clone(), i);
                    entities.push(e);
                }
                WriteOp::Upsert {
                    record: Record::StockPosition(p),
                } => {
                    outcomes[i] = Some(WriteOutcome::Failed(ConnectorError::permanent(
                        &context,
                        format!(
                            "{}: Fluent quantities are non-negative (on_hand {}, corrected {:?})",
                            p.key(),
                            p.on_hand,
                            p.corrected
                        ),
                    )));
                }
                WriteOp::Upsert { record } => {
                    outcomes[i] = Some(WriteOutcome::Failed(ConnectorError::permanent(
                        &context,
                        format!("{}: not a stock position", record.key()),
                    )));
                }
                WriteOp::RemoveAllocations { scope, .. } => {
                    outcomes[i] = Some(WriteOutcome::Failed(ConnectorError::permanent(
                        &context,
                        format!("allocations of {scope}: Fluent takes no allocation ranges"),
                    )));
                }
                WriteOp::Delete { key, .. } => {
                    outcomes[i] = Some(WriteOutcome::Failed(ConnectorError::permanent(
                        &context,
                        format!("{key}: the Batch Inventory API only upserts (send qty 0 instead)"),
                    )));
                }
            }
        }
        let batches = Batches {
            client: &self.client,
            jobs: &self.jobs,
            in_flight: &self.in_flight,
            context: &context,
        };
        let mut stopped: Option<ConnectorError> = None;
        for (n, body) in self.bodies(entities).into_iter().enumerate() {
            let refs = || {
                body.entities
                    .iter()
                    .filter_map(|e| sent.get(&e.reference).copied())
            };
            if let Some(e) = &stopped {
                // Not sent: an earlier part of this write failed.
                let e = ConnectorError::retryable(&context, format!("not sent: {e}"));
                refs().for_each(|i| outcomes[i] = Some(WriteOutcome::Failed(e.clone())));
                continue;
            }
            match batches.write(&body).await {
                Ok(written) => {
                    for (reference, outcome) in written {
                        if let Some(&i) = sent.get(&reference) {
                            outcomes[i] = Some(outcome);
                        }
                    }
                }
                // Nothing of the write was applied: the whole call failed.
                Err(e) if n == 0 => return Err(e),
                // Earlier batches were: report them, so that a retry sends only the rest.
                Err(e) => {
                    refs().for_each(|i| outcomes[i] = Some(WriteOutcome::Failed(e.clone())));
                    stopped = Some(e);
                }
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    WriteOutcome::Failed(ConnectorError::retryable(
                        &context,
                        "no outcome was found for this record",
                    ))
                })
            })
            .collect())
    }
}

#[async_trait]
impl Source for FluentConnector {
    async fn read_page(&self, request: ReadRequest) -> Result<Page, ConnectorError> {
        let config = self.config();
        let context = format!("{} POST /graphql", self.context());
        let after = request
            .cursor
            .as_ref()
            .and_then(|c| c.0.as_str().map(str::to_string));
        let data: PositionsData = loop {
            let first = request
                .max_records
                .min(self.page_size.load(Ordering::Relaxed))
                .max(1);
            let variables = serde_json::json!({
                "catalogue": config.catalogue(),
                "first": first,
                "after": after,
                "types": [config.inventory_type],
            });
            match crate::graphql::query(&self.client, &context, POSITIONS_QUERY, variables).await {
                Ok(data) => break data,
                Err(Failure::TooComplex(_)) if first > 1 => {
                    self.page_size.store(first / 2, Ordering::Relaxed);
                    tracing::info!(connector = %self.name, first = first / 2, "Fluent found the read query too complex: asking for fewer positions a page");
                }
                Err(e) => return Err(e.into()),
            }
        };
        let connection = data.inventory_positions;
        let cursors: Vec<String> = connection.edges.iter().map(|e| e.cursor.clone()).collect();
        let next = Cursor(match cursors.last() {
            Some(c) => serde_json::Value::String(c.clone()),
            None => after
                .map(serde_json::Value::String)
                .unwrap_or(serde_json::Value::Null),
        });
        let items: Vec<ReadItem> = connection
            .edges
            .into_iter()
            .enumerate()
            .map(|(i, e)| ReadItem {
                position: i as u64,
                record: Ok(Record::StockPosition(e.node.into_position())),
                deleted: false,
            })
            .collect();
        let done = !connection.page_info.has_next_page;
        Ok(Page::new(items, next, done, move |position| {
            Cursor(serde_json::Value::String(
                cursors[position as usize].clone(),
            ))
        }))
    }
}
