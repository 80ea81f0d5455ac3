//! A simulator's request log: calls per endpoint (`METHOD /route/{param}`), and requests that
//! arrived before a `Retry-After` the simulator had asked for.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Calls per endpoint.
#[derive(Default)]
pub struct RequestLog {
    inner: Mutex<LogInner>,
}

#[derive(Default)]
struct LogInner {
    calls: BTreeMap<String, u64>,
    early: u64,
}

impl RequestLog {
    /// Counts a call to `endpoint`.
    pub fn record(&self, endpoint: &str) {
        *self
            .inner
            .lock()
            .expect("log lock")
            .calls
            .entry(endpoint.to_string())
            .or_default() += 1;
    }

    /// Counts a request sent before the `Retry-After` it had been given.
    pub fn record_early(&self) {
        self.inner.lock().expect("log lock").early += 1;
    }

    /// Calls made to `endpoint` (e.g. `POST /api/v4.1/job/{id}/batch`).
    pub fn calls(&self, endpoint: &str) -> u64 {
        self.inner
            .lock()
            .expect("log lock")
            .calls
            .get(endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// Requests that ignored a `Retry-After`.
    pub fn early_requests(&self) -> u64 {
        self.inner.lock().expect("log lock").early
    }

    /// Every endpoint's count.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.inner.lock().expect("log lock").calls.clone()
    }

    /// Forgets every count.
    pub fn reset(&self) {
        *self.inner.lock().expect("log lock") = LogInner::default();
    }
}
