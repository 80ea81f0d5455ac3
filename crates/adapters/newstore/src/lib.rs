//! NewStore: fulfillment request events come in by webhook (verified, made durable in the
//! daemon's inbox, turned into stock adjustments for the stock authority); stock goes out as
//! partial availability imports that carry the range of logical timestamps whose allocations
//! NewStore may now remove.

mod client;
mod config;
mod connector;
mod events;
mod import;

pub use config::{NewStoreConfig, RangeScope};
pub use connector::{NewStoreConnector, NewStoreFactory};
pub use events::event_from_envelope;
