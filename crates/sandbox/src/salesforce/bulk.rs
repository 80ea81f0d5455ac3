//! Bulk API 2.0: ingest jobs (create → `PUT` CSV → `PATCH UploadComplete` → poll → result
//! CSVs) and query jobs (create → poll → CSV pages behind `Sforce-Locator`, the last one
//! `null`). Jobs move on wall-clock time, and only when polled: the first poll after
//! `UploadComplete` can at best see `InProgress`, a later one `JobComplete`, so a client has to
//! poll as it must against Salesforce. Rows go through the store like any other write, each
//! row's outcome kept for the result CSVs.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query as UrlQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Map, Value};

use super::rest::{admit, errors, refusal, with_limit_info, Refusal};
use super::store::{stamp, SfError, Store};
use super::{ids, soql, Salesforce};

/// How long a job stays in each of `UploadComplete` and `InProgress` at least: long enough
/// that a client cannot skip polling, short enough for tests.
const STEP: Duration = Duration::from_millis(250);

/// The largest upload Salesforce takes: "150 MB per upload".
const MAX_UPLOAD: usize = 150 * 1024 * 1024;

/// Rows per result page when `maxRecords` is not given.
const DEFAULT_PAGE: usize = 50_000;

/// A job's state, as Salesforce names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JobState {
    Open,
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
}

impl JobState {
    fn name(self) -> &'static str {
        match self {
            JobState::Open => "Open",
            JobState::UploadComplete => "UploadComplete",
            JobState::InProgress => "InProgress",
            JobState::JobComplete => "JobComplete",
            JobState::Failed => "Failed",
            JobState::Aborted => "Aborted",
        }
    }

    fn finished(self) -> bool {
        matches!(
            self,
            JobState::JobComplete | JobState::Failed | JobState::Aborted
        )
    }
}

/// Where a job is and since when; `poll` moves it one step once `STEP` has passed (the org's
/// ticker calls it, and so does every look at the job).
struct Progress {
    state: JobState,
    since: Instant,
}

impl Progress {
    fn new(state: JobState) -> Self {
        Progress {
            state,
            since: Instant::now(),
        }
    }

    fn set(&mut self, state: JobState) {
        self.state = state;
        self.since = Instant::now();
    }

    /// Moves on if it is time; true when the job should now run to its end.
    fn poll(&mut self) -> bool {
        if self.since.elapsed() < STEP {
            return false;
        }
        match self.state {
            JobState::UploadComplete => {
                self.set(JobState::InProgress);
                false
            }
            JobState::InProgress => true,
            _ => false,
        }
    }
}

/// What a job's CSV looks like: `columnDelimiter` and `lineEnding`.
#[derive(Clone)]
struct Format {
    delimiter_name: String,
    delimiter: u8,
    line_ending: String,
}

impl Format {
    fn from_body(body: &Map<String, Value>) -> Result<Self, String> {
        let delimiter_name = text(body, "columnDelimiter").unwrap_or("COMMA").to_string();
        let delimiter = match delimiter_name.as_str() {
            "COMMA" => b',',
            "TAB" => b'\t',
            "PIPE" => b'|',
            "SEMICOLON" => b';',
            "CARET" => b'^',
            "BACKQUOTE" => b'`',
            other => return Err(format!("Invalid column delimiter: {other}")),
        };
        let line_ending = text(body, "lineEnding").unwrap_or("LF").to_string();
        if !matches!(line_ending.as_str(), "LF" | "CRLF") {
            return Err(format!("Invalid line ending: {line_ending}"));
        }
        if let Some(kind) = text(body, "contentType") {
            if kind != "CSV" {
                return Err(format!(
                    "Invalid content type: {kind}; only CSV is supported"
                ));
            }
        }
        Ok(Format {
            delimiter_name,
            delimiter,
            line_ending,
        })
    }

