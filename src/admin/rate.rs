//! A request rate per client address: past it, 429 with `Retry-After`, before any work is done
//! for the request.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The rate each client address gets.
pub struct PerClient {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl PerClient {
    /// `per_second` requests a second, sustained, in bursts of as many.
    pub fn new(per_second: u32) -> Self {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        PerClient {
            limiter: RateLimiter::keyed(Quota::per_second(rate)),
        }
    }
}

/// Refuses a request over its client's rate.
pub async fn guard(State(rate): State<Arc<PerClient>>, request: Request, next: Next) -> Response {
    let Some(ConnectInfo(peer)) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .copied()
    else {
        return next.run(request).await;
    };
    match rate.limiter.check_key(&peer.ip()) {
        Ok(()) => next.run(request).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let seconds = wait.as_secs() + 1;
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, seconds.to_string())],
                axum::Json(serde_json::json!({
                    "error": format!("too many requests from {}: retry in {seconds} s", peer.ip())
                })),
            )
                .into_response()
        }
    }
}
