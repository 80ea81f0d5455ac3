//! A built connector with the rate limit the config gives it, shared by every pipeline that
//! uses it.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use syncd_core::Connector;

/// A connector's request budget: calls per second, with a burst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained calls per second.
    pub per_second: NonZeroU32,
    /// Calls allowed at once after a quiet period (default: one second's worth).
    #[serde(default)]
    pub burst: Option<NonZeroU32>,
}

/// A connector plus its shared rate limiter.
#[derive(Clone)]
pub struct ConnectorHandle {
    /// The connector.
    pub connector: Arc<dyn Connector>,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
    runs: Arc<tokio::sync::Mutex<()>>,
}

impl ConnectorHandle {
    /// Wraps a connector, limited to `rate_limit` calls if given.
    pub fn new(connector: Arc<dyn Connector>, rate_limit: Option<RateLimit>) -> Self {
        let limiter = rate_limit.map(|r| {
            let quota =
                Quota::per_second(r.per_second).allow_burst(r.burst.unwrap_or(r.per_second));
            Arc::new(RateLimiter::direct(quota))
        });
        ConnectorHandle {
            connector,
            limiter,
            runs: Arc::default(),
        }
    }

    /// Waits until no other run holds the connector, and holds it: a staging sink takes one
    /// run's writes at a time.
    pub async fn run_lock(&self) -> tokio::sync::OwnedMutexGuard<()> {
        Arc::clone(&self.runs).lock_owned().await
    }

    /// The connector's name.
    pub fn name(&self) -> &str {
        self.connector.name()
    }

    /// Waits until the rate limit allows one more call.
    pub async fn until_ready(&self) {
        if let Some(l) = &self.limiter {
            l.until_ready().await;
        }
    }
}
