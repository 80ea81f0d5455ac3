//! The connector SDK: what a connector can do, and the traits through which the engine uses it.

use async_trait::async_trait;

use crate::error::ConnectorError;
use crate::model::EntityKind;
use crate::page::{Cursor, Page, ReadRequest};
use crate::webhook::WebhookReceiver;

/// How a target wants allocation-removal ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangePolicy {
    /// One range per location (`true`) or one for all (`*`).
    pub per_location: bool,
}
use crate::write::{WriteOp, WriteOutcome};

/// What a connector can read and write, and how much it accepts per call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Entity kinds it can read.
    pub reads: Vec<EntityKind>,
    /// Entity kinds it can write.
    pub writes: Vec<EntityKind>,
    /// The most writes one `write_batch` call accepts (the vendor's batch limit).
    pub max_batch: usize,
}

/// A vendor's API quota as its last answer reported it (Salesforce's `Sforce-Limit-Info`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApiUsage {
    /// Requests used in the vendor's window (a rolling day for Salesforce).
    pub used: u64,
    /// Requests allowed in that window.
    pub limit: u64,
}

/// A built connector: a named runtime object made from one config section.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The connector's name in `adapters.toml`.
    fn name(&self) -> &str;

    /// What it can read and write.
    fn capabilities(&self) -> Capabilities;

    /// Its reading side, if it reads.
    fn source(&self) -> Option<&dyn Source> {
        None
    }

    /// Its writing side, if it writes.
    fn sink(&self) -> Option<&dyn Sink> {
        None
    }

    /// The webhook receiver, for connectors whose vendor pushes events to `/hooks/<name>/...`.
    fn webhooks(&self) -> Option<&dyn WebhookReceiver> {
        None
    }

    /// The catalog it keeps, for a connector that is one (a PIM): pipelines that require it
    /// hold back stock of SKUs it does not know.
    fn catalog(&self) -> Option<&dyn Catalog> {
        None
    }

    /// The vendor's API quota, for a vendor that reports one (exported as a metric).
    fn api_usage(&self) -> Option<ApiUsage> {
        None
    }

    /// The top-level fields of `entity` records the system keeps, for one that keeps only some
    /// (ShipHero has no stock status: what it reads there is a default, not its own value).
    /// `syncd drift` compares only fields both sides keep. `None`: every field.
    fn fields_kept(&self, _entity: EntityKind) -> Option<&'static [&'static str]> {
        None
    }

    /// Checks that the system behind the connector is reachable and accepts our credentials.
    async fn check(&self) -> Result<(), ConnectorError> {
        Ok(())
    }
}

/// A catalog that answers, by SKU, whether a product exists.
pub trait Catalog: Send + Sync {
    /// Whether the catalog holds a product `sku`.
    fn knows_sku(&self, sku: &str) -> Result<bool, String>;
}

/// Reads pages of records from a system.
#[async_trait]
pub trait Source: Send + Sync {
    /// Reads the page that starts at `request.cursor`.
    ///
    /// Rows that cannot be parsed are returned as rejected items, not as an error, so that the
    /// rest of the page proceeds.
    async fn read_page(&self, request: ReadRequest) -> Result<Page, ConnectorError>;

    /// Why `cursor` is not one of this source's cursors, if it is not: an operator may set a
    /// cursor by hand, and a wrong shape would be read as "from the start" or worse. The default
    /// accepts any cursor; a source whose cursors have a shape says so here.
    fn check_cursor(&self, _cursor: &Cursor) -> Result<(), String> {
        Ok(())
    }
}

/// Writes batches of records into a system.
#[async_trait]
pub trait Sink: Send + Sync {
    /// For a target that removes allocations by logical-timestamp range (NewStore): how the
    /// ranges are scoped and how long a gap may hold them back. The engine then sends the
    /// removable ranges with the run's last positions, in one call made only after every other
    /// write of the run was applied; such a call must apply all of its positions or none, and
    /// refuse its ranges if it refuses any position.
    fn allocation_ranges(&self) -> Option<RangePolicy> {
        None
    }

    /// Applies a batch of at most `capabilities().max_batch` writes, all of `entity`.
    ///
    /// Returns one outcome per write, in order. An `Err` means the call as a whole failed and no
    /// write of the batch may be assumed applied. A staging sink (see
    /// [`Sink::stages_writes`]) only checks and stages here: `Applied` means "staged".
    async fn write_batch(
        &self,
        entity: EntityKind,
        batch: &[WriteOp],
    ) -> Result<Vec<WriteOutcome>, ConnectorError>;

    /// True for a sink that can only replace a whole artifact (a snapshot file, a vendor's full
    /// import): its `write_batch` stages, and nothing reaches the target before
    /// [`Sink::finish`]. The engine then acknowledges a run's writes only after `finish`
    /// succeeded, calls [`Sink::discard`] before it stages anything, and runs one pipeline at a
    /// time into the sink.
    fn stages_writes(&self) -> bool {
        false
    }

    /// Drops whatever was staged and not finished (what an interrupted run left).
    async fn discard(&self, _entity: EntityKind) -> Result<(), ConnectorError> {
        Ok(())
    }

    /// Puts everything staged since the last `finish` or `discard` into the target, at once and
    /// atomically: after a crash the target holds all of it or none. Called once per run, after
    /// its last write and before its cursor moves; a sink that does not stage has nothing to do.
    async fn finish(&self, _entity: EntityKind) -> Result<(), ConnectorError> {
        Ok(())
    }
}
