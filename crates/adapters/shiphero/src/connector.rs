//! The ShipHero connector: a warehouse's stock written by inventory-sync CSVs and read by
//! `warehouse_products`; Inventory Update webhooks read the SKUs they name.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use syncd_core::in_flight::InFlightCalls;
use syncd_core::{
    BuildContext, Capabilities, ConfigError, Connector, ConnectorError, ConnectorFactory, Cursor,
    EntityKind, InboundEvent, Page, ReadItem, ReadMode, ReadRequest, Record, RejectedRow, Sink,
    Source, WebhookError, WebhookReceiver, WebhookRequest, WriteOp, WriteOutcome,
};
use syncd_http::files::FileHost;

use crate::client::ShipHeroClient;
use crate::config::ShipHeroConfig;
use crate::read::{self, ReadCursor};
use crate::sync::{Row, Syncs};
use crate::webhook;

/// Builds ShipHero connectors (`kind = "shiphero"`).
pub struct ShipHeroFactory;

impl ConnectorFactory for ShipHeroFactory {
    fn kind(&self) -> &'static str {
        "shiphero"
    }

    fn about(&self) -> &'static str {
        "ShipHero: a warehouse's stock written by inventory_sync CSV batches (served by the daemon, followed to their end, every row's outcome read) and read by warehouse_products; Inventory Update webhooks"
    }

    fn keys(&self) -> &'static [syncd_core::KeyDoc] {
        crate::config::KEYS
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn Connector>, Vec<ConfigError>> {
        let config = ShipHeroConfig::from_section(&ctx.section)?;
        let context = syncd_core::error::connector_context("shiphero", &ctx.name);
        let files = FileHost::new(
            context.clone(),
            None,
            config.file_listen.clone(),
            config.public_url.clone(),
            Duration::from_secs(config.file_ttl_secs),
            "text/csv",
        );
        let client = ShipHeroClient::new(config)
            .map_err(|e| vec![ctx.section.error("base_url", e.to_string())])?;
        Ok(Arc::new(ShipHeroConnector {
            name: ctx.name,
            context,
            in_flight: InFlightCalls::new(ctx.data_dir.join("in_flight.json"), "shiphero syncs"),
            files,
            client,
        }))
    }
}

/// A ShipHero warehouse as a source and sink of stock positions.
pub struct ShipHeroConnector {
    name: String,
    context: String,
    client: ShipHeroClient,
    files: FileHost,
    in_flight: InFlightCalls,
}

impl ShipHeroConnector {
    fn config(&self) -> &ShipHeroConfig {
        self.client.config()
    }

    fn cursor_of(cursor: &Cursor) -> Result<ReadCursor, String> {
        serde_json::from_value(cursor.0.clone()).map_err(|e| {
            format!("a ShipHero cursor is {{\"updated_from\"?, \"after\"?, \"latest\"?}}: {e}")
        })
    }
}

