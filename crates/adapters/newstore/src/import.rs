//! One partial availability import: the availabilities file (stock per product and node, plus
//! the allocation-removal ranges, and the store mapping that creates DC locations), zipped and served, then `POST /v0/d/import`,
//! `POST /v0/d/import/{id}/start`, and the job polled until finished or failed.

use std::io::Write;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use syncd_core::in_flight::InFlightCalls;
use syncd_core::ConnectorError;

use crate::client::NewStoreClient;
use syncd_http::files::FileHost;

/// The file inside the zip.
pub const FILE_NAME: &str = "availabilities.json";

/// Stock of one product at one node.
#[derive(Debug, Serialize)]
pub struct Availability {
    pub product_id: String,
    pub fulfillment_node_id: String,
    pub quantity: i64,
}

/// A merchant's location that becomes a NewStore DC location (`store_mapping`).
#[derive(Debug, Serialize)]
pub struct StoreMapping {
    /// The merchant's id of it (an MSI source code).
    pub fulfillment_location_id: String,
    /// The DC location's id in NewStore: the same code, as positions name it.
    pub fulfillment_node_id: String,
}

/// Allocations to remove.
#[derive(Debug, Serialize)]
pub struct Range {
    /// `None`: every node.
    pub fulfillment_node_id: Option<String>,
    pub logical_timestamp_from: u64,
    pub logical_timestamp_to: u64,
}

#[derive(Debug, Deserialize)]
struct Job {
    id: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    errors: Option<serde_json::Value>,
}

fn zipped(body: &serde_json::Value) -> Result<Vec<u8>, ConnectorError> {
    let context = "newstore import file";
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    out.start_file(FILE_NAME, options)
        .map_err(|e| ConnectorError::retryable(context, e.to_string()))?;
    serde_json::to_writer(&mut out, body)
        .map_err(|e| ConnectorError::retryable(context, e.to_string()))?;
    out.flush().map_err(|e| ConnectorError::io(context, &e))?;
    Ok(out
        .finish()
        .map_err(|e| ConnectorError::retryable(context, e.to_string()))?
        .into_inner())
}

/// Runs one import to its end: resumes the job in flight when it carries the same content.
pub async fn run(
    client: &NewStoreClient,
    files: &FileHost,
    in_flight: &InFlightCalls,
    store_mapping: Vec<StoreMapping>,
    availabilities: Vec<Availability>,
    ranges: Vec<Range>,
) -> Result<(), ConnectorError> {
    let config = client.config();
    let mut body = serde_json::json!({ "availabilities": availabilities });
    body[config.range_field.as_str()] = serde_json::to_value(&ranges).expect("ranges serialize");
    // Only when there is one: a stock import's body (and the digest that finds it in flight)
    // stays what it was.
    if !store_mapping.is_empty() {
        body["store_mapping"] = serde_json::to_value(&store_mapping).expect("mapping serializes");
    }
    let content = InFlightCalls::digest(&serde_json::to_vec(&body).expect("serializes"));
    if let Some(job) = in_flight.find::<String>(&content) {
        tracing::info!(import = %job, "waiting for the NewStore import already made of this stock");
        match wait(client, &job, Start::Orphaned).await {
            Ok(()) => return in_flight.forget(&content),
            Err(Unfinished::Running(e)) => return Err(e),
            // Failed, or gone: import it again.
            Err(Unfinished::Ended(_)) => in_flight.forget(&content)?,
        }
    }
    let file = files.publish(zipped(&body)?, "zip").await?;
    let outcome = async {
        let job = create(client, &file.url).await?;
        syncd_core::crash::point("import_created");
        // Kept before it starts: from here a crash must not lead to a second import.
        in_flight.keep(&content, &job)?;
        syncd_core::crash::point("import_kept");
        tracing::info!(import = %job, positions = availabilities_len(&body), "NewStore import created");
        wait(client, &job, Start::Ours).await
    }
    .await;
    match outcome {
        // Still running: NewStore may yet download the file; the next attempt waits for it.
        Err(Unfinished::Running(e)) => Err(e),
        Err(Unfinished::Ended(e)) => {
            files.withdraw(&file);
            in_flight.forget(&content)?;
            Err(e)
        }
        Ok(()) => {
            files.withdraw(&file);
            in_flight.forget(&content)
        }
    }
}

/// Why an import did not finish.
enum Unfinished {
    /// It failed, was never created, or is unknown to NewStore.
    Ended(ConnectorError),
    /// It may still be running.
    Running(ConnectorError),
}

impl From<ConnectorError> for Unfinished {
    fn from(e: ConnectorError) -> Self {
        Unfinished::Ended(e)
    }
}

async fn create(client: &NewStoreClient, uri: &str) -> Result<String, ConnectorError> {
    let config = client.config();
    let created: Job = client
        .call(
            Method::POST,
            "/v0/d/import",
            Some(&serde_json::json!({
                "provider": config.provider,
                "source_uri": uri,
                "revision": chrono::Utc::now().timestamp_millis(),
                "entities": ["availabilities"],
                "full": false,
            })),
        )
        .await?;
    Ok(created.id)
}

/// Whether [`wait`] may start a job it finds only created.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    /// This process published the job's file: start it.
    Ours,
    /// A job kept from before a restart: its file was served by the process that died, so a
    /// start would only fail on the download. Give it up instead (it stays `received` in
    /// NewStore and never changes stock).
    Orphaned,
}

/// Starts job `id` if it was only created (and `start` allows), and polls it until it ends.
async fn wait(client: &NewStoreClient, id: &str, start: Start) -> Result<(), Unfinished> {
    let config = client.config();
    let deadline = Instant::now() + Duration::from_secs(config.poll_timeout_secs);
    let mut wait = Duration::from_millis(50);
    loop {
        let job: Job = match client
            .call::<(), _>(Method::GET, &format!("/v0/d/import/{id}"), None)
            .await
        {
            Ok(job) => job,
            Err(e) if e.class() == syncd_core::ErrorClass::Permanent => {
                return Err(Unfinished::Ended(e));
            }
            Err(e)
                if matches!(
                    e.class(),
                    syncd_core::ErrorClass::Retryable | syncd_core::ErrorClass::RateLimited
                ) =>
            {
                wait = wait.max(e.requested_wait().unwrap_or_default());
                Job {
                    id: id.to_string(),
                    state: "unknown".into(),
                    errors: None,
                }
            }
            Err(e) => return Err(Unfinished::Running(e)),
        };
        match job.state.as_str() {
            "finished" => return Ok(()),
            "failed" => {
                return Err(Unfinished::Ended(ConnectorError::retryable(
                    format!("newstore import {id}"),
                    format!("failed: {}", job.errors.unwrap_or_default()),
                )))
            }
            "received" if start == Start::Orphaned => {
                return Err(Unfinished::Ended(ConnectorError::retryable(
                    format!("newstore import {id}"),
                    "created before a restart and never started; its file is gone with that process",
                )));
            }
            "received" => {
                let started: Job = client
                    .call::<(), _>(Method::POST, &format!("/v0/d/import/{id}/start"), None)
                    .await
                    .map_err(Unfinished::Running)?;
                tracing::info!(import = %id, state = %started.state, "NewStore import started");
                syncd_core::crash::point("import_started");
            }
            _ => {}
        }
        if Instant::now() + wait > deadline {
            return Err(Unfinished::Running(ConnectorError::retryable(
                format!("newstore import {id}"),
                format!("not finished after {}s", config.poll_timeout_secs),
            )));
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

fn availabilities_len(body: &serde_json::Value) -> usize {
    body["availabilities"].as_array().map_or(0, Vec::len)
}
