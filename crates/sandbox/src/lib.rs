//! syncd-sandbox: local simulators of the vendor APIs commerce-sync talks to, one module per
//! vendor, each a real axum HTTP server on 127.0.0.1 with an ephemeral port. Every simulator
//! shares the same machinery: a seeded [`FaultPlan`] (latency, 5xx, 429 with `Retry-After`,
//! token expiry, connection resets, slow bodies) and a [`RequestLog`] counting calls per
//! endpoint, so that tests and benchmarks can count vendor API calls.

pub mod data;
pub mod faults;
pub mod fluent;
pub mod log;
pub mod newstore;
pub mod server;

pub use faults::{FaultPlan, FaultSpec};
pub use log::RequestLog;
pub use server::Running;

/// Every simulator, started together (`syncd sandbox`, `syncd demo`).
pub struct Sandbox {
    /// Fluent Commerce.
    pub fluent: fluent::FluentSim,
    /// NewStore.
    pub newstore: newstore::NewStoreSim,
}

impl Sandbox {
    /// Starts every simulator on 127.0.0.1, each on an ephemeral port.
    pub async fn start() -> std::io::Result<Self> {
        Ok(Sandbox {
            fluent: fluent::FluentSim::start(fluent::FluentSimConfig::default()).await?,
            newstore: newstore::NewStoreSim::start(newstore::NewStoreSimConfig::default()).await?,
        })
    }

    /// Each simulator's name and base URL.
    pub fn urls(&self) -> Vec<(&'static str, String)> {
        vec![
            ("fluent", self.fluent.url()),
            ("newstore", self.newstore.url()),
        ]
    }
}
