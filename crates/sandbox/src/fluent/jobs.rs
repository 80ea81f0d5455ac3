//! The Job and Batch API: jobs stay OPEN until midnight UTC (or a test closes them); batches of
//! up to `batch_limit` UPSERT INVENTORY entities move PENDING → RUNNING → COMPLETE as their
//! status is read, and are applied (through Batch Pre-Processing when on) when they complete.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};

use super::auth::refusal;
use super::inventory::StoredQuantity;
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
    retailer_id: serde_json::Value,
    meta: Option<serde_json::Value>,
    created: DateTime<Utc>,
    closed: bool,
    batches: Vec<u64>,
}

struct Batch {
    job: u64,
    catalogue_ref: String,
    preprocessing: bool,
    entities: Vec<Entity>,
    status: BatchStatus,
    reads: u32,
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

fn same_retailer(value: &serde_json::Value, retailer: u64) -> bool {
    match value {
        serde_json::Value::Number(n) => n.as_u64() == Some(retailer),
        serde_json::Value::String(s) => s.parse::<u64>().ok() == Some(retailer),
        _ => false,
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
    if !same_retailer(&new.retailer_id, fluent.config.retailer_id) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("Unknown retailerId {}", new.retailer_id),
        );
    }
    let mut jobs = fluent.jobs.lock().expect("jobs lock");
    let id = jobs.next();
    jobs.jobs.insert(
        id,
        Job {
            name: new.name.unwrap_or_default(),
            retailer_id: new.retailer_id,
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
    // Nonconforming entities are ignored, as documented.
    let entities: Vec<Entity> = new
        .entities
        .into_iter()
        .filter_map(|e| serde_json::from_value(e).ok())
        .collect();
    let batch_id = jobs.next();
    let now = Utc::now();
    jobs.batches.insert(
        batch_id,
        Batch {
            job: job_id,
            catalogue_ref: new
                .catalogue_ref
                .unwrap_or_else(|| format!("DEFAULT:{}", cfg.retailer_id)),
            preprocessing,
            entities,
            status: BatchStatus::Pending,
            reads: 0,
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
    Json(Created {
        id: batch_id.to_string(),
    })
    .into_response()
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
    for (i, e) in batch.entities.iter().enumerate() {
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
        if cfg
            .known_locations
            .as_ref()
            .is_some_and(|known| !known.contains(&e.location_ref))
        {
            status(404, format!("Location '{}' not found", e.location_ref));
            continue;
        }
        if e.qty < 0 || e.corrected_qty.unwrap_or(0) < 0 {
            status(400, "qty and correctedQty must be non-negative".into());
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
        if !(batch.preprocessing && inventory.unchanged(&q)) {
            inventory.apply(q);
        }
        if cfg.results_for_all {
            status(200, "OK".into());
        }
    }
}

/// `GET /api/v4.1/job/{id}/batch/{batchId}`.
pub async fn get_batch(
    State(fluent): State<Arc<Fluent>>,
    Path((id, batch_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(denied) = refusal(&fluent, &headers) {
        return denied;
    }
    let mut jobs = fluent.jobs.lock().expect("jobs lock");
    let found = batch_id.parse::<u64>().ok().filter(|b| {
        jobs.batches
            .get(b)
            .is_some_and(|batch| batch.job.to_string() == id)
    });
    let Some(batch_key) = found else {
        return error(
            StatusCode::NOT_FOUND,
            format!("Batch {batch_id} of job {id} not found"),
        );
    };
    let batch = jobs.batches.get_mut(&batch_key).expect("checked above");
    batch.reads += 1;
    // One step per read: the first read finds it running, the configured read completes it.
    if batch.status == BatchStatus::Pending {
        batch.status = BatchStatus::Running;
        batch.modified = Utc::now();
    }
    if batch.status == BatchStatus::Running && batch.reads >= fluent.config.polls_to_complete {
        process(&fluent, batch);
        batch.status = BatchStatus::Complete;
        batch.modified = Utc::now();
    }
    Json(serde_json::json!({
        "id": batch_id,
        "batchId": batch_id,
        "jobId": id,
        "action": "UPSERT",
        "entityType": "INVENTORY",
        "status": batch.status.as_str(),
        "start": 1,
        "count": batch.entities.len(),
        "total": batch.entities.len(),
        "results": batch.results,
        "createdOn": timestamp(batch.created),
        "lastModifiedOn": timestamp(batch.modified),
    }))
    .into_response()
}
