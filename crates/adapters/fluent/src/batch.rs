//! One batch's life. It is posted to today's job (a job `GET /job/{id}` reports closed is
//! replaced, once), and kept in flight under a digest of its body until its outcome is known,
//! so that a retry or a restart sending the same body waits for that batch instead of posting
//! it again. Then it is polled until COMPLETE; its results are read page by page; and every
//! record they do not name is read back (GraphQL) before it counts as applied: Fluent ignores a
//! record it finds nonconforming without a word.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use syncd_core::in_flight::InFlightCalls;
use syncd_core::{ConnectorError, ErrorClass, WriteOutcome};

use crate::client::FluentClient;
use crate::graphql::Failure;
use crate::job::JobKeeper;
use crate::wire::{
    BatchStatus, Created, JobStatus, NewBatch, QuantitiesData, RecordStatus, QUANTITIES_QUERY,
};

const POLL_FIRST: Duration = Duration::from_millis(50);
const POLL_MAX: Duration = Duration::from_secs(5);
/// Results asked per status read.
const RESULTS_PAGE: u64 = 1000;

/// A batch Fluent accepted: where to read its status.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Posted {
    job: String,
    batch: String,
}

/// What a batch needs besides its body.
pub struct Batches<'a> {
    /// The account.
    pub client: &'a FluentClient,
    /// Today's job.
    pub jobs: &'a JobKeeper,
    /// Batches posted whose outcome is not known yet.
    pub in_flight: &'a InFlightCalls,
    /// `fluent <name>`, for errors.
    pub context: &'a str,
}

