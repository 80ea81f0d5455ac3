//! The daemon's durable state: a small key-value trait ([`StateStore`]) with a sled
//! implementation, and typed access to cursors, shadows, the outbox, dead letters, the inbox,
//! logical timestamps and run history on top of it.

pub mod batch;
pub mod conflicts;
pub mod cursors;
pub mod dead_letters;
pub mod error;
mod fingerprint_table;
pub mod inbox;
pub mod keys;
pub mod link_base;
pub mod local;
pub mod logical;
pub mod memory;
mod migrate;
pub mod outbox;
pub mod runs;
pub mod shadow;
pub mod sled_store;
pub mod store;

pub use batch::{Durability, Op, WriteBatch};
pub use dead_letters::{DeadLetter, Stage};
pub use error::StoreError;
pub use link_base::BaseEntry;
pub use logical::{Stamp, StampKind};
pub use memory::MemoryStore;
pub use outbox::OutboxEntry;
pub use shadow::{key_hash, Held, ShadowIndex, ShadowPage};
pub use sled_store::SledStore;
pub use store::{StateStore, Tree, SCHEMA_VERSION};
