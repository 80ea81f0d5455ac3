//! The import API: create, start, status. Starting downloads the zip from `source_uri`, then
//! (after `processing_delay_ms`) applies it: the store mapping's DC locations, on-hand per
//! (product, node), then the allocation ranges.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::auth::refusal;
use super::stock::problem;
use super::{NewStore, FILE_NAME};

#[derive(Clone, Debug, PartialEq, Eq)]
enum ImportState {
    Received,
    Waiting,
    Processing,
    Finished,
    Failed(String),
}

impl ImportState {
    fn name(&self) -> &'static str {
        match self {
            ImportState::Received => "received",
            ImportState::Waiting => "waiting",
            ImportState::Processing => "processing",
            ImportState::Finished => "finished",
            ImportState::Failed(_) => "failed",
        }
    }
}

struct Import {
    source_uri: String,
    full: bool,
    revision: i64,
    state: ImportState,
}

/// Every import job.
#[derive(Default)]
pub struct Imports {
    jobs: BTreeMap<String, Import>,
    next: u64,
}

impl Imports {
    fn open(&self) -> usize {
        self.jobs
            .values()
            .filter(|j| {
                matches!(
                    j.state,
                    ImportState::Received | ImportState::Waiting | ImportState::Processing
                )
            })
            .count()
    }

    pub fn finished(&self) -> usize {
        self.jobs
            .values()
            .filter(|j| j.state == ImportState::Finished)
            .count()
    }

    pub fn failed(&self) -> usize {
        self.jobs
            .values()
            .filter(|j| matches!(j.state, ImportState::Failed(_)))
            .count()
    }
}

#[derive(Deserialize)]
struct NewImport {
    #[serde(default)]
    provider: Option<String>,
    source_uri: String,
    #[serde(default)]
    entities: Vec<String>,
    #[serde(default)]
    full: bool,
    #[serde(default)]
    revision: i64,
}

fn answer(id: &str, import: &Import) -> serde_json::Value {
    let mut v = serde_json::json!({"id": id, "state": import.state.name()});
    if let ImportState::Failed(why) = &import.state {
        v["errors"] = serde_json::json!([why]);
    }
    v
}

/// `POST /v0/d/import`.
pub async fn create(State(ns): State<Arc<NewStore>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(denied) = refusal(&ns, &headers) {
        return denied;
    }
    let new: NewImport = match serde_json::from_slice(&body) {
        Ok(n) => n,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("invalid import: {e}"),
            )
        }
    };
    if !new.entities.is_empty() && !new.entities.iter().any(|e| e == "availabilities") {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "only availabilities are simulated",
        );
    }
    let _ = new.provider;
    let mut imports = ns.imports.lock().expect("imports lock");
    if imports.open() >= ns.config.open_job_cap {
        let mut r = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_open_import_jobs",
            &format!("{} import jobs are open", imports.open()),
        );
        r.headers_mut().insert(
            header::RETRY_AFTER,
            ns.config
                .cap_retry_after_secs
                .to_string()
                .parse()
                .expect("a number"),
        );
        return r;
    }
    imports.next += 1;
    let id = format!("imp-{:06}", imports.next);
    let import = Import {
        source_uri: new.source_uri,
        full: new.full,
        revision: new.revision,
        state: ImportState::Received,
    };
    let body = answer(&id, &import);
    imports.jobs.insert(id, import);
    (StatusCode::CREATED, Json(body)).into_response()
}

/// `GET /v0/d/import/{id}`.
pub async fn status(
    State(ns): State<Arc<NewStore>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(denied) = refusal(&ns, &headers) {
        return denied;
    }
    let imports = ns.imports.lock().expect("imports lock");
    match imports.jobs.get(&id) {
        Some(import) => Json(answer(&id, import)).into_response(),
        None => problem(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("import {id} not found"),
        ),
    }
}