    /// `rows` under `header` as this format's CSV.
    fn write(&self, header: &[String], rows: &[Vec<String>]) -> String {
        let terminator = match self.line_ending.as_str() {
            "CRLF" => csv::Terminator::CRLF,
            _ => csv::Terminator::Any(b'\n'),
        };
        let mut out = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .terminator(terminator)
            .flexible(true)
            .from_writer(Vec::new());
        // Writing into memory cannot fail; a failed record would only shorten the answer.
        let _ = out.write_record(header);
        for row in rows {
            let _ = out.write_record(row);
        }
        let bytes = out.into_inner().unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

fn text<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

/// One row's outcome: the record's id (when known), created or not, or the error.
enum Outcome {
    Done(String, bool),
    Failed(String, String),
}

/// An ingest job.
struct Ingest {
    id: String,
    object: String,
    operation: String,
    external_id: Option<String>,
    format: Format,
    version: String,
    created: String,
    modstamp: String,
    progress: Progress,
    data: Option<Bytes>,
    error_message: Option<String>,
    header: Vec<String>,
    /// Each processed row: its original cells and what became of it.
    results: Vec<(Vec<String>, Outcome)>,
    started: Option<Instant>,
    took_ms: u64,
}

/// A query job.
struct QueryJob {
    id: String,
    object: String,
    operation: String,
    query: soql::Query,
    format: Format,
    version: String,
    created: String,
    modstamp: String,
    progress: Progress,
    error_message: Option<String>,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    took_ms: u64,
}

#[derive(Default)]
struct Jobs {
    serial: u64,
    ingest: BTreeMap<String, Ingest>,
    query: BTreeMap<String, QueryJob>,
}

/// The bulk endpoints' state: the org, and its jobs.
pub(crate) struct Bulk {
    sf: Arc<Salesforce>,
    jobs: Mutex<Jobs>,
}

impl Bulk {
    /// Moves every job on whose time has come, and posts the package's pushes of what ran.
    fn tick(&self) {
        {
            let mut jobs = self.jobs.lock().expect("jobs lock");
            let jobs = &mut *jobs;
            for job in jobs.ingest.values_mut() {
                progress_ingest(self, job);
            }
            for job in jobs.query.values_mut() {
                progress_query(self, job);
            }
        }
        self.sf.push_changes();
    }
}

/// The Bulk 2.0 routes, with their own state, to merge into the simulator's router.
pub(crate) fn router(sf: Arc<Salesforce>) -> Router {
    let bulk = Arc::new(Bulk {
        sf,
        jobs: Mutex::default(),
    });
    // Jobs run on the org's own time, polled or not: a client that never polls still finds
    // the rows applied.
    let ticking = Arc::downgrade(&bulk);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(STEP / 5).await;
            let Some(bulk) = ticking.upgrade() else {
                return;
            };
            bulk.tick();
        }
    });
    Router::new()
        .route(
            "/services/data/{version}/jobs/ingest",
            post(create_ingest).get(list_ingest),
        )
        .route(
            "/services/data/{version}/jobs/ingest/{id}",
            get(ingest_info).patch(ingest_state).delete(ingest_delete),
        )
        .route(
            "/services/data/{version}/jobs/ingest/{id}/batches",
            put(upload),
        )
        .route(
            "/services/data/{version}/jobs/ingest/{id}/{which}",
            get(ingest_results),
        )
        .route(
            "/services/data/{version}/jobs/ingest/{id}/{which}/",
            get(ingest_results),
        )
        .route(
            "/services/data/{version}/jobs/query",
            post(create_query).get(list_query),
        )
        .route(
            "/services/data/{version}/jobs/query/{id}",
            get(query_info).patch(query_state).delete(query_delete),
        )
        .route(
            "/services/data/{version}/jobs/query/{id}/results",
            get(query_results),
        )
        .route(
            "/services/data/{version}/jobs/query/{id}/results/",
            get(query_results),
        )
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
        .with_state(bulk)
}

impl Bulk {
    fn next_id(&self, jobs: &mut Jobs) -> String {
        jobs.serial += 1;
        ids::id("750", "5f", jobs.serial)
    }

    fn now(&self) -> String {
        stamp(self.sf.store.lock().expect("store lock").now())
    }
}

fn job_not_found(id: &str) -> Response {
    errors(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        &format!("The requested resource does not exist: job {id}"),
    )
}

fn bad_state(message: String) -> Response {
    errors(StatusCode::BAD_REQUEST, "INVALIDJOBSTATE", &message)
}

fn invalid_job(message: String) -> Refusal {
    refusal(StatusCode::BAD_REQUEST, "INVALIDJOB", message)
}

fn json_object(body: &Bytes) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(refusal(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            "The request body is not a JSON object",
        )),
    }
}

