//! syncd-adapter-pim: the daemon as an Ergonode app (seed 002). Ergonode installs it (the
//! handshake's shared secret, kept sealed), signs every call (`token`), and pushes
//! synchronization events, each validated against the seed's JSON Schema (`schemas`) and
//! folded (`fold`) into a catalog of products, attributes and categories kept in sled
//! (`catalog`); the connector (`connector`, configured by `config`) serves the app's routes,
//! gives pipelines the records that changed, and guards stock pipelines by SKU.

pub mod catalog;
pub mod config;
pub mod connector;
pub mod fold;
pub mod schemas;
pub mod token;

pub use config::PimConfig;
pub use connector::{PimConnector, PimFactory};
