//! The operator endpoints behind `syncd status|cursors|dlq` while the daemon runs.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use syncd_core::Cursor;
use syncd_engine::{Requeued, RunReport};
use syncd_store::DeadLetter;

use super::error::{blocking, ApiError};
use crate::daemon::Daemon;
use crate::operate::{local, status, CursorRow, Selection, StatusRow};

/// `?pipeline=&limit=` of `/runs`.
#[derive(Debug, Deserialize)]
pub struct RunsQuery {
    pipeline: Option<String>,
    limit: Option<usize>,
}

/// Recent run reports, oldest first.
pub async fn runs(
    State(daemon): State<Arc<Daemon>>,
    Query(q): Query<RunsQuery>,
) -> Result<Json<Vec<RunReport>>, ApiError> {
    let loaded = daemon.current();
    let store = daemon.store.clone();
    let reports = blocking(move || {
        Ok(local::runs(
            &loaded.config,
            store.as_ref(),
            q.pipeline.as_deref(),
            q.limit.unwrap_or(50),
        )?)
    })
    .await?;
    Ok(Json(reports))
}

/// `?link=&limit=`.
#[derive(serde::Deserialize)]
pub struct ConflictsQuery {
    link: Option<String>,
    limit: Option<usize>,
}

/// The conflict log, oldest first.
pub async fn conflicts(
    State(daemon): State<Arc<Daemon>>,
    Query(q): Query<ConflictsQuery>,
) -> Result<Json<Vec<syncd_store::conflicts::Conflict>>, ApiError> {
    let loaded = daemon.current();
    let store = daemon.store.clone();
    let found = blocking(move || {
        Ok(local::conflicts(
            &loaded.config,
            store.as_ref(),
            q.link.as_deref(),
            q.limit.unwrap_or(100),
        )?)
    })
    .await?;
    Ok(Json(found))
}

/// `syncd plan`: the writes the pipeline's next run would make, made by none (while the
/// daemon holds the store, the CLI cannot open it).
pub async fn plan(
    State(daemon): State<Arc<Daemon>>,
    Path(pipeline): Path<String>,
) -> Result<Json<syncd_engine::Plan>, ApiError> {
    let loaded = daemon.current();
    let selected = loaded
        .topology
        .select(std::slice::from_ref(&pipeline))
        .map_err(|e| ApiError(axum::http::StatusCode::NOT_FOUND, e))?;
    let plan = selected[0]
        .plan(&daemon.store)
        .await
        .map_err(|e| ApiError(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(plan))
}

/// `syncd status`.
pub async fn status(State(daemon): State<Arc<Daemon>>) -> Result<Json<Vec<StatusRow>>, ApiError> {
    let loaded = daemon.current();
    let store = daemon.store.clone();
    let live = daemon.runner.live();
    let rows = blocking(move || {
        Ok(status::rows(
            &loaded.config,
            store.as_ref(),
            &live,
            chrono::Utc::now(),
        )?)
    })
    .await?;
    Ok(Json(rows))
}

/// Every pipeline's cursor.
pub async fn cursors(State(daemon): State<Arc<Daemon>>) -> Result<Json<Vec<CursorRow>>, ApiError> {
    let loaded = daemon.current();
    let store = daemon.store.clone();
    Ok(Json(
        blocking(move || Ok(local::cursors(&loaded.config, store.as_ref())?)).await?,
    ))
}

/// Sets a pipeline's cursor (409 while it runs).
pub async fn set_cursor(
    State(daemon): State<Arc<Daemon>>,
    Path(pipeline): Path<String>,
    Json(cursor): Json<Cursor>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let loaded = daemon.current();
    local::check_cursor(&loaded.topology, &pipeline, &cursor)?;
    let running = daemon.runner.running();
    local::set_cursor(
        &loaded.config,
        &daemon.store,
        &running,
        &pipeline,
        Some(cursor),
    )
    .await?;
    Ok(Json(
        serde_json::json!({ "pipeline": pipeline, "cursor": "set" }),
    ))
}

/// Resets a pipeline's cursor (409 while it runs).
pub async fn reset_cursor(
    State(daemon): State<Arc<Daemon>>,
    Path(pipeline): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let loaded = daemon.current();
    let running = daemon.runner.running();
    local::set_cursor(&loaded.config, &daemon.store, &running, &pipeline, None).await?;
    Ok(Json(
        serde_json::json!({ "pipeline": pipeline, "cursor": "reset" }),
    ))
}

async fn letters(
    daemon: Arc<Daemon>,
    pipeline: Option<String>,
) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    let loaded = daemon.current();
    let store = daemon.store.clone();
    Ok(Json(
        blocking(move || {
            Ok(local::dead_letters(
                &loaded.config,
                store.as_ref(),
                pipeline.as_deref(),
            )?)
        })
        .await?,
    ))
}

/// Every dead letter.
pub async fn all_dead_letters(
    State(daemon): State<Arc<Daemon>>,
) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    letters(daemon, None).await
}

/// One pipeline's dead letters.
pub async fn dead_letters(
    State(daemon): State<Arc<Daemon>>,
    Path(pipeline): Path<String>,
) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    letters(daemon, Some(pipeline)).await
}

/// Requeues dead letters into the pipeline's next run.
pub async fn replay(
    State(daemon): State<Arc<Daemon>>,
    Path(pipeline): Path<String>,
    Json(selection): Json<Selection>,
) -> Result<Json<Requeued>, ApiError> {
    let loaded = daemon.current();
    Ok(Json(
        local::replay(&loaded.topology, &daemon.store, &pipeline, &selection).await?,
    ))
}

/// Deletes dead letters.
pub async fn drop_letters(
    State(daemon): State<Arc<Daemon>>,
    Path(pipeline): Path<String>,
    Json(selection): Json<Selection>,
) -> Result<Json<Vec<String>>, ApiError> {
    let loaded = daemon.current();
    Ok(Json(
        local::drop_letters(&loaded.config, &daemon.store, &pipeline, &selection).await?,
    ))
}
