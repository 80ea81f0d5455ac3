//! The canonical model, the connector SDK and the error taxonomy shared by every commerce-sync crate.

pub mod clock;
pub mod config;
pub mod connector;
pub mod crash;
pub mod error;
pub mod files;
pub mod fingerprint;
pub mod in_flight;
pub mod key;
pub mod model;
pub mod page;
pub mod registry;
pub mod secret;
pub mod webhook;
pub mod write;

pub use config::{ConfigError, ConfigSection, Problems};
pub use connector::{ApiUsage, Capabilities, Catalog, Connector, RangePolicy, Sink, Source};
pub use error::{ConnectorError, ErrorClass};
pub use fingerprint::Fingerprint;
pub use key::RecordKey;
pub use model::{EntityKind, Record};
pub use page::{
    Cursor, Page, PageCursors, PageSize, ReadItem, ReadMode, ReadRequest, RejectedRow, SizeUnit,
};
pub use registry::{BuildContext, ConnectorFactory, KeyDoc, KeyNeed, Registry};
pub use secret::Secret;
pub use webhook::{InboundEvent, WebhookError, WebhookReceiver, WebhookReply, WebhookRequest};
pub use write::{WriteOp, WriteOutcome};
