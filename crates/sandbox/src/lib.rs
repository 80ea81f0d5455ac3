//! syncd-sandbox: local simulators of the vendor APIs commerce-sync talks to, one module per
//! vendor, each a real axum HTTP server on 127.0.0.1 with an ephemeral port. Every simulator
//! shares the same machinery: a seeded [`FaultPlan`] (latency, 5xx, 429 with `Retry-After`,
//! token expiry, connection resets, slow bodies) and a [`RequestLog`] counting calls per
//! endpoint, so that tests and benchmarks can count vendor API calls.

pub mod data;
pub mod ergonode;
pub mod faults;
pub mod fluent;
pub mod log;
pub mod newstore;
pub mod salesforce;
pub mod server;
pub mod shiphero;

pub use faults::{FaultPlan, FaultSpec};
pub use log::RequestLog;
pub use server::Running;

/// Every simulator, started together (`syncd sandbox`, `syncd demo`).
pub struct Sandbox {
    /// Fluent Commerce.
    pub fluent: fluent::FluentSim,
    /// NewStore.
    pub newstore: newstore::NewStoreSim,
    /// Salesforce (the MSI objects' org).
    pub salesforce: salesforce::SalesforceSim,
    /// ShipHero.
    pub shiphero: shiphero::ShipHeroSim,
    /// Ergonode PIM (pushes to an app installed with `POST /_sandbox/install`).
    pub ergonode: ergonode::ErgonodeSim,
}

/// How `syncd sandbox` sets the simulators up.
#[derive(Clone, Debug, Default)]
pub struct SandboxOptions {
    /// Fixed ports from this one up, in the order of [`Sandbox::urls`]; ephemeral when `None`.
    pub port_base: Option<u16>,
    /// Fluent's API user's retailer (the token's `Retailer_id`); retailers 1 and 2 exist
    /// anyway, 2 being the seed's.
    pub fluent_retailer: Option<u64>,
}

impl Sandbox {
    /// Starts every simulator on 127.0.0.1, each on an ephemeral port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(SandboxOptions::default()).await
    }

    /// Starts every simulator on 127.0.0.1 as `options` say.
    pub async fn start_with(options: SandboxOptions) -> std::io::Result<Self> {
        let port = |n: u16| options.port_base.map_or(0, |base| base + n);
        let mut fluent_config = fluent::FluentSimConfig {
            port: port(0),
            other_retailers: vec![1, 2],
            ..fluent::FluentSimConfig::default()
        };
        if let Some(retailer) = options.fluent_retailer {
            fluent_config.retailer_id = retailer;
        }
        Ok(Sandbox {
            fluent: fluent::FluentSim::start(fluent_config).await?,
            newstore: newstore::NewStoreSim::start(newstore::NewStoreSimConfig {
                port: port(1),
                ..newstore::NewStoreSimConfig::default()
            })
            .await?,
            salesforce: salesforce::SalesforceSim::start(salesforce::SalesforceSimConfig {
                port: port(2),
                ..salesforce::SalesforceSimConfig::default()
            })
            .await?,
            shiphero: shiphero::ShipHeroSim::start(shiphero::ShipHeroSimConfig {
                port: port(3),
                ..shiphero::ShipHeroSimConfig::default()
            })
            .await?,
            // The started body says whether it is full (unconfirmed; the app reads it).
            ergonode: ergonode::ErgonodeSim::start(ergonode::ErgonodeSimConfig {
                announce_kind: true,
                port: port(4),
                ..ergonode::ErgonodeSimConfig::default()
            })
            .await?,
        })
    }

    /// Each simulator's name and base URL.
    pub fn urls(&self) -> Vec<(&'static str, String)> {
        vec![
            ("fluent", self.fluent.url()),
            ("newstore", self.newstore.url()),
            ("salesforce", self.salesforce.url()),
            ("shiphero", self.shiphero.url()),
            ("ergonode", self.ergonode.url()),
        ]
    }
}
