//! The Fluent connector: writes stock positions as batches of today's job and reads them back
//! through GraphQL.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::Method;
use syncd_core::{
    BuildContext, Capabilities, ConfigError, Connector, ConnectorError, ConnectorFactory, Cursor,
    EntityKind, ErrorClass, Page, ReadItem, ReadRequest, Record, Sink, Source, WriteOp,
    WriteOutcome,
};

use crate::client::FluentClient;
use crate::config::FluentConfig;
use crate::job::JobKeeper;
use crate::wire::{BatchStatus, Created, Entity, GraphqlAnswer, NewBatch, POSITIONS_QUERY};

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
            jobs: JobKeeper::new(ctx.data_dir),
            client,
        }))
    }
}

/// A Fluent account as a source and sink of stock positions.
pub struct FluentConnector {
    name: String,
    client: FluentClient,
    jobs: JobKeeper,
}

const POLL_FIRST: Duration = Duration::from_millis(50);
const POLL_MAX: Duration = Duration::from_secs(5);

impl FluentConnector {
    fn config(&self) -> &FluentConfig {
        self.client.config()
    }

    /// Posts a batch to today's job; a closed job is replaced once.
    async fn post_batch(&self, batch: &NewBatch<'_>) -> Result<(String, String), ConnectorError> {
        for attempt in 0..2 {
            let job = self.jobs.current(&self.client).await?;
            let path = format!("/api/v4.1/job/{job}/batch");
            match self
                .client
                .call::<_, Created>(Method::POST, &path, Some(batch))
                .await
            {
                Ok(created) => return Ok((job, created.id)),
                Err(ConnectorError::Permanent { message, .. })
                    if attempt == 0
                        && (message.contains("CLOSED") || message.starts_with("404")) =>
                {
                    tracing::info!(job = %job, "Fluent job closed: creating a new one");
                    self.jobs.replace(&job).await;
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("the second attempt returns")
    }

    /// Reads the batch's status until COMPLETE, backing off; transient failures of a status
    /// read are retried here (re-sending the batch is not needed for them).
    async fn await_batch(&self, job: &str, batch: &str) -> Result<BatchStatus, ConnectorError> {
        let path = format!("/api/v4.1/job/{job}/batch/{batch}");
        let deadline = Instant::now() + Duration::from_secs(self.config().poll_timeout_secs);
        let mut wait = POLL_FIRST;
        loop {
            match self
                .client
                .call::<(), BatchStatus>(Method::GET, &path, None)
                .await
            {
                Ok(status) if status.status == "COMPLETE" => return Ok(status),
                Ok(_) => {}
                Err(e) if matches!(e.class(), ErrorClass::Retryable | ErrorClass::RateLimited) => {
                    if let Some(asked) = e.requested_wait() {
                        wait = wait.max(asked);
                    }
                    tracing::debug!(error = %e, "batch status read failed; reading again");
                }
                Err(e) => return Err(e),
            }
            if Instant::now() + wait > deadline {
                return Err(ConnectorError::retryable(
                    format!("fluent batch {batch} of job {job}"),
                    format!("not COMPLETE after {}s", self.config().poll_timeout_secs),
                ));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(POLL_MAX);
        }
    }
}

fn outcome_of(code: u16, message: &str, context: &str) -> WriteOutcome {
    match code {
        200..=299 => WriteOutcome::Applied,
        500..=599 => WriteOutcome::Failed(ConnectorError::retryable(
            context,
            format!("{code} {message}"),
        )),
        _ => WriteOutcome::Failed(ConnectorError::permanent(
            context,
            format!("{code} {message}"),
        )),
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
        let context = syncd_core::error::connector_context("fluent", &self.name);
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
                } if p.on_hand >= 0 => {
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
                            "{}: Fluent quantities are non-negative (on_hand {})",
                            p.key(),
                            p.on_hand
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
        if !entities.is_empty() {
            let body = NewBatch {
                action: "UPSERT",
                entity_type: "INVENTORY",
                source: &config.source,
                event: &config.event,
                catalogue_ref: config.catalogue(),
                entities,
            };
            let (job, batch_id) = self.post_batch(&body).await?;
            let status = self.await_batch(&job, &batch_id).await?;
            for result in status.results {
                if let Some(&i) = sent.get(&result.entity_ref) {
                    outcomes[i] = Some(outcome_of(
                        result.response_code,
                        &result.message,
                        &format!("{context}: {}", result.entity_ref),
                    ));
                }
            }
        }
        // Records the batch's results do not name were processed without error.
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or(WriteOutcome::Applied))
            .collect())
    }
}

#[async_trait]
impl Source for FluentConnector {
    async fn read_page(&self, request: ReadRequest) -> Result<Page, ConnectorError> {
        let config = self.config();
        let after = request
            .cursor
            .as_ref()
            .and_then(|c| c.0.as_str().map(str::to_string));
        let first = request.max_records.min(config.read_page_size).max(1);
        let body = serde_json::json!({
            "query": POSITIONS_QUERY,
            "variables": {
                "catalogue": config.catalogue(),
                "first": first,
                "after": after,
                "types": [config.inventory_type],
            }
        });
        let answer: GraphqlAnswer = self
            .client
            .call(Method::POST, "/graphql", Some(&body))
            .await?;
        if !answer.errors.is_empty() || answer.data.is_none() {
            return Err(ConnectorError::permanent(
                format!(
                    "{} POST /graphql",
                    syncd_core::error::connector_context("fluent", &self.name)
                ),
                format!(
                    "GraphQL errors: {}",
                    serde_json::Value::Array(answer.errors)
                ),
            ));
        }
        let connection = answer.data.expect("checked above").inventory_positions;
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