#[async_trait]
impl Connector for ShipHeroConnector {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            reads: vec![EntityKind::StockPosition],
            writes: vec![EntityKind::StockPosition],
            max_batch: self.config().lines_per_sync,
        }
    }

    fn fields_kept(&self, _entity: EntityKind) -> Option<&'static [&'static str]> {
        // A warehouse product has on hand and allocations; no sellable status of ours.
        Some(&["sku", "location", "on_hand", "allocated"])
    }

    fn source(&self) -> Option<&dyn Source> {
        Some(self)
    }

    fn sink(&self) -> Option<&dyn Sink> {
        Some(self)
    }

    fn webhooks(&self) -> Option<&dyn WebhookReceiver> {
        self.config()
            .webhook_secret
            .is_some()
            .then_some(self as &dyn WebhookReceiver)
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        // One product proves the token, the scopes and the warehouse.
        read::read(&self.client, &ReadCursor::default(), 1, None)
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl Source for ShipHeroConnector {
    async fn read_page(&self, request: ReadRequest) -> Result<Page, ConnectorError> {
        if request.entity != EntityKind::StockPosition {
            return Err(ConnectorError::permanent(
                &self.context,
                format!("cannot read {}", request.entity),
            ));
        }
        let mut cursor = match &request.cursor {
            Some(c) => {
                Self::cursor_of(c).map_err(|e| ConnectorError::permanent(&self.context, e))?
            }
            None => ReadCursor::default(),
        };
        if request.mode == ReadMode::Full {
            cursor.updated_from = None;
        }
        let first = self.config().read_page_size.min(request.max_records.max(1));
        let page = read::read(&self.client, &cursor, first, None).await?;
        let mut afters = Vec::with_capacity(page.items.len());
        let mut items = Vec::with_capacity(page.items.len());
        for (i, (position, after)) in page.items.into_iter().enumerate() {
            afters.push(after);
            items.push(ReadItem::new(
                i as u64,
                position
                    .map(Record::StockPosition)
                    .map_err(|error| RejectedRow {
                        origin: format!("shiphero:{}:warehouse_products", self.name),
                        raw: String::new(),
                        error,
                    }),
            ));
        }
        // The next pass reads what changed since the latest change this one met.
        let next = page.next;
        let to_value =
            |c: &ReadCursor| Cursor(serde_json::to_value(c).expect("a cursor serializes"));
        let next = to_value(&next);
        Ok(Page::new(items, next, page.done, move |position| {
            to_value(&afters[position as usize])
        }))
    }

    fn check_cursor(&self, cursor: &Cursor) -> Result<(), String> {
        Self::cursor_of(cursor).map(|_| ())
    }
}

#[async_trait]
impl Sink for ShipHeroConnector {
    async fn write_batch(
        &self,
        entity: EntityKind,
        batch: &[WriteOp],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let context = &self.context;
        if entity != EntityKind::StockPosition {
            return Err(ConnectorError::permanent(
                context,
                format!("cannot write {entity}"),
            ));
        }
        let config = self.config();
        let mut outcomes: Vec<Option<WriteOutcome>> = vec![None; batch.len()];
        let mut rows = Vec::new();
        for (index, op) in batch.iter().enumerate() {
            let refused = |message: String| {
                Some(WriteOutcome::Failed(ConnectorError::permanent(
                    context, message,
                )))
            };
            match op {
                WriteOp::Upsert {
                    record: Record::StockPosition(p),
                } if p.location != config.location => {
                    outcomes[index] = refused(format!(
                        "{}: at `{}`, not at this warehouse's location `{}`",
                        p.key(),
                        p.location,
                        config.location
                    ));
                }
                WriteOp::Upsert {
                    record: Record::StockPosition(p),
                } if p.on_hand < 0 => {
                    outcomes[index] = refused(format!(
                        "{}: ShipHero holds no negative on hand ({})",
                        p.key(),
                        p.on_hand
                    ));
                }
                WriteOp::Upsert {
                    record: Record::StockPosition(p),
                } => rows.push(Row {
                    index,
                    sku: p.sku.clone(),
                    quantity: p.on_hand,
                    location: p
                        .attributes
                        .get("bin")
                        .and_then(|b| b.as_str())
                        .map(str::to_string),
                }),
                other => {
                    outcomes[index] = refused(format!(
                        "{}: an inventory sync only replaces quantities (send 0 to empty a SKU)",
                        other.key()
                    ));
                }
            }
        }
        let syncs = Syncs {
            client: &self.client,
            files: &self.files,
            in_flight: &self.in_flight,
            context,
        };
        let mut first = true;
        for chunk in rows.chunks(config.lines_per_sync.max(1)) {
            match syncs.write(chunk).await {
                Ok(done) => {
                    for (index, outcome) in done {
                        outcomes[index] = Some(outcome);
                    }
                }
                // Nothing of the batch was synced yet: the call failed as a whole.
                Err(e) if first => return Err(e),
                Err(e) => chunk
                    .iter()
                    .for_each(|r| outcomes[r.index] = Some(WriteOutcome::Failed(e.clone()))),
            }
            first = false;
        }
        Ok(outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    WriteOutcome::Failed(ConnectorError::retryable(
                        context,
                        "no outcome was found for this record",
                    ))
                })
            })
            .collect())
    }
}

#[async_trait]
impl WebhookReceiver for ShipHeroConnector {
    async fn accept(&self, request: &WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError> {
        let secret = self
            .config()
            .webhook_secret
            .as_ref()
            .map(|s| s.expose())
            .unwrap_or_default();
        if secret.is_empty() || !webhook::verified(request, secret) {
            return Err(WebhookError::Unauthorized(
                "missing or wrong `X-ShipHero-HMAC-SHA256`".into(),
            ));
        }
        let skus = webhook::moved_skus(&request.body, &self.config().warehouse_id)?;
        let message = request
            .header("x-shiphero-message-id")
            .unwrap_or("-")
            .to_string();
        let mut events = Vec::new();
        for sku in skus {
            // The webhook says which SKU moved; what it holds now is read (deliveries are
            // retried and unordered, and carry no time).
            let page = read::read(&self.client, &ReadCursor::default(), 1, Some(&sku))
                .await
                .map_err(|e| WebhookError::Unavailable(e.to_string()))?;
            for (position, _) in page.items {
                match position {
                    Ok(p) if p.sku == sku => events.push(InboundEvent {
                        id: format!("{message}:{sku}"),
                        payload: json!({ "record": Record::StockPosition(p) }),
                    }),
                    Ok(_) => {}
                    Err(error) => events.push(InboundEvent {
                        id: format!("{message}:{sku}"),
                        payload: json!({ "error": error }),
                    }),
                }
            }
        }
        Ok(events)
    }

    fn entities(&self) -> Vec<EntityKind> {
        vec![EntityKind::StockPosition]
    }

    fn decode(&self, event: &InboundEvent) -> Result<Record, String> {
        if let Some(error) = event.payload.get("error").and_then(|e| e.as_str()) {
            return Err(error.to_string());
        }
        serde_json::from_value(event.payload["record"].clone())
            .map_err(|e| format!("stored webhook event {}: {e}", event.id))
    }
}
