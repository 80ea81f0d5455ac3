//! `kind = "salesforce"`: the adapter's keys.

use std::time::Duration;

use serde::Deserialize;
use syncd_core::{ConfigError, ConfigSection, EntityKind, KeyDoc, Secret};

use crate::client::{ClientSettings, Grant};
use crate::names::Names;

/// The most records one sObject Collections call takes.
pub const COLLECTIONS_LIMIT: usize = 200;

/// The OAuth grant the connector authenticates with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantKind {
    /// JWT bearer: the daemon signs an assertion with the connected app's key (no secret
    /// travels, nothing expires that a person must renew).
    #[default]
    Jwt,
    /// Client credentials: the app runs as the user set on it.
    ClientCredentials,
    /// A refresh token from a web flow an admin ran once.
    RefreshToken,
}

/// Where the connector's reads of the MSI objects come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reads {
    /// SOQL against the org: the reconciliation path.
    #[default]
    Poll,
    /// The managed package's reverse-sync bodies, posted to `/hooks/<connector>`.
    Push,
}

fn default_api_version() -> String {
    "62.0".into()
}
fn default_batch_size() -> usize {
    COLLECTIONS_LIMIT
}
fn default_read_batch_size() -> usize {
    2000
}
fn default_overlap_secs() -> u64 {
    300
}
fn default_budget_share() -> f64 {
    0.5
}
fn default_request_timeout_secs() -> u64 {
    60
}
fn default_push_entities() -> Vec<EntityKind> {
    vec![EntityKind::StockPosition]
}

/// An org and how to read and write its MSI objects.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesforceConfig {
    /// `https://login.salesforce.com`, `https://test.salesforce.com` or the org's My Domain.
    pub login_url: String,
    /// The connected app's consumer key.
    pub client_id: String,
    /// The OAuth grant.
    #[serde(default)]
    pub grant: GrantKind,
    /// The integration user (JWT bearer's `sub`).
    #[serde(default)]
    pub username: Option<String>,
    /// The connected app's private key, PEM (JWT bearer).
    #[serde(default)]
    pub private_key: Option<Secret>,
    /// The consumer secret (client credentials; refresh token when the app requires it).
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// The refresh token (refresh-token grant).
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    /// The REST API version.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// The org's object and field names (seed 000's by default).
    #[serde(default)]
    pub names: Names,
    /// `poll` (SOQL) or `push` (the managed package's bodies).
    #[serde(default)]
    pub reads: Reads,
    /// The shared secret the package sends as `Authorization: Bearer …` (push).
    #[serde(default)]
    pub push_secret: Option<Secret>,
    /// The entity kinds taken from pushes (each needs a pipeline reading it).
    #[serde(default = "default_push_entities")]
    pub push_entities: Vec<EntityKind>,
    /// How far a finished poll pass rewinds, for rows committed late.
    #[serde(default = "default_overlap_secs")]
    pub overlap_secs: u64,
    /// Records per sObject Collections call (at most 200).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Rows per query batch asked of Salesforce (`batchSize`, 200–2000).
    #[serde(default = "default_read_batch_size")]
    pub read_batch_size: usize,
    /// The share of the org's daily API requests this connector may use, (0, 1].
    #[serde(default = "default_budget_share")]
    pub budget_share: f64,
    /// Timeout of one HTTP request.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
    /// The catalog attribute a product's `Name` is taken from.
    #[serde(default = "default_name_attribute")]
    pub product_name_attribute: String,
    /// The locale a product's `Name` is taken in.
    #[serde(default = "default_locale")]
    pub product_locale: String,
}

fn default_name_attribute() -> String {
    "name".into()
}
fn default_locale() -> String {
    "en_GB".into()
}

/// The kinds a Salesforce org holds (reads and pushes).
pub const MSI_KINDS: [EntityKind; 5] = [
    EntityKind::StockPosition,
    EntityKind::InventorySource,
    EntityKind::InventoryStock,
    EntityKind::SourceStockLink,
    EntityKind::StockSalesChannel,
];

