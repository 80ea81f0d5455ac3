//! The NewStore connector: webhook receiver for fulfillment events, sink of stock imports with
//! allocation-removal ranges, and source of NewStore's stock for reconciliation reports.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::Method;
use syncd_core::in_flight::InFlightCalls;
use syncd_core::model::StockPosition;
use syncd_core::{
    BuildContext, Capabilities, ConfigError, Connector, ConnectorError, ConnectorFactory, Cursor,
    EntityKind, InboundEvent, Page, RangePolicy, ReadItem, ReadRequest, Record, Sink, Source,
    WebhookError, WebhookReceiver, WebhookRequest, WriteOp, WriteOutcome,
};
use tokio::sync::Mutex;

use crate::client::NewStoreClient;
use crate::config::{NewStoreConfig, RangeScope};
use crate::events;
use crate::import::{self, Availability, Range, StoreMapping};
use syncd_http::files::FileHost;

/// Builds NewStore connectors (`kind = "newstore"`).
pub struct NewStoreFactory;

impl ConnectorFactory for NewStoreFactory {
    fn kind(&self) -> &'static str {
        "newstore"
    }

    fn about(&self) -> &'static str {
        "NewStore: takes fulfillment request events (webhooks) and imports stock with allocations removed by logical-timestamp range"
    }

    fn keys(&self) -> &'static [syncd_core::KeyDoc] {
        crate::config::KEYS
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn Connector>, Vec<ConfigError>> {
        let config = NewStoreConfig::from_section(&ctx.section)?;
        let files = FileHost::new(
            syncd_core::error::connector_context("newstore", &ctx.name),
            Some(config.file_listen.clone()),
            config.file_listen.clone(),
            config.public_base_url.clone(),
            Duration::from_secs(config.file_ttl_secs),
            "application/zip",
        );
        let client = NewStoreClient::new(config)
            .map_err(|e| vec![ctx.section.error("api_base", e.to_string())])?;
        Ok(Arc::new(NewStoreConnector {
            name: ctx.name,
            in_flight: InFlightCalls::new(ctx.data_dir.join("in_flight.json"), "newstore imports"),
            client,
            files,
            last_import: Mutex::new(None),
        }))
    }
}

/// A NewStore tenant.
pub struct NewStoreConnector {
    name: String,
    /// The import in flight (see `import::run`).
    in_flight: InFlightCalls,
    client: NewStoreClient,
    files: FileHost,
    last_import: Mutex<Option<Instant>>,
}

impl NewStoreConnector {
    fn config(&self) -> &NewStoreConfig {
        self.client.config()
    }
}

