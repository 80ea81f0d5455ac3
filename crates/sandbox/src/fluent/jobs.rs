//! The Job and Batch API: jobs stay OPEN until midnight UTC (or a test closes them); batches of
//! up to `batch_limit` UPSERT INVENTORY entities move PENDING → RUNNING → COMPLETE on Fluent's
//! own clock, polled or not, and are applied (through Batch Pre-Processing when on) as they
//! complete. A batch's `results` are read a page at a time (`?start=&count=`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};

use super::auth::refusal;
use super::inventory::{default_related, Related, StoredQuantity};
use super::wire::{error, timestamp, Created, Entity, NewBatch, NewJob, RecordStatus};
use super::Fluent;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BatchStatus {
    Pending,
    Running,
    Complete,
}

impl BatchStatus {
    fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Pending => "PENDING",
            BatchStatus::Running => "RUNNING",
            BatchStatus::Complete => "COMPLETE",
        }
    }
}

struct Job {
    name: String,
    retailer_id: u64,
    meta: Option<serde_json::Value>,
    created: DateTime<Utc>,
    closed: bool,
    batches: Vec<u64>,
}

struct Batch {
    job: u64,
    retailer_id: u64,
    catalogue_ref: String,
    preprocessing: bool,
    related: Vec<Related>,
    /// The entities as sent: a nonconforming one is ignored when the batch runs.
    entities: Vec<serde_json::Value>,
    status: BatchStatus,
    results: Vec<RecordStatus>,
    created: DateTime<Utc>,
    modified: DateTime<Utc>,
}

/// Every job and batch.
#[derive(Default)]
pub struct Jobs {
    jobs: BTreeMap<u64, Job>,
    batches: BTreeMap<u64, Batch>,
    next_id: u64,
}

impl Jobs {
    fn next(&mut self) -> u64 {
        self.next_id += 1;
        // Fluent ids are numbers in strings; start where the documented examples do.
        198 + self.next_id
    }

    /// Closes job `id`.
    pub fn close(&mut self, id: &str) {
        if let Some(job) = id.parse().ok().and_then(|id: u64| self.jobs.get_mut(&id)) {
            job.closed = true;
        }
    }

    /// Every job id.
    pub fn ids(&self) -> Vec<String> {
        self.jobs.keys().map(u64::to_string).collect()
    }
}

fn job_is_open(job: &Job, midnight: bool) -> bool {
    let past_midnight = midnight && job.created.date_naive() < Utc::now().date_naive();
    !(job.closed || past_midnight)
}

/// A retailer id given as a number or a numeric string (the seed's examples use both).
fn retailer_of(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse::<u64>().ok(),
        _ => None,
    }
}

/// `POST /api/v4.1/job`.
pub async fn create_job(
    State(fluent): State<Arc<Fluent>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(denied) = refusal(&fluent, &headers) {
        return denied;
    }
    let new: NewJob = match serde_json::from_slice(&body) {
        Ok(j) => j,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("Invalid job: {e}")),
    };
    let Some(retailer_id) =
        retailer_of(&new.retailer_id).filter(|r| fluent.config.retailers().contains(r))
    else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("Unknown retailerId {}", new.retailer_id),
        );
    };
    let mut jobs = fluent.jobs.lock().expect("jobs lock");
    let id = jobs.next();
    jobs.jobs.insert(
        id,
        Job {
            name: new.name.unwrap_or_default(),
            retailer_id,
            meta: new.meta,
            created: Utc::now(),
            closed: false,
            batches: Vec::new(),
        },
    );
    Json(Created { id: id.to_string() }).into_response()
}

/// `GET /api/v4.1/job/{id}`.
pub async fn get_job(
    State(fluent): State<Arc<Fluent>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(denied) = refusal(&fluent, &headers) {
        return denied;
    }
    let jobs = fluent.jobs.lock().expect("jobs lock");
    let Some(job) = id.parse().ok().and_then(|id: u64| jobs.jobs.get(&id)) else {
        return error(StatusCode::NOT_FOUND, format!("Job {id} not found"));
    };
    let batches: Vec<serde_json::Value> = job
        .batches
        .iter()
        .filter_map(|b| jobs.batches.get(b).map(|batch| (b, batch)))
        .map(|(b, batch)| {
            serde_json::json!({
                "batchId": b.to_string(),
                "status": batch.status.as_str(),
                "createdOn": timestamp(batch.created),
            })
        })
        .collect();
    let open = job_is_open(job, fluent.config.close_jobs_at_midnight);
    Json(serde_json::json!({
        "jobId": id,
        "status": if open { "OPEN" } else { "CLOSED" },
        "batch": batches,
        "name": job.name,
        "retailerId": job.retailer_id,
        "meta": job.meta,
        "createdOn": timestamp(job.created),
    }))
    .into_response()
}