fn api_version(version: &str) -> Value {
    version
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

impl Ingest {
    fn info(&self, detailed: bool) -> Value {
        let mut info = serde_json::json!({
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": "",
            "createdDate": self.created,
            "systemModstamp": self.modstamp,
            "state": self.progress.state.name(),
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": api_version(&self.version),
            "contentUrl": format!("services/data/v{}/jobs/ingest/{}/batches", self.version, self.id),
            "lineEnding": self.format.line_ending,
            "columnDelimiter": self.format.delimiter_name,
        });
        if let Some(external) = &self.external_id {
            info["externalIdFieldName"] = Value::String(external.clone());
        }
        if detailed {
            let failed = self
                .results
                .iter()
                .filter(|(_, o)| matches!(o, Outcome::Failed(..)))
                .count();
            info["jobType"] = Value::String("V2Ingest".into());
            info["retries"] = Value::from(0);
            info["numberRecordsProcessed"] = Value::from(self.results.len());
            info["numberRecordsFailed"] = Value::from(failed);
            info["totalProcessingTime"] = Value::from(self.took_ms);
            info["apiActiveProcessingTime"] = Value::from(self.took_ms);
            info["apexProcessingTime"] = Value::from(0);
            if let Some(message) = &self.error_message {
                info["errorMessage"] = Value::String(message.clone());
            }
        }
        info
    }

    fn set_state(&mut self, state: JobState, now: String) {
        self.progress.set(state);
        self.modstamp = now;
    }

    /// The uploaded CSV: its header and rows, or why the job fails.
    fn parse(&self) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
        let Some(data) = &self.data else {
            return Err("InvalidBatch : No data was uploaded for this job".into());
        };
        let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
        let has_crlf = data.windows(2).any(|w| w == b"\r\n");
        if self.format.line_ending == "LF" && has_crlf {
            return Err("ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF".into());
        }
        if self.format.line_ending == "CRLF" && data.contains(&b'\n') && !has_crlf {
            return Err("ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is CRLF".into());
        }
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(self.format.delimiter)
            .has_headers(true)
            .flexible(true)
            .from_reader(data);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| format!("InvalidBatch : Failed to read the CSV header: {e}"))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        if header.iter().all(String::is_empty) {
            return Err("InvalidBatch : The CSV has no header".into());
        }
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| format!("InvalidBatch : Failed to parse CSV: {e}"))?;
            rows.push(record.iter().map(str::to_string).collect());
        }
        Ok((header, rows))
    }

    /// Applies every row through the store, keeping each row's outcome.
    fn run(&mut self, store: &mut Store) {
        let started = self.started.unwrap_or_else(Instant::now);
        match self.parse() {
            Err(message) => {
                self.error_message = Some(message);
                self.progress.set(JobState::Failed);
            }
            Ok((header, rows)) => match columns(store, &self.object, &header) {
                Err(message) => {
                    self.header = header;
                    self.error_message = Some(message);
                    self.progress.set(JobState::Failed);
                }
                Ok(columns) => {
                    let mut seen = HashSet::new();
                    for row in rows {
                        let outcome = match self.apply(store, &columns, &row, &mut seen) {
                            Ok((id, created)) => Outcome::Done(id, created),
                            Err((id, e)) => Outcome::Failed(id, sf_error(&e)),
                        };
                        self.results.push((row, outcome));
                    }
                    self.header = header;
                    self.progress.set(JobState::JobComplete);
                }
            },
        }
        self.modstamp = stamp(store.now());
        self.took_ms = started.elapsed().as_millis() as u64;
    }

    /// One row: its id and whether it was created, or its id (if known) and error.
    fn apply(
        &self,
        store: &mut Store,
        columns: &[Column],
        row: &[String],
        seen: &mut HashSet<String>,
    ) -> Result<(String, bool), (String, SfError)> {
        let given_id = columns
            .iter()
            .zip(row)
            .find(|(c, _)| matches!(c, Column::Field(f) if f.eq_ignore_ascii_case("Id")))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default();
        let fail = |e: SfError| (given_id.clone(), e);
        if row.len() != columns.len() {
            return Err(fail(SfError {
                code: "INVALID_FIELD",
                message: format!(
                    "the row has {} values for {} columns",
                    row.len(),
                    columns.len()
                ),
                fields: Vec::new(),
            }));
        }
        let mut fields = Map::new();
        for (column, cell) in columns.iter().zip(row) {
            // An empty cell leaves a field as it is; `#N/A` empties it.
            let value = match cell.as_str() {
                "" => continue,
                "#N/A" => Value::Null,
                v => Value::String(v.to_string()),
            };
            match column {
                Column::Field(name) => {
                    fields.insert(name.clone(), value);
                }
                Column::Parent { field, target, key } => {
                    let key_value = value.as_str().unwrap_or_default();
                    let parent = parent_id(store, target, key, key_value).map_err(&fail)?;
                    fields.insert(field.clone(), Value::String(parent));
                }
            }
        }
        let id_key = fields
            .keys()
            .find(|k| k.eq_ignore_ascii_case("Id"))
            .cloned();
        let id_value = id_key.as_ref().and_then(|k| fields.remove(k));
        let id = id_value
            .as_ref()
            .and_then(Value::as_str)
            .map(str::to_string);
        let missing_id = || {
            fail(SfError {
                code: "MISSING_ARGUMENT",
                message: "Id not specified in an update call".into(),
                fields: Vec::new(),
            })
        };
        match self.operation.as_str() {
            "insert" => store
                .insert(&self.object, fields)
                .map(|id| (id, true))
                .map_err(fail),
            "update" => {
                let id = id.ok_or_else(missing_id)?;
                store
                    .update(&self.object, &id, fields)
                    .map(|()| (normal(&id), false))
                    .map_err(fail)
            }
            "delete" | "hardDelete" => {
                let id = id.ok_or_else(missing_id)?;
                store
                    .delete(&self.object, &id)
                    .map(|()| (normal(&id), false))
                    .map_err(fail)
            }
            _ => {
                let external = self.external_id.clone().unwrap_or_default();
                if external.eq_ignore_ascii_case("Id") {
                    return match id {
                        Some(id) => store
                            .update(&self.object, &id, fields)
                            .map(|()| (normal(&id), false))
                            .map_err(fail),
                        None => store
                            .insert(&self.object, fields)
                            .map(|id| (id, true))
                            .map_err(fail),
                    };
                }
                let key = fields
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(&external))
                    .cloned();
                let value = key
                    .and_then(|k| fields.remove(&k))
                    .and_then(|v| v.as_str().map(str::to_string));
                let Some(value) = value else {
                    return Err(fail(SfError {
                        code: "REQUIRED_FIELD_MISSING",
                        message: format!("Required fields are missing: [{external}]"),
                        fields: vec![external],
                    }));
                };
                // Salesforce refuses a value the same job already used, rather than apply
                // both rows in an order nobody chose.
                if !seen.insert(value.to_lowercase()) {
                    return Err(fail(SfError {
                        code: "DUPLICATE_EXTERNAL_ID",
                        message: format!("Duplicate external id specified: {value}"),
                        fields: vec![external],
                    }));
                }
                store
                    .upsert(&self.object, &external, &value, fields)
                    .map_err(fail)
            }
        }
    }

    fn csv_of(&self, which: &str) -> Option<String> {
        let mut header: Vec<String> = Vec::new();
        let rows: Vec<Vec<String>> = match which {
            "successfulResults" => {
                header.extend(["sf__Id".to_string(), "sf__Created".to_string()]);
                self.results
                    .iter()
                    .filter_map(|(row, o)| match o {
                        Outcome::Done(id, created) => Some(
                            [id.clone(), created.to_string()]
                                .into_iter()
                                .chain(row.iter().cloned())
                                .collect(),
                        ),
                        Outcome::Failed(..) => None,
                    })
                    .collect()
            }
            "failedResults" => {
                header.extend(["sf__Id".to_string(), "sf__Error".to_string()]);
                self.results
                    .iter()
                    .filter_map(|(row, o)| match o {
                        Outcome::Failed(id, error) => Some(
                            [id.clone(), error.clone()]
                                .into_iter()
                                .chain(row.iter().cloned())
                                .collect(),
                        ),
                        Outcome::Done(..) => None,
                    })
                    .collect()
            }
            "unprocessedrecords" => {
                // A completed job processed every row; one aborted, failed or still running
                // leaves what was uploaded unprocessed.
                match (self.progress.state, self.parse()) {
                    (JobState::JobComplete, _) | (_, Err(_)) => Vec::new(),
                    (_, Ok((h, rows))) => {
                        header = h;
                        rows
                    }
                }
            }
            _ => return None,
        };
        if which != "unprocessedrecords" || header.is_empty() {
            header.extend(self.header.iter().cloned());
        }
        Some(self.format.write(&header, &rows))
    }
}

