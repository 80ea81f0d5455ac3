//! Fluent Commerce: stock positions written through the Batch Inventory API (one job a day,
//! batches of up to 5,000, status polled until COMPLETE, per-record results) and read back for
//! full reconciliation through GraphQL `inventoryPositions`.

mod auth;
mod batch;
mod client;
mod config;
mod connector;
mod dates;
mod graphql;
mod job;
mod wire;

pub use config::{FluentConfig, Preprocessing};
pub use connector::{FluentConnector, FluentFactory};
