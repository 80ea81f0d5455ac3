//! What every simulator shares: serving a router on 127.0.0.1, and the middleware that applies
//! the fault plan and keeps the request log.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};

use crate::faults::{Fault, FaultDice, FaultPlan};
use crate::log::RequestLog;

/// Fault plan, dice and request log of one simulator.
pub struct SimCore {
    plan: Mutex<FaultPlan>,
    dice: Mutex<FaultDice>,
    /// Calls per endpoint.
    pub log: RequestLog,
    not_before: Mutex<Option<Instant>>,
    authenticated: AtomicU64,
}

impl SimCore {
    /// A core with `plan`.
    pub fn new(plan: FaultPlan) -> Self {
        SimCore {
            dice: Mutex::new(FaultDice::new(plan.seed)),
            plan: Mutex::new(plan),
            log: RequestLog::default(),
            not_before: Mutex::new(None),
            authenticated: AtomicU64::new(0),
        }
    }

    /// Replaces the fault plan (and reseeds the dice).
    pub fn set_plan(&self, plan: FaultPlan) {
        *self.dice.lock().expect("dice lock") = FaultDice::new(plan.seed);
        *self.plan.lock().expect("plan lock") = plan;
        self.authenticated.store(0, Ordering::SeqCst);
    }

    /// Counts an authenticated request; true exactly once, when the plan says tokens expire now.
    pub fn tokens_expire_now(&self) -> bool {
        let n = self.authenticated.fetch_add(1, Ordering::SeqCst) + 1;
        self.plan.lock().expect("plan lock").expire_tokens_after == Some(n)
    }
}

/// The fault-and-log middleware; install with `route_layer` so the route template is known.
pub async fn faults_and_log(
    State(core): State<Arc<SimCore>>,
    path: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let endpoint = format!("{} {}", request.method(), path.as_str());
    core.log.record(&endpoint);
    if core
        .not_before
        .lock()
        .expect("retry lock")
        .is_some_and(|t| Instant::now() < t)
    {
        core.log.record_early();
    }
    let (spec, fault) = {
        let plan = core.plan.lock().expect("plan lock");
        let spec = plan.spec(&endpoint).clone();
        let fault = core.dice.lock().expect("dice lock").roll(&spec);
        (spec, fault)
    };
    if spec.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(spec.latency_ms)).await;
    }
    match fault {
        Fault::None => {}
        Fault::ServerError => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"errors": [{"code": "503", "message": "Service Unavailable (simulated fault)"}]})),
            )
                .into_response()
        }
        Fault::RateLimited(wait) => {
            *core.not_before.lock().expect("retry lock") = Some(Instant::now() + wait);
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, wait.as_secs().to_string())],
                Json(serde_json::json!({"errors": [{"code": "429", "message": "Too Many Requests (simulated fault)"}]})),
            )
                .into_response();
        }
        Fault::Reset => {
            // Headers promise a body that never completes: the client sees the connection cut.
            let broken = futures_util::stream::iter([
                Ok::<_, std::io::Error>(Bytes::from_static(b"{\"")),
                Err(std::io::Error::other("simulated connection reset")),
            ]);
            return Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, "1024")
                .body(Body::from_stream(broken))
                .expect("a valid response");
        }
    }
    let response = next.run(request).await;
    if spec.slow_body_ms == 0 {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let delay = Duration::from_millis(spec.slow_body_ms);
    let chunks: Vec<Bytes> = bytes.chunks(256).map(Bytes::copy_from_slice).collect();
    let slow = futures_util::stream::unfold(chunks.into_iter(), move |mut rest| async move {
        let chunk = rest.next()?;
        tokio::time::sleep(delay).await;
        Some((Ok::<_, std::io::Error>(chunk), rest))
    });
    Response::from_parts(parts, Body::from_stream(slow))
}

/// A simulator serving on 127.0.0.1; stops when dropped.
pub struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Running {
    /// Serves `router` on 127.0.0.1 with an ephemeral port (or `port` when given).
    pub async fn serve(router: Router, port: u16) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Running {
            addr,
            stop: Some(stop),
        })
    }

    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