#[async_trait]
impl Connector for NewStoreConnector {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            reads: vec![EntityKind::StockPosition],
            writes: vec![EntityKind::StockPosition, EntityKind::InventorySource],
            max_batch: self.config().max_batch,
        }
    }

    fn source(&self) -> Option<&dyn Source> {
        Some(self)
    }

    fn sink(&self) -> Option<&dyn Sink> {
        Some(self)
    }

    fn webhooks(&self) -> Option<&dyn WebhookReceiver> {
        Some(self)
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        self.client
            .call::<(), serde_json::Value>(
                Method::GET,
                "/_/v0/hq/stocked_products?limit=1&offset=0",
                None,
            )
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl WebhookReceiver for NewStoreConnector {
    async fn accept(&self, request: &WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError> {
        if !events::authorized(request, self.config().webhook_api_key.expose()) {
            return Err(WebhookError::Unauthorized(
                "missing or wrong `Authorization: Bearer <api_key>`".into(),
            ));
        }
        Ok(
            events::event_from_envelope(&request.body, &self.config().tenant)?
                .map(|event| vec![events::inbound(&event)])
                .unwrap_or_default(),
        )
    }

    fn entities(&self) -> Vec<EntityKind> {
        vec![EntityKind::FulfillmentEvent]
    }

    fn decode(&self, event: &InboundEvent) -> Result<Record, String> {
        serde_json::from_value(event.payload.clone())
            .map(Record::FulfillmentEvent)
            .map_err(|e| format!("stored event {}: {e}", event.id))
    }
}

#[async_trait]
impl Sink for NewStoreConnector {
    fn allocation_ranges(&self) -> Option<RangePolicy> {
        Some(RangePolicy {
            per_location: self.config().range_scope == RangeScope::PerLocation,
        })
    }

    async fn write_batch(
        &self,
        entity: EntityKind,
        batch: &[WriteOp],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let context = syncd_core::error::connector_context("newstore", &self.name);
        if !matches!(
            entity,
            EntityKind::StockPosition | EntityKind::InventorySource
        ) {
            return Err(ConnectorError::permanent(
                &context,
                format!("cannot import {entity}"),
            ));
        }
        let mut outcomes: Vec<Option<WriteOutcome>> = vec![None; batch.len()];
        let mut store_mapping = Vec::new();
        let mut availabilities = Vec::new();
        let mut ranges = Vec::new();
        for (i, op) in batch.iter().enumerate() {
            match op {
                WriteOp::Upsert {
                    record: Record::StockPosition(p),
                } if p.sku.trim().is_empty() || p.location.trim().is_empty() => {
                    outcomes[i] = Some(WriteOutcome::Failed(ConnectorError::permanent(
                        &context,
                        format!(
                            "{}: an availability needs a product id and a fulfillment node",
                            p.key()
                        ),
                    )))
                }
                // An authority below zero (oversold already) is sent as 0: the conservative value;
                // refusing it would hold back every allocation range.
                WriteOp::Upsert {
                    record: Record::StockPosition(p),
                } => availabilities.push(Availability {
                    product_id: p.sku.clone(),
                    fulfillment_node_id: p.location.clone(),
                    quantity: p.on_hand.max(0),
                }),
                // A source (Magento MSI) is a fulfillment location: the import's store mapping
                // makes it a DC location under its own code, the id positions carry.
                WriteOp::Upsert {
                    record: Record::InventorySource(s),
                } if s.enabled && !s.code.trim().is_empty() => store_mapping.push(StoreMapping {
                    fulfillment_location_id: s.code.clone(),
                    fulfillment_node_id: s.code.clone(),
                }),
                WriteOp::Upsert {
                    record: Record::InventorySource(s),
                } => {
                    outcomes[i] = Some(WriteOutcome::Failed(ConnectorError::permanent(
                        &context,
                        format!(
                            "source `{}`: only an enabled source with a code becomes a DC location (an import deletes nothing)",
                            s.code
                        ),
                    )))
                }
                WriteOp::RemoveAllocations { scope, from, to } => ranges.push(Range {
                    fulfillment_node_id: (scope != "*").then(|| scope.clone()),
                    logical_timestamp_from: *from,
                    logical_timestamp_to: *to,
                }),
                WriteOp::Upsert { record } => {
                    outcomes[i] = Some(WriteOutcome::Failed(ConnectorError::permanent(
                        &context,
                        format!(
                            "{}: NewStore imports take stock positions and sources",
                            record.key()
                        ),
                    )))
                }
                WriteOp::Delete { key, .. } => {
                    outcomes[i] = Some(WriteOutcome::Failed(ConnectorError::permanent(
                        &context,
                        match entity {
                            EntityKind::StockPosition => {
                                format!("{key}: partial imports delete nothing (send on-hand 0)")
                            }
                            _ => format!("{key}: partial imports delete nothing"),
                        },
                    )))
                }
            }
        }
        // A range must never go out without every position of its run: hold it back.
        let refused = outcomes.iter().any(Option::is_some);
        if refused && !ranges.is_empty() {
            ranges.clear();
            for (i, op) in batch.iter().enumerate() {
                if let WriteOp::RemoveAllocations { .. } = op {
                    outcomes[i] = Some(WriteOutcome::Failed(ConnectorError::permanent(
                        &context,
                        "held back: a position of the same import was refused",
                    )));
                }
            }
        }
        // In a fixed order, so that the same stock and ranges make the same import whatever
        // order they were written in (a replay resumes the import in flight).
        availabilities.sort_by(|a, b| {
            (&a.product_id, &a.fulfillment_node_id).cmp(&(&b.product_id, &b.fulfillment_node_id))
        });
        ranges.sort_by(|a, b| {
            (&a.fulfillment_node_id, a.logical_timestamp_from)
                .cmp(&(&b.fulfillment_node_id, b.logical_timestamp_from))
        });
        store_mapping
            .sort_by(|a: &StoreMapping, b| a.fulfillment_node_id.cmp(&b.fulfillment_node_id));
        if !availabilities.is_empty() || !ranges.is_empty() || !store_mapping.is_empty() {
            let spacing = Duration::from_secs(self.config().min_import_spacing_secs);
            let mut last = self.last_import.lock().await;
            if let Some(at) = *last {
                let since = at.elapsed();
                if since < spacing {
                    return Err(ConnectorError::rate_limited(&context, spacing - since));
                }
            }
            import::run(
                &self.client,
                &self.files,
                &self.in_flight,
                store_mapping,
                availabilities,
                ranges,
            )
            .await?;
            *last = Some(Instant::now());
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or(WriteOutcome::Applied))
            .collect())
    }
}

#[async_trait]
impl Source for NewStoreConnector {
    async fn read_page(&self, request: ReadRequest) -> Result<Page, ConnectorError> {
        if request.entity != EntityKind::StockPosition {
            return Err(ConnectorError::permanent(
                syncd_core::error::connector_context("newstore", &self.name),
                format!("{} arrives by webhook, not by reading", request.entity),
            ));
        }
        let offset = request
            .cursor
            .as_ref()
            .and_then(|c| c.0.get("offset"))
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        let limit = request.max_records.clamp(1, 1000);
        let answer: serde_json::Value = self
            .client
            .call::<(), _>(
                Method::GET,
                &format!("/_/v0/hq/stocked_products?limit={limit}&offset={offset}"),
                None,
            )
            .await?;
        let rows = answer["items"].as_array().cloned().unwrap_or_default();
        let items: Vec<ReadItem> = rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let position = offset + i as u64;
                let record = match (
                    row["product_id"].as_str(),
                    row["fulfillment_node_id"].as_str(),
                    row["on_hand"].as_i64(),
                ) {
                    (Some(product), Some(node), Some(on_hand)) => {
                        let mut p = StockPosition::new(product, node, on_hand);
                        p.allocated = row["allocations"].as_i64().unwrap_or(0);
                        Ok(Record::StockPosition(p))
                    }
                    _ => Err(syncd_core::RejectedRow {
                        origin: format!("newstore stocked_products offset {position}"),
                        raw: row.to_string(),
                        error: "product_id, fulfillment_node_id and on_hand are required".into(),
                    }),
                };
                ReadItem {
                    position,
                    record,
                    deleted: false,
                }
            })
            .collect();
        let done = items.len() < limit;
        let next = offset + items.len() as u64;
        Ok(Page::new(
            items,
            Cursor(serde_json::json!({ "offset": next })),
            done,
            |position| Cursor(serde_json::json!({ "offset": position + 1 })),
        ))
    }
}