fn normal(id: &str) -> String {
    ids::normalize(id).unwrap_or_else(|| id.to_string())
}

/// A row's error as the result CSV writes it: `CODE:message:fields --`.
fn sf_error(e: &SfError) -> String {
    match e.fields.is_empty() {
        true => format!("{}:{}:--", e.code, e.message),
        false => format!("{}:{}:{} --", e.code, e.message, e.fields.join(",")),
    }
}

/// What a header column writes: a field, or a lookup set through its parent's external id
/// (`Product__r.tnw_mage_basic__Magento_ID__c`).
enum Column {
    Field(String),
    Parent {
        field: String,
        target: String,
        key: String,
    },
}

fn columns(store: &Store, object: &str, header: &[String]) -> Result<Vec<Column>, String> {
    header
        .iter()
        .map(|name| match name.split_once('.') {
            None if name.is_empty() => Err("InvalidBatch : Field name not found : (empty)".into()),
            None => Ok(Column::Field(name.clone())),
            Some((relationship, key)) => {
                let lookup = store
                    .schema()
                    .parent(object, relationship)
                    .ok_or_else(|| format!("InvalidBatch : Field name not found : {name}"))?;
                let target = store
                    .schema()
                    .object(&lookup.target)
                    .ok_or_else(|| format!("InvalidBatch : Field name not found : {name}"))?;
                let key = target
                    .external_ids
                    .iter()
                    .chain(std::iter::once(&"Id".to_string()))
                    .find(|f| f.eq_ignore_ascii_case(key))
                    .cloned()
                    .ok_or_else(|| {
                        format!("InvalidBatch : Field name not found : {name} (not an external id of {})", target.name)
                    })?;
                Ok(Column::Parent {
                    field: lookup.field.clone(),
                    target: target.name.clone(),
                    key,
                })
            }
        })
        .collect()
}

/// The id of the `target` record whose `key` is `value`.
fn parent_id(store: &Store, target: &str, key: &str, value: &str) -> Result<String, SfError> {
    let query = soql::Query {
        items: vec![soql::Item::Field(vec!["Id".into()])],
        from: target.to_string(),
        filter: Some(soql::Condition::Compare(
            vec![key.to_string()],
            soql::Op::Eq,
            soql::Literal::Text(value.to_string()),
        )),
        order: Vec::new(),
        limit: Some(2),
    };
    let rows = store.run(&query, false, "62.0")?;
    match rows.as_slice() {
        [one] => Ok(one["Id"].as_str().unwrap_or_default().to_string()),
        [] => Err(SfError {
            code: "INVALID_FIELD",
            message: format!(
                "Foreign key external ID: {value} not found for field {key} in entity {target}"
            ),
            fields: Vec::new(),
        }),
        _ => Err(SfError {
            code: "INVALID_FIELD",
            message: format!(
                "More than 1 record found for external id field {key} in entity {target}: {value}"
            ),
            fields: Vec::new(),
        }),
    }
}

