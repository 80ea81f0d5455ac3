//! The Salesforce connector: the MSI objects read by SOQL (poll) or taken from the managed
//! package's pushes, and stock, topology and products written through sObject Collections.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use syncd_core::{
    ApiUsage, BuildContext, Capabilities, ConfigError, Connector, ConnectorError, ConnectorFactory,
    Cursor, EntityKind, InboundEvent, Page, ReadItem, ReadMode, ReadRequest, Record, RejectedRow,
    Sink, Source, WebhookError, WebhookReceiver, WebhookRequest, WriteOp, WriteOutcome,
};

use crate::client::SalesforceClient;
use crate::config::{Reads, SalesforceConfig, MSI_KINDS};
use crate::poll::{self, PollCursor, Shape};
use crate::push::{self, Ages};
use crate::write::{self, KnownIds, Writer};

/// Builds Salesforce connectors (`kind = "salesforce"`).
pub struct SalesforceFactory;

impl ConnectorFactory for SalesforceFactory {
    fn kind(&self) -> &'static str {
        "salesforce"
    }

    fn about(&self) -> &'static str {
        "Salesforce with the Magento MSI objects (TNW PowerSync): Source Items, Sources, Stocks, links and channels read by SOQL or from the managed package's pushes; stock, sources, stocks and products written through sObject Collections"
    }

    fn keys(&self) -> &'static [syncd_core::KeyDoc] {
        crate::config::KEYS
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn Connector>, Vec<ConfigError>> {
        let config = SalesforceConfig::from_section(&ctx.section)?;
        let client = SalesforceClient::new(config.client_settings())
            .map_err(|e| vec![ctx.section.error("login_url", e.to_string())])?;
        Ok(Arc::new(SalesforceConnector {
            budget_key: format!("{}.budget_share", ctx.section.path()),
            name: ctx.name,
            ages: Ages::new(ctx.data_dir),
            known: KnownIds::default(),
            client,
            config,
        }))
    }
}

/// An org as a source and sink of the MSI objects.
pub struct SalesforceConnector {
    name: String,
    /// The key a spent budget is blamed on.
    budget_key: String,
    config: SalesforceConfig,
    client: SalesforceClient,
    known: KnownIds,
    ages: Ages,
}

/// The kinds written.
const WRITES: [EntityKind; 4] = [
    EntityKind::StockPosition,
    EntityKind::InventorySource,
    EntityKind::InventoryStock,
    EntityKind::Product,
];

impl SalesforceConnector {
    fn context(&self) -> String {
        syncd_core::error::connector_context("salesforce", &self.name)
    }

    /// Refuses to start a read or a write once the connector's share of the daily budget is
    /// used: the run stops with the reason (its writes wait in the outbox), rather than wait
    /// for hours in the middle.
    fn within_budget(&self) -> Result<(), ConnectorError> {
        match self.client.budget_spent() {
            Some(why) => Err(ConnectorError::Config(ConfigError::new(
                "the org's daily API budget",
                &self.budget_key,
                why,
            ))),
            None => Ok(()),
        }
    }

    fn cursor_of(cursor: &Cursor) -> Result<PollCursor, String> {
        serde_json::from_value(cursor.0.clone()).map_err(|e| {
            format!(
                "a Salesforce cursor is {{\"stamp\": \"<SystemModstamp>\", \"id\": \"<Id>\"}}: {e}"
            )
        })
    }
}