/// `POST /v0/d/import/{id}/start`.
pub async fn start(
    State(ns): State<Arc<NewStore>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(denied) = refusal(&ns, &headers) {
        return denied;
    }
    let (uri, full, revision) = {
        let mut imports = ns.imports.lock().expect("imports lock");
        let Some(import) = imports.jobs.get_mut(&id) else {
            return problem(
                StatusCode::NOT_FOUND,
                "not_found",
                &format!("import {id} not found"),
            );
        };
        if import.state != ImportState::Received {
            return Json(answer(&id, import)).into_response();
        }
        // Started: queued for its download ("downloads are queued").
        import.state = ImportState::Waiting;
        (import.source_uri.clone(), import.full, import.revision)
    };
    let body = {
        let imports = ns.imports.lock().expect("imports lock");
        answer(&id, &imports.jobs[&id])
    };
    tokio::spawn(process(ns.clone(), id, uri, full, revision));
    Json(body).into_response()
}

#[derive(Deserialize)]
struct Availability {
    product_id: String,
    fulfillment_node_id: String,
    quantity: i64,
}

/// One `store_mapping` entry: a fulfillment location of the merchant's and the NewStore DC
/// location (`fulfillment_node_id`) it becomes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreMapping {
    fulfillment_location_id: String,
    fulfillment_node_id: String,
}

#[derive(Deserialize)]
struct Range {
    #[serde(default)]
    fulfillment_node_id: Option<String>,
    logical_timestamp_from: u64,
    logical_timestamp_to: u64,
}

async fn process(ns: Arc<NewStore>, id: String, uri: String, full: bool, revision: i64) {
    let outcome = apply(&ns, &id, &uri, full, revision).await;
    let mut imports = ns.imports.lock().expect("imports lock");
    if let Some(import) = imports.jobs.get_mut(&id) {
        import.state = match outcome {
            Ok(()) => ImportState::Finished,
            Err(why) => ImportState::Failed(why),
        };
    }
}

fn set_state(ns: &NewStore, id: &str, state: ImportState) {
    if let Some(import) = ns.imports.lock().expect("imports lock").jobs.get_mut(id) {
        import.state = state;
    }
}

async fn apply(
    ns: &NewStore,
    id: &str,
    uri: &str,
    full: bool,
    revision: i64,
) -> Result<(), String> {
    if full {
        return Err("full imports are not supported for availabilities".into());
    }
    let zipped = ns
        .http
        .get(uri)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("cannot download {uri}: {e}"))?
        .bytes()
        .await
        .map_err(|e| format!("cannot download {uri}: {e}"))?;
    set_state(ns, id, ImportState::Processing);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zipped))
        .map_err(|e| format!("not a zip: {e}"))?;
    let mut text = String::new();
    archive
        .by_name(FILE_NAME)
        .map_err(|e| format!("{FILE_NAME}: {e}"))?
        .read_to_string(&mut text)
        .map_err(|e| format!("{FILE_NAME}: {e}"))?;
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{FILE_NAME}: {e}"))?;
    let availabilities: Vec<Availability> = serde_json::from_value(doc["availabilities"].clone())
        .map_err(|e| format!("availabilities: {e}"))?;
    let ranges: Vec<Range> = match doc.get(&ns.config.range_field) {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| format!("{}: {e}", ns.config.range_field))?,
    };
    // "store_mapping (fulfillment location → fulfillment_node_id; creates DC locations)"
    // (the reference, from NewStore's import tutorial; the entries' field names are ours).
    let mapping: Vec<StoreMapping> = match doc.get("store_mapping") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| format!("store_mapping: {e}"))?,
    };
    if ns.config.processing_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(ns.config.processing_delay_ms)).await;
    }
    let mut stock = ns.stock.lock().expect("stock lock");
    for m in mapping {
        stock.map_store(&m.fulfillment_location_id, &m.fulfillment_node_id);
    }
    for a in availabilities {
        stock.import_on_hand(&a.product_id, &a.fulfillment_node_id, a.quantity, revision);
    }
    for r in ranges {
        stock.remove_range(
            r.fulfillment_node_id.as_deref(),
            r.logical_timestamp_from,
            r.logical_timestamp_to,
        );
    }
    Ok(())
}
