//! `syncd status`: per pipeline, its schedule, last run, next run and backlog.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use syncd_engine::RunReport;
use syncd_store::{dead_letters, outbox, runs, StateStore, StoreError};

use crate::config::Config;
use crate::daemon::schedule::Schedules;

/// One line of `syncd status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRow {
    /// The pipeline.
    pub pipeline: String,
    /// Its cron expression.
    pub schedule: Option<String>,
    /// When its last run started (RFC 3339).
    pub last_run: Option<String>,
    /// How it ended: `ok`, `failed` or `stopped`.
    pub result: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it runs next (RFC 3339), by its schedule.
    pub next_run: Option<String>,
    /// Whether a run is going now (only known through a running daemon).
    pub running: bool,
    /// The run going now, as far as it got (only known through a running daemon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<RunReport>,
    /// Writes planned and not yet acknowledged.
    pub outbox: usize,
    /// Dead letters waiting for an operator.
    pub dead_letters: usize,
}

/// The status of every configured pipeline at `now`.
pub fn rows(
    config: &Config,
    store: &dyn StateStore,
    live: &[RunReport],
    now: DateTime<Utc>,
) -> Result<Vec<StatusRow>, StoreError> {
    let schedules = Schedules::of(config);
    config
        .pipelines
        .iter()
        .map(|p| {
            let last: Option<RunReport> = runs::list(store, Some(&p.name), 1)?.pop();
            Ok(StatusRow {
                pipeline: p.name.clone(),
                schedule: p.schedule.clone(),
                last_run: last.as_ref().map(|r| r.started_at.clone()),
                result: last.as_ref().map(|r| r.outcome_label().to_string()),
                error: last.as_ref().and_then(|r| match &r.outcome {
                    syncd_engine::RunOutcome::Failed(e) => Some(e.clone()),
                    _ => None,
                }),
                next_run: schedules
                    .next_after(&p.name, now)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                running: live.iter().any(|r| r.pipeline == p.name),
                current: live.iter().find(|r| r.pipeline == p.name).cloned(),
                outbox: outbox::depth(store, &p.name)?,
                dead_letters: dead_letters::count(store, &p.name)?,
            })
        })
        .collect()
}
