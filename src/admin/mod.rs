//! The admin HTTP API (axum), on 127.0.0.1 by default: probes, metrics, run history, operator
//! endpoints (status, cursors, dead letters) and the webhook mount `/hooks/<connector>/...`.

mod error;
mod hooks;
mod operate;
mod probes;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;

use crate::daemon::Daemon;

/// The admin routes over `daemon`.
pub fn router(daemon: Arc<Daemon>) -> Router {
    let body_limit = daemon.current().config.daemon.max_webhook_bytes;
    Router::new()
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/metrics", get(probes::metrics))
        .route("/runs", get(operate::runs))
        .route("/status", get(operate::status))
        .route("/cursors", get(operate::cursors))
        .route(
            "/cursors/{pipeline}",
            put(operate::set_cursor).delete(operate::reset_cursor),
        )
        .route("/dlq", get(operate::all_dead_letters))
        .route("/dlq/{pipeline}", get(operate::dead_letters))
        .route("/dlq/{pipeline}/replay", post(operate::replay))
        .route("/dlq/{pipeline}/drop", post(operate::drop_letters))
        .route("/hooks/{connector}", post(hooks::receive_root))
        .route("/hooks/{connector}/{*path}", post(hooks::receive))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(daemon)
}

/// Serves the admin API on `listener` until the daemon stops.
pub async fn serve(listener: tokio::net::TcpListener, daemon: Arc<Daemon>) {
    let stop = daemon.stop.clone();
    let app = router(daemon);
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
    {
        tracing::error!(error = %e, "admin API stopped");
    }
}