#[async_trait]
impl Connector for SalesforceConnector {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            reads: MSI_KINDS.to_vec(),
            writes: WRITES.to_vec(),
            max_batch: self.config.batch_size,
        }
    }

    fn fields_kept(&self, entity: EntityKind) -> Option<&'static [&'static str]> {
        // A Source Item has a quantity and a status; no allocations of ours.
        (entity == EntityKind::StockPosition)
            .then_some(&["sku", "location", "on_hand", "status"][..])
    }

    fn source(&self) -> Option<&dyn Source> {
        Some(self)
    }

    fn sink(&self) -> Option<&dyn Sink> {
        Some(self)
    }

    fn webhooks(&self) -> Option<&dyn WebhookReceiver> {
        (self.config.reads == Reads::Push).then_some(self as &dyn WebhookReceiver)
    }

    fn api_usage(&self) -> Option<ApiUsage> {
        let usage = self.client.usage();
        (usage.allocation > 0).then_some(ApiUsage {
            used: usage.used,
            limit: usage.allocation,
        })
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        // The limits prove the grant and the instance, and say where the daily budget stands.
        let limits: serde_json::Value = self
            .client
            .call::<(), _>(Method::GET, "/limits", None)
            .await?;
        let daily = &limits["DailyApiRequests"];
        if let (Some(max), Some(remaining)) = (daily["Max"].as_u64(), daily["Remaining"].as_u64()) {
            let allowed = (max as f64 * self.config.budget_share).floor() as u64;
            let used = max.saturating_sub(remaining);
            if used >= allowed {
                return Err(ConnectorError::rate_limited(
                    format!(
                        "{}: the org has used {used} of its {max} daily API requests, and this connector may use {} of them (budget_share = {})",
                        self.context(),
                        allowed,
                        self.config.budget_share
                    ),
                    Duration::from_secs(3600),
                ));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Source for SalesforceConnector {
    async fn read_page(&self, request: ReadRequest) -> Result<Page, ConnectorError> {
        self.within_budget()?;
        let context = self.context();
        let names = &self.config.names;
        let shape = Shape::of(names, request.entity).ok_or_else(|| {
            ConnectorError::permanent(&context, format!("cannot read {}", request.entity))
        })?;
        let cursor = match &request.cursor {
            Some(c) => Self::cursor_of(c).map_err(|e| ConnectorError::permanent(&context, e))?,
            None => PollCursor::default(),
        };
        let incremental = request.mode == ReadMode::Incremental;
        let batch = self.config.read_batch_size.min(request.max_records.max(1));
        let polled = poll::read(&self.client, names, &shape, &cursor, incremental, batch).await?;
        let mut items = Vec::with_capacity(polled.rows.len());
        let mut afters = Vec::with_capacity(polled.rows.len());
        for (i, row) in polled.rows.into_iter().enumerate() {
            let position = i as u64;
            let id = row.after.id.clone().unwrap_or_default();
            afters.push(row.after);
            match (row.record, row.deleted) {
                (Ok(record), deleted) => {
                    if let Record::StockPosition(p) = &record {
                        match deleted {
                            true => self.known.forget(&p.key()),
                            false => self.known.put(p.key(), id.clone()),
                        }
                    }
                    items.push(match deleted {
                        true => ReadItem::tombstone(position, record),
                        false => ReadItem::new(position, Ok(record)),
                    });
                }
                (Err(e), true) => {
                    // Deleted, and what it was cannot be told (its parent went first): there
                    // is nothing to delete by.
                    tracing::warn!(connector = %self.name, error = %e, "a deleted row cannot be read: its delete is not carried");
                }
                (Err(e), false) => items.push(ReadItem::new(
                    position,
                    Err(RejectedRow {
                        origin: format!("salesforce:{}/{id}", shape.object),
                        raw: String::new(),
                        error: e.to_string(),
                    }),
                )),
            }
        }
        let last = afters.last().cloned();
        let (next, done) = match (&polled.next, last) {
            (Some(locator), Some(last)) => (
                PollCursor {
                    next: Some(locator.clone()),
                    ..last
                },
                false,
            ),
            (_, Some(last)) if incremental => (
                poll::rewound(&last, Duration::from_secs(self.config.overlap_secs)),
                true,
            ),
            (_, Some(last)) => (last, true),
            // Nothing new: stay where the cursor was (it was rewound already).
            (_, None) => (
                PollCursor {
                    next: None,
                    ..cursor
                },
                true,
            ),
        };
        let to_value =
            |c: &PollCursor| Cursor(serde_json::to_value(c).expect("a cursor serializes"));
        let next = to_value(&next);
        Ok(Page::new(items, next, done, move |position| {
            to_value(&afters[position as usize])
        }))
    }

    fn check_cursor(&self, cursor: &Cursor) -> Result<(), String> {
        Self::cursor_of(cursor).map(|_| ())
    }
}

#[async_trait]
impl Sink for SalesforceConnector {
    async fn write_batch(
        &self,
        entity: EntityKind,
        batch: &[WriteOp],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        self.within_budget()?;
        let context = self.context();
        if !WRITES.contains(&entity) {
            return Err(ConnectorError::permanent(
                &context,
                format!("cannot write {entity}"),
            ));
        }
        let writer = Writer {
            client: &self.client,
            names: &self.config.names,
            known: &self.known,
            context: &context,
            name_attribute: &self.config.product_name_attribute,
            locale: &self.config.product_locale,
        };
        let per_call = self.config.batch_size;
        let mut outcomes: Vec<Option<WriteOutcome>> = vec![None; batch.len()];
        let split = write::split(batch);
        let mut deletes = Vec::new();
        let mut product_deletes = Vec::new();
        for (i, op) in &split.other {
            match op {
                WriteOp::Delete { key, entity } if *entity == EntityKind::Product => {
                    product_deletes.push((*i, key.parts().concat()));
                }
                WriteOp::Delete { key, entity } if *entity == EntityKind::StockPosition => {
                    match key.parts().as_slice() {
                        [sku, location] => deletes
                            .push((*i, syncd_core::model::StockPosition::new(sku, location, 0))),
                        _ => {
                            outcomes[*i] = Some(WriteOutcome::Failed(ConnectorError::permanent(
                                &context,
                                format!("{key}: not a stock position's key"),
                            )))
                        }
                    }
                }
                other => {
                    outcomes[*i] = Some(WriteOutcome::Failed(ConnectorError::permanent(
                        &context,
                        format!(
                        "{}: Salesforce takes upserts of {} and deletes of Source Items, not this",
                        other.key(),
                        WRITES.map(|k| k.as_str()).join(", ")
                    ),
                    )))
                }
            }
        }
        writer
            .positions(&split.positions, per_call, &mut outcomes)
            .await?;
        writer
            .sources(&split.sources, per_call, &mut outcomes)
            .await?;
        writer
            .stocks(&split.stocks, per_call, &mut outcomes)
            .await?;
        writer
            .products(&split.products, per_call, &mut outcomes)
            .await?;
        writer.delete_positions(&deletes, &mut outcomes).await?;
        writer
            .delete_products(&product_deletes, &mut outcomes)
            .await?;
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
impl WebhookReceiver for SalesforceConnector {
    async fn accept(&self, request: &WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError> {
        let secret = self
            .config
            .push_secret
            .as_ref()
            .map(|s| s.expose())
            .unwrap_or_default();
        if !request.bears(secret) {
            return Err(WebhookError::Unauthorized(
                "missing or wrong `Authorization: Bearer <push_secret>`".into(),
            ));
        }
        if request.path != "/" {
            return Err(WebhookError::NoRoute(request.path.clone()));
        }
        push::events(
            &request.body,
            &self.config.names,
            &self.config.push_entities,
            &self.ages,
        )
    }

    fn entities(&self) -> Vec<EntityKind> {
        self.config.push_entities.clone()
    }

    fn decode(&self, event: &InboundEvent) -> Result<Record, String> {
        push::decode(event)
    }
}
