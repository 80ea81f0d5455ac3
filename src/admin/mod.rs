//! The daemon's two HTTP listeners (axum). The admin API, on 127.0.0.1 by default: probes,
//! metrics, run history and operator routes (status, cursors, dead letters), the mutating ones
//! behind `[daemon] admin_token`. The public listener (`[daemon] public_listen`): what vendors
//! call, the webhook mount `/hooks/<connector>/...`.

mod auth;
mod error;
mod hooks;
mod operate;
mod probes;
mod rate;
mod server;

pub use server::Limits;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;

use crate::daemon::Daemon;

/// The admin routes over `daemon`.
pub fn router(daemon: Arc<Daemon>) -> Router {
    let mutating = Router::new()
        .route(
            "/cursors/{pipeline}",
            put(operate::set_cursor).delete(operate::reset_cursor),
        )
        .route("/dlq/{pipeline}/replay", post(operate::replay))
        .route("/dlq/{pipeline}/drop", post(operate::drop_letters))
        .route_layer(axum::middleware::from_fn_with_state(
            daemon.clone(),
            auth::require_token,
        ));
    Router::new()
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/metrics", get(probes::metrics))
        .route("/runs", get(operate::runs))
        .route("/conflicts", get(operate::conflicts))
        .route("/status", get(operate::status))
        .route("/plan/{pipeline}", get(operate::plan))
        .route("/cursors", get(operate::cursors))
        .route("/dlq", get(operate::all_dead_letters))
        .route("/dlq/{pipeline}", get(operate::dead_letters))
        .merge(mutating)
        .with_state(daemon)
}

/// The public routes over `daemon`: what vendors call.
pub fn public_router(daemon: Arc<Daemon>) -> Router {
    let body_limit = daemon.current().config.daemon.max_webhook_bytes;
    Router::new()
        .route("/healthz", get(probes::healthz))
        .route(
            "/hooks/{connector}",
            post(hooks::receive_root)
                .put(hooks::receive_root)
                .get(hooks::receive_root),
        )
        .route(
            "/hooks/{connector}/{*path}",
            post(hooks::receive).put(hooks::receive).get(hooks::receive),
        )
        .merge(syncd_http::files::router())
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(daemon)
}

/// Serves `app` on `listener` with `limits` until the daemon stops.
pub async fn serve(
    what: &'static str,
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    daemon: Arc<Daemon>,
) {
    server::serve(what, listener, app, limits, daemon.stop.clone()).await;
}
