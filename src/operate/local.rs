//! The operations on a store the caller holds: the CLI's when no daemon runs, the admin API's
//! inside the daemon.

use std::sync::Arc;

use syncd_core::Cursor;
use syncd_engine::{Requeued, RunError, RunReport};
use syncd_store::{
    cursors, dead_letters, runs, DeadLetter, Durability, StateStore, StoreError, WriteBatch,
};
use thiserror::Error;

use super::{CursorRow, Selection};
use crate::config::Config;
use crate::topology::Topology;

/// Why an operation was refused.
#[derive(Debug, Error)]
pub enum OpError {
    /// No such pipeline in the config.
    #[error("no pipeline named `{name}` (configured: {known})")]
    UnknownPipeline {
        /// The name asked for.
        name: String,
        /// The configured names.
        known: String,
    },
    /// No such link in the config.
    #[error("no link named `{name}` (configured: {known})")]
    UnknownLink {
        /// The name asked for.
        name: String,
        /// The configured names.
        known: String,
    },
    /// The cursor is not one this pipeline can have.
    #[error("{0}")]
    BadCursor(String),
    /// The pipeline has a run going; changing its cursor now would race it.
    #[error("pipeline `{0}` is running: try again when its run has ended")]
    Busy(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Requeueing failed.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// The pipeline named `name`, as a one-element selection.
fn pipeline_of<'t>(
    topology: &'t Topology,
    name: &str,
) -> Result<Vec<&'t Arc<syncd_engine::Pipeline>>, OpError> {
    topology
        .select(&[name.to_string()])
        .map_err(|_| OpError::UnknownPipeline {
            name: name.to_string(),
            known: topology
                .pipelines
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Refuses a cursor this pipeline cannot have (checked before [`set_cursor`] stores it).
pub fn check_cursor(topology: &Topology, pipeline: &str, cursor: &Cursor) -> Result<(), OpError> {
    let selected = pipeline_of(topology, pipeline)?;
    match selected.first() {
        Some(p) => p.check_cursor(cursor).map_err(OpError::BadCursor),
        None => Ok(()),
    }
}

fn known(config: &Config, name: &str) -> Result<(), OpError> {
    if config.pipelines.iter().any(|p| p.name == name) {
        Ok(())
    } else {
        Err(OpError::UnknownPipeline {
            name: name.to_string(),
            known: config
                .pipelines
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

async fn commit(store: &Arc<dyn StateStore>, batch: WriteBatch) -> Result<(), OpError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.commit(batch, Durability::Flushed))
        .await
        .map_err(|e| OpError::Run(RunError::Join(e.to_string())))??;
    Ok(())
}

/// The last `limit` run reports of `pipeline` (or of every configured pipeline, by start).
pub fn runs(
    config: &Config,
    store: &dyn StateStore,
    pipeline: Option<&str>,
    limit: usize,
) -> Result<Vec<RunReport>, OpError> {
    if let Some(p) = pipeline {
        known(config, p)?;
        return Ok(runs::list(store, Some(p), limit)?);
    }
    let mut all = Vec::new();
    for p in &config.pipelines {
        all.extend(runs::list::<RunReport>(store, Some(&p.name), limit)?);
    }
    all.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    let skip = all.len().saturating_sub(limit);
    Ok(all.split_off(skip))
}

/// The last `limit` conflicts of `link` (or of every link), oldest first.
pub fn conflicts(
    config: &Config,
    store: &dyn StateStore,
    link: Option<&str>,
    limit: usize,
) -> Result<Vec<syncd_store::conflicts::Conflict>, OpError> {
    if let Some(l) = link {
        if !config.links.iter().any(|c| c.name == l) {
            return Err(OpError::UnknownLink {
                name: l.to_string(),
                known: config
                    .links
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    Ok(syncd_store::conflicts::list(store, link, limit)?)
}

/// Every configured pipeline's cursor.
pub fn cursors(config: &Config, store: &dyn StateStore) -> Result<Vec<CursorRow>, OpError> {
    config
        .pipelines
        .iter()
        .map(|p| {
            Ok(CursorRow {
                pipeline: p.name.clone(),
                cursor: cursors::get(store, &p.name)?,
            })
        })
        .collect()
}

/// Sets or resets a pipeline's cursor, unless it is in `running`.
pub async fn set_cursor(
    config: &Config,
    store: &Arc<dyn StateStore>,
    running: &[String],
    pipeline: &str,
    cursor: Option<Cursor>,
) -> Result<(), OpError> {
    known(config, pipeline)?;
    if running.iter().any(|r| r == pipeline) {
        return Err(OpError::Busy(pipeline.to_string()));
    }
    let mut batch = WriteBatch::new();
    match &cursor {
        Some(c) => cursors::put(&mut batch, pipeline, c),
        None => cursors::reset(&mut batch, pipeline),
    }
    commit(store, batch).await
}

/// The dead letters of `pipeline` (or of all).
pub fn dead_letters(
    config: &Config,
    store: &dyn StateStore,
    pipeline: Option<&str>,
) -> Result<Vec<DeadLetter>, OpError> {
    if let Some(p) = pipeline {
        known(config, p)?;
    }
    Ok(dead_letters::list(store, pipeline)?)
}

/// Requeues the selected dead letters of `pipeline` into its next run.
pub async fn replay(
    topology: &Topology,
    store: &Arc<dyn StateStore>,
    pipeline: &str,
    selection: &Selection,
) -> Result<Requeued, OpError> {
    let p = pipeline_of(topology, pipeline)?;
    Ok(p[0]
        .requeue_dead_letters(store, selection.ids.as_deref())
        .await?)
}

/// Deletes the selected dead letters of `pipeline`; returns the ids that were there.
pub async fn drop_letters(
    config: &Config,
    store: &Arc<dyn StateStore>,
    pipeline: &str,
    selection: &Selection,
) -> Result<Vec<String>, OpError> {
    known(config, pipeline)?;
    let present: Vec<String> = dead_letters::list(store.as_ref(), Some(pipeline))?
        .into_iter()
        .map(|l| l.id)
        .filter(|id| selection.ids.as_ref().is_none_or(|ids| ids.contains(id)))
        .collect();
    let mut batch = WriteBatch::new();
    for id in &present {
        dead_letters::delete(&mut batch, pipeline, id);
    }
    commit(store, batch).await?;
    Ok(present)
}
