//! syncd-adapter-shiphero: a ShipHero warehouse's stock. Writes go as Inventory Sync CSV
//! batches (seed 001): each CSV served by the daemon at an unguessable URL, `inventory_sync`
//! called with it, the sync followed to its end and every row's outcome read (`sync`); reads go
//! through `warehouse_products` (`read`); Inventory Update webhooks are verified by their HMAC
//! (`webhook`); the GraphQL client keeps the tokens and a credit bucket (`client`).

pub mod client;
pub mod config;
pub mod connector;
pub mod read;
pub mod sync;
pub mod webhook;

pub use config::ShipHeroConfig;
pub use connector::{ShipHeroConnector, ShipHeroFactory};
