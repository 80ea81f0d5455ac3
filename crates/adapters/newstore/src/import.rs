//! One partial availability import: the availabilities file (stock per product and node, plus
//! the allocation-removal ranges), zipped and served, then `POST /v0/d/import`,
//! `POST /v0/d/import/{id}/start`, and the job polled until finished or failed.

use std::io::Write;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use syncd_core::ConnectorError;

use crate::client::NewStoreClient;
use crate::file_host::FileHost;

/// The file inside the zip.
pub const FILE_NAME: &str = "availabilities.json";

/// Stock of one product at one node.
#[derive(Debug, Serialize)]
pub struct Availability {
    pub product_id: String,
    pub fulfillment_node_id: String,
    pub quantity: i64,
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

/// Runs one import to its end.
pub async fn run(
    client: &NewStoreClient,
    files: &FileHost,
    availabilities: Vec<Availability>,
    ranges: Vec<Range>,
) -> Result<(), ConnectorError> {
    let config = client.config();
    let mut body = serde_json::json!({ "availabilities": availabilities });
    body[config.range_field.as_str()] = serde_json::to_value(&ranges).expect("ranges serialize");
    let file = files.publish(zipped(&body)?).await?;
    match start_and_wait(client, &file.url, availabilities_len(&body)).await {
        // Still running: NewStore may yet download the file.
        Err(Unfinished::Running(e)) => Err(e),
        // Ended, or never started: NewStore needs the file no more.
        Err(Unfinished::Ended(e)) => {
            files.withdraw(&file);
            Err(e)
        }
        Ok(()) => {
            files.withdraw(&file);
            Ok(())
        }
    }
}

/// Why an import did not finish.
enum Unfinished {
    /// It failed or was never started.
    Ended(ConnectorError),
    /// It may still be running.
    Running(ConnectorError),
}

impl From<ConnectorError> for Unfinished {
    fn from(e: ConnectorError) -> Self {
        Unfinished::Ended(e)
    }
}

async fn start_and_wait(
    client: &NewStoreClient,
    uri: &str,
    positions: usize,
) -> Result<(), Unfinished> {
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
    let started: Job = client
        .call::<(), _>(
            Method::POST,
            &format!("/v0/d/import/{}/start", created.id),
            None,
        )
        .await?;
    tracing::info!(import = %created.id, state = %started.state, positions, "NewStore import started");
    let deadline = Instant::now() + Duration::from_secs(config.poll_timeout_secs);
    let mut wait = Duration::from_millis(50);
    loop {
        let job: Job = match client
            .call::<(), _>(Method::GET, &format!("/v0/d/import/{}", created.id), None)
            .await
        {
            Ok(job) => job,
            Err(e)
                if matches!(
                    e.class(),
                    syncd_core::ErrorClass::Retryable | syncd_core::ErrorClass::RateLimited
                ) =>
            {
                wait = wait.max(e.requested_wait().unwrap_or_default());
                Job {
                    id: created.id.clone(),
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
                    format!("newstore import {}", job.id),
                    format!("failed: {}", job.errors.unwrap_or_default()),
                )))
            }
            _ => {}
        }
        if Instant::now() + wait > deadline {
            return Err(Unfinished::Running(ConnectorError::retryable(
                format!("newstore import {}", created.id),
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
