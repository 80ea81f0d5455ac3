//! Today's job: Fluent recommends one job per day for all batches. Its id is kept in the
//! connector's data dir (`job.json`), so a restart reuses it; a job Fluent reports closed (it
//! closes at midnight UTC) is replaced.

use std::path::PathBuf;

use chrono::{NaiveDate, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use syncd_core::ConnectorError;
use tokio::sync::Mutex;

use crate::client::FluentClient;
use crate::config::Preprocessing;
use crate::wire::{Created, JobStatus, NewJob};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct KeptJob {
    id: String,
    day: NaiveDate,
}

/// The job batches go to.
pub struct JobKeeper {
    file: PathBuf,
    current: Mutex<Option<KeptJob>>,
}

impl JobKeeper {
    /// A keeper whose job id lives in `data_dir/job.json`.
    pub fn new(data_dir: PathBuf) -> Self {
        let file = data_dir.join("job.json");
        let kept = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        JobKeeper {
            file,
            current: Mutex::new(kept),
        }
    }

    /// Today's job id, creating the job when there is none for today.
    pub async fn current(&self, client: &FluentClient) -> Result<String, ConnectorError> {
        let mut current = self.current.lock().await;
        let today = Utc::now().date_naive();
        if let Some(job) = current.as_ref().filter(|j| j.day == today) {
            return Ok(job.id.clone());
        }
        let config = client.config();
        let meta = match config.preprocessing {
            Preprocessing::Skip => serde_json::json!({"preprocessing": "skip"}),
            Preprocessing::On => serde_json::json!({}),
        };
        let created: Created = client
            .call(
                Method::POST,
                "/api/v4.1/job",
                Some(&NewJob {
                    name: format!("syncd inventory {today}"),
                    retailer_id: config.retailer_id.to_string(),
                    meta,
                }),
            )
            .await?;
        let job = KeptJob {
            id: created.id,
            day: today,
        };
        self.keep(&job);
        tracing::info!(job = %job.id, "created today's Fluent inventory job");
        *current = Some(job.clone());
        Ok(job.id)
    }

    /// Whether job `id` still takes batches, as `GET /job/{id}` says (`OPEN`); a job Fluent no
    /// longer knows is not open.
    pub async fn is_open(client: &FluentClient, id: &str) -> Result<bool, ConnectorError> {
        match client
            .call::<(), JobStatus>(Method::GET, &format!("/api/v4.1/job/{id}"), None)
            .await
        {
            Ok(job) => Ok(job.status.eq_ignore_ascii_case("OPEN")),
            Err(e) if e.class() == syncd_core::ErrorClass::Permanent => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Forgets job `id` (Fluent closed it), so that the next call creates a new one.
    pub async fn replace(&self, id: &str) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|j| j.id == id) {
            *current = None;
            let _ = std::fs::remove_file(&self.file);
        }
    }

    fn keep(&self, job: &KeptJob) {
        // Losing this file only costs one extra job: a failure to write it is logged, not fatal.
        let bytes = serde_json::to_vec(job).expect("serializes");
        if let Err(e) = syncd_core::files::replace(&self.file, &bytes) {
            tracing::warn!(file = %self.file.display(), error = %e, "could not keep the Fluent job id");
        }
    }
}