/// `POST /api/v4.1/job/{id}/batch`.
pub async fn create_batch(
    State(fluent): State<Arc<Fluent>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(denied) = refusal(&fluent, &headers) {
        return denied;
    }
    let cfg = &fluent.config;
    let new: NewBatch = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("Invalid batch: {e}")),
    };
    if new.action != "UPSERT" {
        return error(
            StatusCode::BAD_REQUEST,
            format!("Unsupported action '{}': expected UPSERT", new.action),
        );
    }
    if new.entity_type != "INVENTORY" {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "Unsupported entityType '{}': expected INVENTORY",
                new.entity_type
            ),
        );
    }
    if new.entities.len() > cfg.batch_limit {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "Batch has {} entities: at most {} are allowed per batch",
                new.entities.len(),
                cfg.batch_limit
            ),
        );
    }
    let mut jobs = fluent.jobs.lock().expect("jobs lock");
    let Some(job_id) = id.parse::<u64>().ok().filter(|j| jobs.jobs.contains_key(j)) else {
        return error(StatusCode::NOT_FOUND, format!("Job {id} not found"));
    };
    let job = &jobs.jobs[&job_id];
    if !job_is_open(job, cfg.close_jobs_at_midnight) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("Job {id} is CLOSED: create a new job"),
        );
    }
    let preprocessing = cfg.batch_preprocessing
        && job
            .meta
            .as_ref()
            .and_then(|m| m.get("preprocessing"))
            .and_then(|p| p.as_str())
            != Some("skip");
    let related = match new.conditions {
        Some(conditions) => conditions.has_related_inventory_quantities,
        None => default_related(),
    };
    let retailer_id = job.retailer_id;
    let batch_id = jobs.next();
    let now = Utc::now();
    jobs.batches.insert(
        batch_id,
        Batch {
            job: job_id,
            retailer_id,
            catalogue_ref: new
                .catalogue_ref
                .unwrap_or_else(|| format!("DEFAULT:{retailer_id}")),
            preprocessing,
            related,
            entities: new.entities,
            status: BatchStatus::Pending,
            results: Vec::new(),
            created: now,
            modified: now,
        },
    );
    jobs.jobs
        .get_mut(&job_id)
        .expect("checked above")
        .batches
        .push(batch_id);
    drop(jobs);
    tokio::spawn(run_batch(fluent.clone(), batch_id));
    Json(Created {
        id: batch_id.to_string(),
    })
    .into_response()
}

/// A batch's life on Fluent's clock: PENDING for a while, RUNNING for a while, then applied
/// and COMPLETE, whether or not anyone reads its status.
async fn run_batch(fluent: Arc<Fluent>, id: u64) {
    let step = |status: BatchStatus| {
        let mut jobs = fluent.jobs.lock().expect("jobs lock");
        if let Some(batch) = jobs.batches.get_mut(&id) {
            if status == BatchStatus::Complete {
                process(&fluent, batch);
            }
            batch.status = status;
            batch.modified = Utc::now();
        }
    };
    tokio::time::sleep(std::time::Duration::from_millis(
        fluent.config.batch_pending_ms,
    ))
    .await;
    step(BatchStatus::Running);
    tokio::time::sleep(std::time::Duration::from_millis(
        fluent.config.batch_running_ms,
    ))
    .await;
    step(BatchStatus::Complete);
}

/// The ref Fluent builds when a record names none.
pub fn default_ref(sku: &str, location: &str, catalogue_ref: &str, kind: &str) -> String {
    let catalogue_type = catalogue_ref.split(':').next().unwrap_or(catalogue_ref);
    format!("{sku}:{location}:{catalogue_type}:{kind}")
}