/// `POST /services/data/{version}/jobs/ingest`.
async fn create_ingest(
    State(bulk): State<Arc<Bulk>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let version = match admit(&bulk.sf, &headers, &version) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let answer = new_ingest(&bulk, version, &body).unwrap_or_else(IntoResponse::into_response);
    with_limit_info(&bulk.sf, answer)
}

fn new_ingest(bulk: &Bulk, version: String, body: &Bytes) -> Result<Response, Refusal> {
    let body = json_object(body)?;
    let format = Format::from_body(&body).map_err(invalid_job)?;
    let operation = text(&body, "operation").unwrap_or_default().to_string();
    if !matches!(
        operation.as_str(),
        "insert" | "update" | "upsert" | "delete" | "hardDelete"
    ) {
        return Err(invalid_job(format!(
            "Invalid operation: '{operation}'; one of insert, update, upsert, delete, hardDelete"
        )));
    }
    let named = text(&body, "object").unwrap_or_default();
    let schema = bulk.sf.store.lock().expect("store lock").schema().clone();
    let object = schema
        .object(named)
        .ok_or_else(|| invalid_job(format!("Entity type '{named}' is not supported")))?;
    let external_id = match operation.as_str() {
        "upsert" => {
            let field = text(&body, "externalIdFieldName").unwrap_or_default();
            let known = object
                .external_ids
                .iter()
                .chain(std::iter::once(&"Id".to_string()))
                .find(|f| f.eq_ignore_ascii_case(field))
                .cloned();
            Some(known.ok_or_else(|| {
                invalid_job(format!(
                    "External ID field '{field}' does not exist or is not an external id of {}",
                    object.name
                ))
            })?)
        }
        _ => None,
    };
    let now = bulk.now();
    let mut jobs = bulk.jobs.lock().expect("jobs lock");
    let id = bulk.next_id(&mut jobs);
    let job = Ingest {
        id: id.clone(),
        object: object.name.clone(),
        operation,
        external_id,
        format,
        version,
        created: now.clone(),
        modstamp: now,
        progress: Progress::new(JobState::Open),
        data: None,
        error_message: None,
        header: Vec::new(),
        results: Vec::new(),
        started: None,
        took_ms: 0,
    };
    let info = job.info(false);
    jobs.ingest.insert(id, job);
    Ok(Json(info).into_response())
}

/// `PUT /services/data/{version}/jobs/ingest/{id}/batches`: the job's CSV, once.
async fn upload(
    State(bulk): State<Arc<Bulk>>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = admit(&bulk.sf, &headers, &version) {
        return r.into_response();
    }
    let mut jobs = bulk.jobs.lock().expect("jobs lock");
    let answer = match jobs.ingest.get_mut(&id) {
        None => job_not_found(&id),
        Some(job) if job.data.is_some() => errors(
            StatusCode::BAD_REQUEST,
            "BULK_API_ERROR",
            &format!("Found multiple contents for job: <{id}>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job."),
        ),
        Some(job) if job.progress.state != JobState::Open => bad_state(format!(
            "Job {id} is {}: data can only be uploaded to an Open job",
            job.progress.state.name()
        )),
        Some(job) => {
            job.data = Some(body);
            StatusCode::CREATED.into_response()
        }
    };
    drop(jobs);
    with_limit_info(&bulk.sf, answer)
}

/// Moves a job one step on if it is due, running its rows when their time has come.
fn progress_ingest(bulk: &Bulk, job: &mut Ingest) {
    if job.progress.poll() {
        let mut store = bulk.sf.store.lock().expect("store lock");
        job.run(&mut store);
    }
}

/// `GET /services/data/{version}/jobs/ingest/{id}`.
async fn ingest_info(
    State(bulk): State<Arc<Bulk>>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = admit(&bulk.sf, &headers, &version) {
        return r.into_response();
    }
    let mut jobs = bulk.jobs.lock().expect("jobs lock");
    let answer = match jobs.ingest.get_mut(&id) {
        None => job_not_found(&id),
        Some(job) => {
            progress_ingest(&bulk, job);
            Json(job.info(true)).into_response()
        }
    };
    drop(jobs);
    with_limit_info(&bulk.sf, answer)
}

/// `GET /services/data/{version}/jobs/ingest`: every ingest job.
async fn list_ingest(
    State(bulk): State<Arc<Bulk>>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = admit(&bulk.sf, &headers, &version) {
        return r.into_response();
    }
    let jobs = bulk.jobs.lock().expect("jobs lock");
    let records: Vec<Value> = jobs.ingest.values().map(|j| j.info(false)).collect();
    drop(jobs);
    with_limit_info(
        &bulk.sf,
        Json(serde_json::json!({"done": true, "records": records, "nextRecordsUrl": null}))
            .into_response(),
    )
}