impl Batches<'_> {
    /// Sends `body` (or waits for the batch already sent with it) and gives each entity's
    /// outcome, by its ref.
    pub async fn write(
        &self,
        body: &NewBatch<'_>,
    ) -> Result<HashMap<String, WriteOutcome>, ConnectorError> {
        let bytes = serde_json::to_vec(body).expect("a batch serializes");
        let digest = InFlightCalls::digest(&bytes);
        let posted = match self.in_flight.find::<Posted>(&digest) {
            Some(posted) => {
                tracing::info!(job = %posted.job, batch = %posted.batch, "waiting for the Fluent batch already sent with this content");
                posted
            }
            None => {
                let posted = self.post(body).await?;
                self.in_flight.keep(&digest, &posted)?;
                syncd_core::crash::point("batch_kept");
                posted
            }
        };
        let results = match self.results(&posted).await {
            Ok(results) => results,
            // Refused for good: if Fluent no longer knows the batch (its job was purged), send
            // it again next time; if it does, the refusal stands (posting it again would only
            // make a duplicate that is refused the same way).
            Err(e) if e.class() == ErrorClass::Permanent => {
                if self.batch_known(&posted).await? {
                    return Err(e);
                }
                self.in_flight.forget(&digest)?;
                return Err(ConnectorError::retryable(self.context, e.to_string()));
            }
            Err(e) => return Err(e),
        };
        let mut outcomes: HashMap<String, WriteOutcome> = results
            .into_iter()
            .map(|r| {
                let context = format!("{}: {}", self.context, r.entity_ref);
                (
                    r.entity_ref,
                    outcome_of(r.response_code, &r.message, &context),
                )
            })
            .collect();
        let unreported: Vec<&crate::wire::Entity> = body
            .entities
            .iter()
            .filter(|e| !outcomes.contains_key(&e.reference))
            .collect();
        outcomes.extend(self.read_back(&body.catalogue_ref, &unreported).await?);
        self.in_flight.forget(&digest)?;
        Ok(outcomes)
    }

    /// Posts `body` to today's job; a job Fluent reports closed is replaced once.
    async fn post(&self, body: &NewBatch<'_>) -> Result<Posted, ConnectorError> {
        for attempt in 0..2 {
            let job = self.jobs.current(self.client).await?;
            let path = format!("/api/v4.1/job/{job}/batch");
            match self
                .client
                .call::<_, Created>(Method::POST, &path, Some(body))
                .await
            {
                Ok(created) => {
                    return Ok(Posted {
                        job,
                        batch: created.id,
                    })
                }
                Err(e) if attempt == 0 && e.class() == ErrorClass::Permanent => {
                    if JobKeeper::is_open(self.client, &job).await? {
                        return Err(e);
                    }
                    tracing::info!(job = %job, "Fluent job closed: creating a new one");
                    self.jobs.replace(&job).await;
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("the second attempt returns")
    }

    /// Whether Fluent still lists the batch under its job.
    async fn batch_known(&self, posted: &Posted) -> Result<bool, ConnectorError> {
        let path = format!("/api/v4.1/job/{}", posted.job);
        match self
            .client
            .call::<(), JobStatus>(Method::GET, &path, None)
            .await
        {
            Ok(job) => Ok(job.batch.iter().any(|b| b.batch_id == posted.batch)),
            Err(e) if e.class() == ErrorClass::Permanent => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Polls the batch until COMPLETE, then reads every page of its results.
    async fn results(&self, posted: &Posted) -> Result<Vec<RecordStatus>, ConnectorError> {
        let config = self.client.config();
        let path = format!("/api/v4.1/job/{}/batch/{}", posted.job, posted.batch);
        let deadline = Instant::now() + Duration::from_secs(config.poll_timeout_secs);
        let mut wait = POLL_FIRST;
        let mut results = Vec::new();
        let mut start = 1;
        loop {
            let page = format!("{path}?start={start}&count={RESULTS_PAGE}");
            match self
                .client
                .call::<(), BatchStatus>(Method::GET, &page, None)
                .await
            {
                Ok(status) if status.status == "COMPLETE" => {
                    // Paged by our own count of what came, not the answer's echo of `start`:
                    // an answer that ignored `start` still ends the loop.
                    let got = status.results.len() as u64;
                    results.extend(status.results);
                    let total = status.total.unwrap_or(0);
                    if got == 0 || start + got > total {
                        return Ok(results);
                    }
                    start += got;
                    continue;
                }
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
                    format!(
                        "{}: batch {} of job {}",
                        self.context, posted.batch, posted.job
                    ),
                    format!("not COMPLETE after {}s", config.poll_timeout_secs),
                ));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(POLL_MAX);
        }
    }

    /// The outcome of records no result named: applied when Fluent holds what was sent.
    async fn read_back(
        &self,
        catalogue: &str,
        entities: &[&crate::wire::Entity],
    ) -> Result<HashMap<String, WriteOutcome>, ConnectorError> {
        let config = self.client.config();
        let mut outcomes = HashMap::with_capacity(entities.len());
        let context = format!("{} POST /graphql (read-back)", self.context);
        let mut size = READ_BACK_CHUNK;
        let mut rest = entities;
        while !rest.is_empty() {
            let (chunk, after_chunk) = rest.split_at(size.min(rest.len()));
            let held = match self
                .held(&context, catalogue, &config.inventory_type, chunk)
                .await
            {
                Ok(held) => held,
                Err(Failure::TooComplex(_)) if size > 1 => {
                    size /= 2;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            for e in chunk {
                outcomes.insert(
                    e.reference.clone(),
                    read_back_outcome(self.context, e, held.get(&e.reference)),
                );
            }
            rest = after_chunk;
        }
        Ok(outcomes)
    }

    /// What Fluent holds of `entities`' quantities: ref → (quantity, status).
    async fn held(
        &self,
        context: &str,
        catalogue: &str,
        kind: &str,
        entities: &[&crate::wire::Entity],
    ) -> Result<HashMap<String, (i64, Option<String>)>, Failure> {
        let refs: Vec<&str> = entities.iter().map(|e| e.reference.as_str()).collect();
        let mut held = HashMap::with_capacity(refs.len());
        let mut after: Option<String> = None;
        loop {
            let data: QuantitiesData = crate::graphql::query(
                self.client,
                context,
                QUANTITIES_QUERY,
                serde_json::json!({
                    "catalogue": catalogue,
                    "refs": refs,
                    "types": [kind],
                    "first": refs.len(),
                    "after": after,
                }),
            )
            .await?;
            let page = data.inventory_quantities;
            after = page.edges.last().map(|e| e.cursor.clone());
            for edge in page.edges {
                held.insert(edge.node.reference, (edge.node.quantity, edge.node.status));
            }
            if !page.page_info.has_next_page || after.is_none() {
                return Ok(held);
            }
        }
    }
}

/// Records read back per query: the quantities query weighs about 8 a node, so a thousand stay
/// under Fluent's complexity limit of 11,111 (and a refusal halves it).
const READ_BACK_CHUNK: usize = 1000;

fn read_back_outcome(
    context: &str,
    e: &crate::wire::Entity,
    found: Option<&(i64, Option<String>)>,
) -> WriteOutcome {
    match found {
        Some((qty, status)) if *qty == e.qty && status.as_deref().is_none_or(|s| s == e.status) => {
            WriteOutcome::Applied
        }
        found => WriteOutcome::Failed(ConnectorError::retryable(
            format!("{context}: {}", e.reference),
            match found {
                Some((qty, status)) => format!(
                    "the batch named no result for it, and Fluent holds {qty} ({}) where {} ({}) was sent",
                    status.as_deref().unwrap_or("no status"),
                    e.qty,
                    e.status
                ),
                None => "the batch named no result for it, and Fluent holds no such quantity (ignored as nonconforming?)".to_string(),
            },
        )),
    }
}

/// A record's outcome from its `responseCode` (200 ok, 404 dependent record missing, 500
/// internal, 301 unauthorised, as Fluent documents them).
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
