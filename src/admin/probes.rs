//! `/healthz`, `/readyz` and `/metrics`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use syncd_store::{dead_letters, inbox, outbox, Tree};

use super::error::{blocking, ApiError};
use crate::daemon::Daemon;

/// The process is up and serving.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the store answers and every connector's last check passed; otherwise 503 with
/// the failing connectors.
pub async fn readyz(State(daemon): State<Arc<Daemon>>) -> impl IntoResponse {
    let store = daemon.store.clone();
    let store_error = match daemon.store_watch.fault() {
        Some(fault) => Some(format!("cannot write: {fault}")),
        None => blocking(move || Ok(store.get(Tree::Meta, b"schema_version")?))
            .await
            .err()
            .map(|e| e.1),
    };
    let loaded = daemon.current();
    let names: Vec<String> = loaded.topology.connectors.keys().cloned().collect();
    let failing = daemon.health.failing(&names);
    let ready = store_error.is_none() && failing.is_empty();
    let body = serde_json::json!({
        "ready": ready,
        "store": store_error.unwrap_or_else(|| "ok".into()),
        "failing": failing,
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// Prometheus metrics (OpenMetrics text); queue depths are read from the store now.
pub async fn metrics(State(daemon): State<Arc<Daemon>>) -> Result<impl IntoResponse, ApiError> {
    let loaded = daemon.current();
    let health = daemon.health.snapshot();
    let store = daemon.store.clone();
    let metrics = daemon.metrics.clone();
    let body = blocking(move || {
        for p in &loaded.config.pipelines {
            metrics.set_pipeline_depths(
                &p.name,
                outbox::depth(store.as_ref(), &p.name)?,
                dead_letters::count(store.as_ref(), &p.name)?,
            );
        }
        for (name, handle) in &loaded.topology.connectors {
            let up = health.get(name).is_some_and(|h| h.ok);
            metrics.set_connector(name, inbox::depth(store.as_ref(), name)?, up);
            if let Some(usage) = handle.connector.api_usage() {
                metrics.set_api_usage(name, usage);
            }
        }
        Ok(metrics.encode())
    })
    .await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    ))
}