fn wanted_state(body: &Bytes) -> Result<JobState, Refusal> {
    let body = json_object(body)?;
    match text(&body, "state") {
        Some("UploadComplete") => Ok(JobState::UploadComplete),
        Some("Aborted") => Ok(JobState::Aborted),
        other => Err(invalid_job(format!(
            "Invalid state: {}; a job can be set UploadComplete or Aborted",
            other.unwrap_or("(none)")
        ))),
    }
}

/// `PATCH /services/data/{version}/jobs/ingest/{id}` `{"state": "UploadComplete" | "Aborted"}`.
async fn ingest_state(
    State(bulk): State<Arc<Bulk>>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = admit(&bulk.sf, &headers, &version) {
        return r.into_response();
    }
    let wanted = match wanted_state(&body) {
        Ok(s) => s,
        Err(r) => return with_limit_info(&bulk.sf, r.into_response()),
    };
    let now = bulk.now();
    let mut jobs = bulk.jobs.lock().expect("jobs lock");
    let answer = match jobs.ingest.get_mut(&id) {
        None => job_not_found(&id),
        Some(job) => {
            progress_ingest(&bulk, job);
            let current = job.progress.state;
            match (current, wanted) {
                (JobState::Open, JobState::UploadComplete) => {
                    job.set_state(JobState::UploadComplete, now);
                    job.started = Some(Instant::now());
                    Json(job.info(false)).into_response()
                }
                (
                    JobState::Open | JobState::UploadComplete | JobState::InProgress,
                    JobState::Aborted,
                ) => {
                    job.set_state(JobState::Aborted, now);
                    Json(job.info(false)).into_response()
                }
                _ => bad_state(format!(
                    "Job {id} is {}: it cannot be set {}",
                    current.name(),
                    wanted.name()
                )),
            }
        }
    };
    drop(jobs);
    with_limit_info(&bulk.sf, answer)
}

/// `DELETE /services/data/{version}/jobs/ingest/{id}`: a job that is over, or still open.
async fn ingest_delete(
    State(bulk): State<Arc<Bulk>>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = admit(&bulk.sf, &headers, &version) {
        return r.into_response();
    }
    let mut jobs = bulk.jobs.lock().expect("jobs lock");
    let answer = match jobs.ingest.get_mut(&id) {
        None => job_not_found(&id),
        Some(job) => {
            progress_ingest(&bulk, job);
            let state = job.progress.state;
            if state.finished() || state == JobState::Open {
                jobs.ingest.remove(&id);
                StatusCode::NO_CONTENT.into_response()
            } else {
                bad_state(format!(
                    "Job {id} is {}: only a finished or open job can be deleted",
                    state.name()
                ))
            }
        }
    };
    drop(jobs);
    with_limit_info(&bulk.sf, answer)
}

