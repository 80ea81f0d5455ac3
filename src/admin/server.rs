//! Serving a listener the way a port open to the network must be served: a connection that
//! sends its headers too slowly, or a request that takes too long (a slow body included), is
//! cut off; the open connections are capped, so that slow clients cannot use up the process's
//! file descriptors; and each client address gets a request rate (`rate.rs`). The admin API and
//! the public listener each have their own, so a flood of one leaves the other's probes
//! answering.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// What one listener allows (`[daemon] http_*`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Time to send a request's headers, counted from when the connection waits for them
    /// (a new connection, or an idle kept-alive one).
    pub header_read: Duration,
    /// Time from the headers to the whole answer, reading the body included (then 408).
    pub request: Duration,
    /// Connections open at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// Requests a second one client address may make, sustained.
    pub per_client_per_second: u32,
}

/// Serves `app` on `listener` with `limits` until `stop`; then lets open requests end (5 s at
/// most).
pub async fn serve(
    what: &'static str,
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stop: CancellationToken,
) {
    let app = app
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(super::rate::PerClient::new(limits.per_client_per_second)),
            super::rate::guard,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            limits.request,
        ));
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            _ = stop.cancelled() => break,
            permit = connections.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, say: back off instead of spinning on the error.
                    tracing::warn!(listener = what, error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let service = app.clone().map_request(move |mut request: Request<_>| {
            request
                .extensions_mut()
                .insert(ConnectInfo::<SocketAddr>(peer));
            request
        });
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            // A client that connects and sends nothing is not yet hyper's to time out: it gets
            // the header time to send its first byte.
            let mut first = [0u8; 1];
            match tokio::time::timeout(limits.header_read, stream.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => {
                    tracing::debug!(listener = what, peer = %peer, "connection sent nothing in time: closed");
                    drop(permit);
                    return;
                }
            }
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read);
            let connection = builder.serve_connection_with_upgrades(
                TokioIo::new(stream),
                TowerToHyperService::new(service),
            );
            if let Err(e) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(listener = what, peer = %peer, error = %e, "connection ended");
            }
            drop(permit);
        });
    }
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(5)) => {
            tracing::warn!(listener = what, "open connections cut at shutdown");
        }
    }
}
