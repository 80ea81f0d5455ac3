//! `/hooks/<connector>/...`: a vendor's webhook, handed to the connector that owns it. The
//! events it yields are committed to the inbox and flushed before the answer: a 2xx means the
//! event is durable; any failure answers 5xx so that the vendor retries.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::Json;
use syncd_core::{WebhookError, WebhookRequest};
use syncd_store::inbox;

use super::error::{blocking, ApiError};
use crate::daemon::Daemon;

/// A webhook to `/hooks/<connector>`.
pub async fn receive_root(
    State(daemon): State<Arc<Daemon>>,
    Path(connector): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    accept(daemon, connector, method, "/".into(), headers, body).await
}

/// A webhook to `/hooks/<connector>/<path>`.
pub async fn receive(
    State(daemon): State<Arc<Daemon>>,
    Path((connector, path)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    accept(daemon, connector, method, format!("/{path}"), headers, body).await
}

async fn accept(
    daemon: Arc<Daemon>,
    connector: String,
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let loaded = daemon.current();
    let handle = loaded.topology.connectors.get(&connector).ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("no connector named `{connector}`"),
        )
    })?;
    let receiver = handle.connector.webhooks().ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("connector `{connector}` accepts no webhooks"),
        )
    })?;
    let request = WebhookRequest {
        method: method.to_string(),
        path,
        headers: headers
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
    };
    let refused = |e: WebhookError| {
        let (status, result) = match e {
            WebhookError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            WebhookError::BadRequest(_) => (StatusCode::BAD_REQUEST, "rejected"),
            WebhookError::Forbidden(_) => (StatusCode::FORBIDDEN, "rejected"),
            WebhookError::NoRoute(_) => (StatusCode::NOT_FOUND, "rejected"),
            WebhookError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "failed"),
        };
        daemon.metrics.webhook(&connector, result);
        // Kept for inspection in the log (never the headers: they carry the credential).
        let excerpt: String = String::from_utf8_lossy(&request.body)
            .chars()
            .take(2048)
            .collect();
        tracing::warn!(connector = %connector, error = %e, body = %excerpt, "webhook refused");
        ApiError(status, e.to_string())
    };
    // A request the connector answers itself (an app's manifest) stores nothing.
    if let Some(reply) = receiver.reply(&request).await {
        let reply = reply.map_err(refused)?;
        let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
        return Ok((status, Json(reply.body)));
    }
    if method != Method::POST && method != Method::PUT {
        return Err(ApiError(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("connector `{connector}` takes webhooks by POST or PUT"),
        ));
    }
    let events = receiver.accept(&request).await.map_err(refused)?;
    if events.is_empty() {
        daemon.metrics.webhook(&connector, "ignored");
    }
    let count = events.len();
    let store = daemon.store.clone();
    let name = connector.clone();
    blocking(move || {
        let payloads: Vec<Vec<u8>> = events
            .iter()
            .map(|e| serde_json::to_vec(e).expect("an event serializes"))
            .collect();
        Ok(inbox::append(store.as_ref(), &name, &payloads)?)
    })
    .await
    .map_err(|e| {
        daemon.metrics.webhook(&connector, "failed");
        tracing::error!(connector = %connector, error = %e.1, "webhook events could not be stored");
        ApiError(StatusCode::SERVICE_UNAVAILABLE, e.1)
    })?;
    syncd_core::crash::point("inbox_flushed");
    if count > 0 {
        daemon.metrics.webhook(&connector, "stored");
    }
    tracing::debug!(connector = %connector, events = count, "webhook events stored");
    Ok((
        StatusCode::OK,
        Json(serde_json::json!({ "accepted": count })),
    ))
}