fn csv_answer(body: String, extra: &[(&'static str, String)]) -> Response {
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/csv; charset=UTF-8")],
        body,
    )
        .into_response();
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
    response
}

/// `GET …/jobs/ingest/{id}/successfulResults`, `…/failedResults`, `…/unprocessedrecords`.
async fn ingest_results(
    State(bulk): State<Arc<Bulk>>,
    Path((version, id, which)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = admit(&bulk.sf, &headers, &version) {
        return r.into_response();
    }
    let mut jobs = bulk.jobs.lock().expect("jobs lock");
    let answer = match jobs.ingest.get_mut(&id) {
        None => job_not_found(&id),
        Some(job) => {
            progress_ingest(&bulk, job);
            let state = job.progress.state;
            let ready = state.finished() || which == "unprocessedrecords";
            match job.csv_of(&which) {
                None => errors(
                    StatusCode::NOT_FOUND,
                    "NOT_FOUND",
                    "The requested resource does not exist",
                ),
                Some(_) if !ready => bad_state(format!(
                    "Job {id} is {}: its results are not ready",
                    state.name()
                )),
                Some(csv) => csv_answer(csv, &[]),
            }
        }
    };
    drop(jobs);
    with_limit_info(&bulk.sf, answer)
}

impl QueryJob {
    fn info(&self, detailed: bool) -> Value {
        let mut info = serde_json::json!({
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": "",
            "createdDate": self.created,
            "systemModstamp": self.modstamp,
            "state": self.progress.state.name(),
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": api_version(&self.version),
            "lineEnding": self.format.line_ending,
            "columnDelimiter": self.format.delimiter_name,
        });
        if detailed {
            info["jobType"] = Value::String("V2Query".into());
            info["retries"] = Value::from(0);
            info["numberRecordsProcessed"] = Value::from(self.rows.len());
            info["totalProcessingTime"] = Value::from(self.took_ms);
            info["isPkChunkingSupported"] = Value::Bool(false);
            if let Some(message) = &self.error_message {
                info["errorMessage"] = Value::String(message.clone());
            }
        }
        info
    }

    fn run(&mut self, store: &Store) {
        let started = Instant::now();
        match store.run(&self.query, self.operation == "queryAll", &self.version) {
            Ok(records) => {
                self.rows = records
                    .iter()
                    .map(|record| {
                        self.query
                            .items
                            .iter()
                            .map(|item| match item {
                                soql::Item::Field(path) => cell(record, path),
                                soql::Item::Subquery(_) => String::new(),
                            })
                            .collect()
                    })
                    .collect();
                self.progress.set(JobState::JobComplete);
            }
            Err(e) => {
                self.error_message = Some(format!("{}: {}", e.code, e.message));
                self.progress.set(JobState::Failed);
            }
        }
        self.modstamp = stamp(store.now());
        self.took_ms = started.elapsed().as_millis() as u64;
    }
}

/// The value at `path` of a rendered record as a CSV cell: empty for null.
fn cell(record: &Value, path: &[String]) -> String {
    let mut at = record;
    for step in path {
        let next = at.as_object().and_then(|fields| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(step))
                .map(|(_, v)| v)
        });
        match next {
            Some(v) => at = v,
            None => return String::new(),
        }
    }
    match at {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `POST /services/data/{version}/jobs/query` `{operation, query}`.
async fn create_query(
    State(bulk): State<Arc<Bulk>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let version = match admit(&bulk.sf, &headers, &version) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let answer = new_query(&bulk, version, &body).unwrap_or_else(IntoResponse::into_response);
    with_limit_info(&bulk.sf, answer)
}

fn new_query(bulk: &Bulk, version: String, body: &Bytes) -> Result<Response, Refusal> {
    let body = json_object(body)?;
    let format = Format::from_body(&body).map_err(invalid_job)?;
    let operation = text(&body, "operation").unwrap_or_default().to_string();
    if !matches!(operation.as_str(), "query" | "queryAll") {
        return Err(invalid_job(format!(
            "Invalid operation: '{operation}'; one of query, queryAll"
        )));
    }
    let soql_text = text(&body, "query").unwrap_or_default();
    // Bad SOQL is refused at once, as `/query` refuses it: "Bad SOQL → 400 MALFORMED_QUERY".
    let query = soql::parse(soql_text)
        .map_err(|e| refusal(StatusCode::BAD_REQUEST, "MALFORMED_QUERY", e.to_string()))?;
    if query
        .items
        .iter()
        .any(|i| matches!(i, soql::Item::Subquery(_)))
    {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "Bulk API 2.0 does not support nested (child relationship) queries",
        ));
    }
    // An unknown object or path is refused now too, not left to fail the job later.
    let object = {
        let store = bulk.sf.store.lock().expect("store lock");
        let probe = soql::Query {
            limit: Some(0),
            ..query.clone()
        };
        store
            .run(&probe, false, &version)
            .map_err(|e| refusal(StatusCode::BAD_REQUEST, e.code, e.message))?;
        store
            .schema()
            .object(&query.from)
            .map_or(query.from.clone(), |o| o.name.clone())
    };
    let now = bulk.now();
    let mut jobs = bulk.jobs.lock().expect("jobs lock");
    let id = bulk.next_id(&mut jobs);
    let header = query
        .items
        .iter()
        .filter_map(|i| match i {
            soql::Item::Field(path) => Some(path.join(".")),
            soql::Item::Subquery(_) => None,
        })
        .collect();
    let job = QueryJob {
        id: id.clone(),
        object,
        operation,
        query,
        format,
        version,
        created: now.clone(),
        modstamp: now,
        // A query job has nothing to upload: it starts where an ingest job's upload ends.
        progress: Progress::new(JobState::UploadComplete),
        error_message: None,
        header,
        rows: Vec::new(),
        took_ms: 0,
    };
    let info = job.info(false);
    jobs.query.insert(id, job);
    Ok(Json(info).into_response())
}

fn progress_query(bulk: &Bulk, job: &mut QueryJob) {
    if job.progress.poll() {
        let store = bulk.sf.store.lock().expect("store lock");
        job.run(&store);
    }
}

/// `GET /services/data/{version}/jobs/query/{id}`.
async fn query_info(
    State(bulk): State<Arc<Bulk>>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = admit(&bulk.sf, &headers, &version) {
        return r.into_response();
    }
    let mut jobs = bulk.jobs.lock().expect("jobs lock");
    let answer = match jobs.query.get_mut(&id) {
        None => job_not_found(&id),
        Some(job) => {
            progress_query(&bulk, job);
            Json(job.info(true)).into_response()
        }
    };
    drop(jobs);
    with_limit_info(&bulk.sf, answer)
}

/// `GET /services/data/{version}/jobs/query`: every query job.
async fn list_query(
    State(bulk): State<Arc<Bulk>>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = admit(&bulk.sf, &headers, &version) {
        return r.into_response();
    }
    let jobs = bulk.jobs.lock().expect("jobs lock");
    let records: Vec<Value> = jobs.query.values().map(|j| j.info(false)).collect();
    drop(jobs);
    with_limit_info(
        &bulk.sf,
        Json(serde_json::json!({"done": true, "records": records, "nextRecordsUrl": null}))
            .into_response(),
    )
}

