//! Pipeline and link configuration, as written in `adapters.toml`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use syncd_core::EntityKind;

/// Whether a run reads changes since its cursor or a full snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Changes since the saved cursor; the cursor advances as records are accounted for.
    #[default]
    Incremental,
    /// The whole snapshot each run; only what differs from the target's shadow is written.
    Full,
}

/// What to do with a SKU or location that has no entry in a non-empty map.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unmapped {
    /// Keep the value as it is.
    #[default]
    Pass,
    /// Leave the record out (counted in the report).
    Skip,
    /// Dead-letter the record.
    DeadLetter,
}

/// Identifier maps from the source's names to the target's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Maps {
    /// Source SKU → target SKU.
    #[serde(default)]
    pub sku: BTreeMap<String, String>,
    /// Source location → target location.
    #[serde(default)]
    pub location: BTreeMap<String, String>,
    /// What to do with values missing from a non-empty map.
    #[serde(default)]
    pub unmapped: Unmapped,
}

/// How writes are retried.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts per write before the run gives up on it (it stays in the outbox).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The first backoff ceiling, in milliseconds; it doubles per attempt (full jitter).
    #[serde(default = "default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    /// The largest backoff ceiling, in milliseconds.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// How many times a run waits out a vendor's rate limit before giving up.
    #[serde(default = "default_max_rate_limit_waits")]
    pub max_rate_limit_waits: u32,
}

fn default_max_attempts() -> u32 {
    5
}
fn default_initial_backoff_ms() -> u64 {
    200
}
fn default_max_backoff_ms() -> u64 {
    30_000
}
fn default_max_rate_limit_waits() -> u32 {
    20
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: default_max_attempts(),
            initial_backoff_ms: default_initial_backoff_ms(),
            max_backoff_ms: default_max_backoff_ms(),
            max_rate_limit_waits: default_max_rate_limit_waits(),
        }
    }
}

fn default_page_size() -> usize {
    5_000
}

/// One pipeline: records of one entity from one connector to another.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Unique name; used in the store, the CLI and metrics.
    pub name: String,
    /// The source connector.
    pub from: String,
    /// The target connector.
    pub to: String,
    /// The entity kind read from the source.
    pub entity: EntityKind,
    /// What the target is written as, when it differs from what is read: fulfillment events
    /// are written as stock adjustments (one −1 per completed item).
    #[serde(default)]
    pub write_as: Option<EntityKind>,
    /// Incremental (default) or full.
    #[serde(default)]
    pub mode: Mode,
    /// When the daemon runs it (cron, with or without a seconds field); none: only on demand.
    #[serde(default)]
    pub schedule: Option<String>,
    /// Identifier maps.
    #[serde(default)]
    pub maps: Maps,
    /// Writes per call; defaults to (and may not exceed) the target's limit.
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// Records per read page.
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// In full mode, delete from the target what the snapshot no longer holds.
    #[serde(default)]
    pub delete_missing: bool,
    /// Retry policy.
    #[serde(default)]
    pub retry: RetryConfig,
    /// A catalog connector (a PIM) whose products this pipeline's stock must belong to: a
    /// position of a SKU the catalog does not know is held as a dead letter, and replayed by
    /// the first run after the product arrives.
    #[serde(default)]
    pub require_catalog: Option<String>,
}

/// Two connectors kept in step both ways for one entity, with an owner per field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// Unique name.
    pub name: String,
    /// The two connectors.
    pub between: [String; 2],
    /// The entity kind.
    pub entity: EntityKind,
    /// Field (top-level, e.g. `on_hand`) → the connector whose value always wins.
    #[serde(default)]
    pub owners: BTreeMap<String, String>,
    /// For unowned fields changed on both sides since the last sync: the connector that wins
    /// (default: the side the running pipeline reads from).
    #[serde(default)]
    pub prefer: Option<String>,
}