fn process(fluent: &Fluent, batch: &mut Batch) {
    let cfg = &fluent.config;
    let mut inventory = fluent.inventory.lock().expect("inventory lock");
    let now = Utc::now();
    for (i, raw) in batch.entities.iter().enumerate() {
        // "Nonconforming inputs are ignored": no result names them.
        let Ok(e) = serde_json::from_value::<Entity>(raw.clone()) else {
            continue;
        };
        if e.qty < 0 || e.corrected_qty.unwrap_or(0) < 0 || cfg.ignored_skus.contains(&e.sku_ref) {
            continue;
        }
        let kind = e.kind.clone().unwrap_or_else(|| "LAST_ON_HAND".into());
        let reference = e.reference.clone().unwrap_or_else(|| {
            default_ref(&e.sku_ref, &e.location_ref, &batch.catalogue_ref, &kind)
        });
        let mut status = |code: u16, message: String| {
            batch.results.push(RecordStatus {
                entity_id: (i + 1).to_string(),
                entity_ref: reference.clone(),
                response_code: code,
                message,
            })
        };
        if retailer_of(&e.retailer_id) != Some(batch.retailer_id) {
            status(
                301,
                format!(
                    "Unauthorised: retailer {} is not the job's ({})",
                    e.retailer_id, batch.retailer_id
                ),
            );
            continue;
        }
        if cfg
            .known_locations
            .as_ref()
            .is_some_and(|known| !known.contains(&e.location_ref))
        {
            status(404, format!("Location '{}' not found", e.location_ref));
            continue;
        }
        if cfg.failing_skus.contains(&e.sku_ref) {
            status(500, "Internal error while processing the record".into());
            continue;
        }
        let q = StoredQuantity {
            catalogue_ref: batch.catalogue_ref.clone(),
            location_ref: e.location_ref.clone(),
            sku_ref: e.sku_ref.clone(),
            reference: reference.clone(),
            kind,
            status: e.status.clone().unwrap_or_else(|| "ACTIVE".into()),
            qty: e.qty,
            corrected_qty: e.corrected_qty.unwrap_or(0),
            attributes: e.attributes.clone().unwrap_or_default(),
            updated_on: timestamp(now),
        };
        if !(batch.preprocessing && inventory.unchanged(&q, &batch.related)) {
            inventory.apply(q);
        }
        if cfg.results_for_all {
            status(200, "OK".into());
        }
    }
}

/// `?start=&count=`: which page of a batch's results (1-based).
#[derive(serde::Deserialize)]
pub struct ResultsPage {
    start: Option<usize>,
    count: Option<usize>,
}

/// Results per page when the reader does not ask.
const DEFAULT_COUNT: usize = 10;

/// `GET /api/v4.1/job/{id}/batch/{batchId}`: the batch, with one page of its results.
pub async fn get_batch(
    State(fluent): State<Arc<Fluent>>,
    Path((id, batch_id)): Path<(String, String)>,
    Query(page): Query<ResultsPage>,
    headers: HeaderMap,
) -> Response {
    if let Some(denied) = refusal(&fluent, &headers) {
        return denied;
    }
    let jobs = fluent.jobs.lock().expect("jobs lock");
    let found = batch_id.parse::<u64>().ok().and_then(|b| {
        jobs.batches
            .get(&b)
            .filter(|batch| batch.job.to_string() == id)
    });
    let Some(batch) = found else {
        return error(
            StatusCode::NOT_FOUND,
            format!("Batch {batch_id} of job {id} not found"),
        );
    };
    let start = page.start.unwrap_or(1).max(1);
    let count = page
        .count
        .unwrap_or(DEFAULT_COUNT)
        .clamp(1, fluent.config.results_page_max);
    let results: Vec<&RecordStatus> = batch.results.iter().skip(start - 1).take(count).collect();
    Json(serde_json::json!({
        "id": batch_id,
        "batchId": batch_id,
        "jobId": id,
        "action": "UPSERT",
        "entityType": "INVENTORY",
        "status": batch.status.as_str(),
        "start": start,
        "count": count,
        "total": batch.results.len(),
        "results": results,
        "createdOn": timestamp(batch.created),
        "lastModifiedOn": timestamp(batch.modified),
    }))
    .into_response()
}