/// `PATCH /services/data/{version}/jobs/query/{id}` `{"state": "Aborted"}`.
async fn query_state(
    State(bulk): State<Arc<Bulk>>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = admit(&bulk.sf, &headers, &version) {
        return r.into_response();
    }
    let wanted = match wanted_state(&body) {
        Ok(s) => s,
        Err(r) => return with_limit_info(&bulk.sf, r.into_response()),
    };
    let now = bulk.now();
    let mut jobs = bulk.jobs.lock().expect("jobs lock");
    let answer = match jobs.query.get_mut(&id) {
        None => job_not_found(&id),
        Some(job) => {
            progress_query(&bulk, job);
            let current = job.progress.state;
            if wanted == JobState::Aborted && !current.finished() {
                job.progress.set(JobState::Aborted);
                job.modstamp = now;
                Json(job.info(false)).into_response()
            } else {
                bad_state(format!(
                    "Job {id} is {}: it cannot be set {}",
                    current.name(),
                    wanted.name()
                ))
            }
        }
    };
    drop(jobs);
    with_limit_info(&bulk.sf, answer)
}

/// `DELETE /services/data/{version}/jobs/query/{id}`: a finished job.
async fn query_delete(
    State(bulk): State<Arc<Bulk>>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = admit(&bulk.sf, &headers, &version) {
        return r.into_response();
    }
    let mut jobs = bulk.jobs.lock().expect("jobs lock");
    let answer = match jobs.query.get_mut(&id) {
        None => job_not_found(&id),
        Some(job) => {
            progress_query(&bulk, job);
            let state = job.progress.state;
            if state.finished() {
                jobs.query.remove(&id);
                StatusCode::NO_CONTENT.into_response()
            } else {
                bad_state(format!(
                    "Job {id} is {}: only a finished job can be deleted",
                    state.name()
                ))
            }
        }
    };
    drop(jobs);
    with_limit_info(&bulk.sf, answer)
}

/// `?locator=&maxRecords=` of a query job's results.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Paging {
    locator: Option<String>,
    max_records: Option<String>,
}

/// `GET /services/data/{version}/jobs/query/{id}/results`: one CSV page, `Sforce-Locator`
/// naming the next (the literal `null` on the last) and `Sforce-NumberOfRecords` its rows.
async fn query_results(
    State(bulk): State<Arc<Bulk>>,
    Path((version, id)): Path<(String, String)>,
    headers: HeaderMap,
    UrlQuery(paging): UrlQuery<Paging>,
) -> Response {
    if let Err(r) = admit(&bulk.sf, &headers, &version) {
        return r.into_response();
    }
    let size = match paging.max_records.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(DEFAULT_PAGE),
        Some(n) => n.parse::<usize>().ok().filter(|n| *n > 0).ok_or(n),
    };
    let size = match size {
        Ok(n) => n,
        Err(n) => {
            return with_limit_info(
                &bulk.sf,
                errors(
                    StatusCode::BAD_REQUEST,
                    "INVALIDURL",
                    &format!("maxRecords must be a positive whole number, not `{n}`"),
                ),
            )
        }
    };
    let mut jobs = bulk.jobs.lock().expect("jobs lock");
    let answer = match jobs.query.get_mut(&id) {
        None => job_not_found(&id),
        Some(job) => {
            progress_query(&bulk, job);
            let offset = match paging.locator.as_deref().filter(|l| !l.is_empty()) {
                None => Some(0),
                Some(l) => decode_locator(l).filter(|o| *o <= job.rows.len()),
            };
            match (job.progress.state, offset) {
                (JobState::JobComplete, Some(offset)) => {
                    let end = (offset + size).min(job.rows.len());
                    let page = &job.rows[offset..end];
                    let next = match end < job.rows.len() {
                        true => encode_locator(end),
                        false => "null".to_string(),
                    };
                    csv_answer(
                        job.format.write(&job.header, page),
                        &[
                            ("sforce-locator", next),
                            ("sforce-numberofrecords", page.len().to_string()),
                        ],
                    )
                }
                (JobState::JobComplete, None) => errors(
                    StatusCode::BAD_REQUEST,
                    "INVALID_QUERY_LOCATOR",
                    "invalid query locator",
                ),
                (state, _) => bad_state(format!(
                    "Job {id} is {}: its results are not ready",
                    state.name()
                )),
            }
        }
    };
    drop(jobs);
    with_limit_info(&bulk.sf, answer)
}

/// Locators look opaque, as Salesforce's do: the next row's offset in base 36 after a tag.
fn encode_locator(offset: usize) -> String {
    let mut digits = Vec::new();
    let mut n = offset;
    loop {
        digits.push(char::from_digit((n % 36) as u32, 36).unwrap_or('0'));
        n /= 36;
        if n == 0 {
            break;
        }
    }
    format!("MTA{}", digits.into_iter().rev().collect::<String>())
}

fn decode_locator(locator: &str) -> Option<usize> {
    usize::from_str_radix(locator.strip_prefix("MTA")?, 36).ok()
}