impl SalesforceConfig {
    /// Reads and checks the section.
    pub fn from_section(section: &ConfigSection) -> Result<Self, Vec<ConfigError>> {
        let (config, mut problems) = section.extract_all::<SalesforceConfig>()?;
        problems.extend(
            [
                section.check_url("login_url", &config.login_url),
                section.check_count(
                    "batch_size",
                    config.batch_size,
                    Some((COLLECTIONS_LIMIT, "the sObject Collections limit")),
                ),
                section.check_count(
                    "read_batch_size",
                    config.read_batch_size,
                    Some((2000, "Salesforce's largest query batch")),
                ),
            ]
            .into_iter()
            .flatten(),
        );
        if config.read_batch_size < 200 {
            problems.add(
                "read_batch_size",
                "Salesforce's smallest query batch is 200",
            );
        }
        if !(config.budget_share > 0.0 && config.budget_share <= 1.0) {
            problems.add(
                "budget_share",
                format!("`{}` is not a share in (0, 1]", config.budget_share),
            );
        }
        if config.api_version.parse::<f32>().is_err() || !config.api_version.contains('.') {
            problems.add(
                "api_version",
                format!("`{}` is not a version like `62.0`", config.api_version),
            );
        }
        match config.grant {
            GrantKind::Jwt => {
                if config.username.is_none() {
                    problems.add(
                        "username",
                        "the JWT bearer grant needs the integration user",
                    );
                }
                if config.private_key.is_none() {
                    problems.add(
                        "private_key",
                        "the JWT bearer grant needs the connected app's private key",
                    );
                }
            }
            GrantKind::ClientCredentials => {
                if config.client_secret.is_none() {
                    problems.add(
                        "client_secret",
                        "the client-credentials grant needs the consumer secret",
                    );
                }
            }
            GrantKind::RefreshToken => {
                if config.refresh_token.is_none() {
                    problems.add(
                        "refresh_token",
                        "the refresh-token grant needs a refresh token",
                    );
                }
            }
        }
        if config.reads == Reads::Push && config.push_secret.is_none() {
            problems.add(
                "push_secret",
                "reads = \"push\" needs the secret the package sends",
            );
        }
        if let Some(kind) = config.push_entities.iter().find(|k| !MSI_KINDS.contains(k)) {
            problems.add("push_entities", format!("the package pushes no {kind}"));
        }
        problems.finish(config)
    }

    /// How the client reaches the org.
    pub fn client_settings(&self) -> ClientSettings {
        let grant = match self.grant {
            GrantKind::Jwt => Grant::Jwt {
                username: self.username.clone().unwrap_or_default(),
                private_key: self.private_key.clone().unwrap_or_else(|| Secret::new("")),
            },
            GrantKind::ClientCredentials => Grant::ClientCredentials {
                client_secret: self
                    .client_secret
                    .clone()
                    .unwrap_or_else(|| Secret::new("")),
            },
            GrantKind::RefreshToken => Grant::RefreshToken {
                refresh_token: self
                    .refresh_token
                    .clone()
                    .unwrap_or_else(|| Secret::new("")),
                client_secret: self.client_secret.clone(),
            },
        };
        ClientSettings {
            login_url: self.login_url.clone(),
            api_version: self.api_version.clone(),
            client_id: self.client_id.clone(),
            grant,
            budget_share: self.budget_share,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
        }
    }
}

/// The keys `SalesforceConfig` reads, for `syncd connectors`.
pub const KEYS: &[KeyDoc] = &[
    KeyDoc::required(
        "login_url",
        "url",
        "https://login.salesforce.com, https://test.salesforce.com, the org's My Domain (or the sandbox's URL)",
    ),
    KeyDoc::required("client_id", "string", "the connected app's consumer key"),
    KeyDoc::default(
        "grant",
        "jwt | client_credentials | refresh_token",
        "\"jwt\"",
        "the OAuth grant",
    ),
    KeyDoc::optional("username", "string", "the integration user (jwt)"),
    KeyDoc::optional("private_key", "secret", "the connected app's private key, PEM (jwt)"),
    KeyDoc::optional(
        "client_secret",
        "secret",
        "the consumer secret (client_credentials; refresh_token when the app requires it)",
    ),
    KeyDoc::optional("refresh_token", "secret", "the refresh token (refresh_token)"),
    KeyDoc::default("api_version", "string", "\"62.0\"", "the REST API version"),
    KeyDoc::optional(
        "names",
        "table",
        "object and field names: namespace, source_item = { object, external_id }, quantity, ... (seed 000's by default)",
    ),
    KeyDoc::default(
        "reads",
        "poll | push",
        "\"poll\"",
        "read the MSI objects by SOQL, or take the managed package's pushes at /hooks/<connector>",
    ),
    KeyDoc::optional(
        "push_secret",
        "secret",
        "the shared secret the package sends as `Authorization: Bearer …` (push)",
    ),
    KeyDoc::default(
        "push_entities",
        "[entity kind]",
        "[\"stock_position\"]",
        "the kinds taken from pushes; each needs a pipeline reading it",
    ),
    KeyDoc::default(
        "overlap_secs",
        "integer",
        "300",
        "how far a finished poll pass rewinds, for rows committed late",
    ),
    KeyDoc::default(
        "batch_size",
        "integer",
        "200",
        "records per sObject Collections call (at most 200)",
    ),
    KeyDoc::default(
        "read_batch_size",
        "integer",
        "2000",
        "rows per query batch (Sforce-Query-Options batchSize, 200–2000)",
    ),
    KeyDoc::default(
        "budget_share",
        "number",
        "0.5",
        "the share of the org's daily API requests this connector may use",
    ),
    KeyDoc::default(
        "request_timeout_secs",
        "integer",
        "60",
        "timeout of one HTTP request",
    ),
    KeyDoc::default(
        "product_name_attribute",
        "string",
        "\"name\"",
        "the catalog attribute a Product2's Name is taken from",
    ),
    KeyDoc::default(
        "product_locale",
        "string",
        "\"en_GB\"",
        "the locale a Product2's Name is taken in",
    ),
];
