//! `kind = "fluent"`: the adapter's keys.

use serde::{Deserialize, Serialize};
use syncd_core::{ConfigError, ConfigSection, KeyDoc, Secret};

/// The most entities Fluent accepts per batch.
pub const FLUENT_BATCH_LIMIT: usize = 5000;

/// Whether jobs ask for Batch Pre-Processing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preprocessing {
    /// `meta.preprocessing = "skip"`: our own diff already sends only changes, and BPP would
    /// drop a record whose attributes changed but whose quantity did not.
    #[default]
    Skip,
    /// Let Fluent's BPP drop records it considers unchanged.
    On,
}

fn default_inventory_type() -> String {
    "LAST_ON_HAND".into()
}
fn default_source() -> String {
    "syncd".into()
}
fn default_event() -> String {
    "InventoryChanged".into()
}
fn default_batch_size() -> usize {
    FLUENT_BATCH_LIMIT
}
fn default_read_page_size() -> usize {
    500
}
fn default_poll_timeout_secs() -> u64 {
    600
}
fn default_request_timeout_secs() -> u64 {
    60
}

/// A transient quantity type and status Batch Pre-Processing checks before it drops a record
/// as unchanged (an entry of the batch's `conditions.hasRelatedInventoryQuantities`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelatedQuantity {
    /// The quantity type (`SALE`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Its status (`ACTIVE`).
    pub status: String,
}

/// A Fluent account and how to write its inventory.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FluentConfig {
    /// `https://ACCOUNT.api.fluentretail.com` (or the sandbox's URL).
    pub base_url: String,
    /// The account id (sent as `fluent.account`).
    pub account: String,
    /// The retailer the inventory belongs to.
    pub retailer_id: u64,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: Secret,
    /// API user.
    pub username: String,
    /// API user's password.
    pub password: Secret,
    /// Inventory catalogue; `DEFAULT:<retailer_id>` when absent.
    #[serde(default)]
    pub catalogue_ref: Option<String>,
    /// Inventory quantity type written by batches.
    #[serde(default = "default_inventory_type")]
    pub inventory_type: String,
    /// Batch `source`.
    #[serde(default = "default_source")]
    pub source: String,
    /// Batch `event`.
    #[serde(default = "default_event")]
    pub event: String,
    /// Batch Pre-Processing: `skip` (default) or `on`.
    #[serde(default)]
    pub preprocessing: Preprocessing,
    /// The batch's `conditions.hasRelatedInventoryQuantities`; Fluent's defaults when absent.
    #[serde(default)]
    pub related_quantities: Option<Vec<RelatedQuantity>>,
    /// Entities per batch (at most 5,000).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Positions per GraphQL page when reading back.
    #[serde(default = "default_read_page_size")]
    pub read_page_size: usize,
    /// How long a batch may take to complete before the write is retried.
    #[serde(default = "default_poll_timeout_secs")]
    pub poll_timeout_secs: u64,
    /// Timeout of one HTTP request.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
}

impl FluentConfig {
    /// Reads and checks the section.
    pub fn from_section(section: &ConfigSection) -> Result<Self, Vec<ConfigError>> {
        let (config, mut problems) = section.extract_all::<FluentConfig>()?;
        problems.extend(
            [
                section.check_url("base_url", &config.base_url),
                section.check_count(
                    "batch_size",
                    config.batch_size,
                    Some((FLUENT_BATCH_LIMIT, "Fluent's batch limit")),
                ),
                section.check_count("read_page_size", config.read_page_size, None),
            ]
            .into_iter()
            .flatten(),
        );
        problems.finish(config)
    }

    /// The catalogue batches write to.
    pub fn catalogue(&self) -> String {
        self.catalogue_ref
            .clone()
            .unwrap_or_else(|| format!("DEFAULT:{}", self.retailer_id))
    }

    /// The ref Fluent gives a record of `sku` at `location`.
    pub fn record_ref(&self, sku: &str, location: &str) -> String {
        let catalogue = self.catalogue();
        let catalogue_type = catalogue.split(':').next().unwrap_or(&catalogue);
        format!("{sku}:{location}:{catalogue_type}:{}", self.inventory_type)
    }
}

/// The keys `FluentConfig` reads, for `syncd connectors`.
pub const KEYS: &[KeyDoc] = &[
    KeyDoc::required(
        "base_url",
        "url",
        "https://ACCOUNT.api.fluentretail.com (or the sandbox's URL)",
    ),
    KeyDoc::required("account", "string", "the account id (fluent.account)"),
    KeyDoc::required(
        "retailer_id",
        "integer",
        "the retailer the inventory belongs to",
    ),
    KeyDoc::required("client_id", "string", "OAuth client id"),
    KeyDoc::required("client_secret", "secret", "OAuth client secret"),
    KeyDoc::required("username", "string", "API user"),
    KeyDoc::required("password", "secret", "API user's password"),
    KeyDoc::optional(
        "catalogue_ref",
        "string",
        "inventory catalogue; DEFAULT:<retailer_id> when absent",
    ),
    KeyDoc::default(
        "inventory_type",
        "string",
        "\"LAST_ON_HAND\"",
        "quantity type batches write",
    ),
    KeyDoc::default("source", "string", "\"syncd\"", "batch `source`"),
    KeyDoc::default("event", "string", "\"InventoryChanged\"", "batch `event`"),
    KeyDoc::default(
        "preprocessing",
        "skip | on",
        "\"skip\"",
        "Batch Pre-Processing (our diff already sends only changes)",
    ),
    KeyDoc::optional(
        "related_quantities",
        "[{ type, status }]",
        "the batch's conditions.hasRelatedInventoryQuantities (Fluent's defaults when absent)",
    ),
    KeyDoc::default(
        "batch_size",
        "integer",
        "5000",
        "entities per batch (at most 5,000)",
    ),
    KeyDoc::default(
        "read_page_size",
        "integer",
        "500",
        "positions per GraphQL page when reading back",
    ),
    KeyDoc::default(
        "poll_timeout_secs",
        "integer",
        "600",
        "how long a batch may take to complete before the write is retried",
    ),
    KeyDoc::default(
        "request_timeout_secs",
        "integer",
        "60",
        "timeout of one HTTP request",
    ),
];
