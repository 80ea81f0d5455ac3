//! `kind = "newstore"`: the adapter's keys.

use serde::Deserialize;
use syncd_core::{ConfigError, ConfigSection, KeyDoc, Secret};

/// How allocation-removal ranges are scoped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeScope {
    /// One sequence of logical timestamps for the whole tenant.
    #[default]
    Global,
    /// One sequence per fulfillment location.
    PerLocation,
}

fn default_file_listen() -> String {
    "127.0.0.1:0".into()
}
fn default_file_ttl_secs() -> u64 {
    3 * 24 * 3600
}
fn default_poll_timeout_secs() -> u64 {
    30 * 60
}
fn default_provider() -> String {
    "syncd".into()
}
fn default_range_field() -> String {
    "allocation_removal".into()
}
fn default_max_batch() -> usize {
    100_000
}
fn default_request_timeout_secs() -> u64 {
    60
}

/// A NewStore tenant.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewStoreConfig {
    /// The tenant (`mycompany-sandbox`).
    pub tenant: String,
    /// API base; `https://{tenant}.p.newstore.net` when absent.
    #[serde(default)]
    pub api_base: Option<String>,
    /// Token URL; NewStore's identity provider for the tenant when absent.
    #[serde(default)]
    pub token_url: Option<String>,
    /// API client id (client credentials).
    pub client_id: String,
    /// API client secret.
    pub client_secret: Secret,
    /// The event stream integration's `api_key` (sent as `Authorization: Bearer`).
    pub webhook_api_key: Secret,
    /// `global` (default) or `per_location` ranges.
    #[serde(default)]
    pub range_scope: RangeScope,
    /// The least time between two imports (NewStore asks ≥ 5 min between parts of a split
    /// import).
    #[serde(default)]
    pub min_import_spacing_secs: u64,
    /// Where import files are served from (NewStore downloads them).
    #[serde(default = "default_file_listen")]
    pub file_listen: String,
    /// The URL NewStore reaches `file_listen` at (a proxy's); `http://<file_listen>` when absent.
    #[serde(default)]
    pub public_base_url: Option<String>,
    /// How long an import file stays downloadable.
    #[serde(default = "default_file_ttl_secs")]
    pub file_ttl_secs: u64,
    /// How long an import may take to finish before the write is retried.
    #[serde(default = "default_poll_timeout_secs")]
    pub poll_timeout_secs: u64,
    /// The import's `provider`.
    #[serde(default = "default_provider")]
    pub provider: String,
    /// The name of the allocation-removal field in the availabilities file.
    #[serde(default = "default_range_field")]
    pub range_field: String,
    /// Positions per import.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// Timeout of one HTTP request.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
}

impl NewStoreConfig {
    /// Reads and checks the section.
    pub fn from_section(section: &ConfigSection) -> Result<Self, Vec<ConfigError>> {
        let (config, mut problems) = section.extract_all::<NewStoreConfig>()?;
        for (key, url) in [
            ("api_base", config.api_base.as_deref()),
            ("token_url", config.token_url.as_deref()),
            ("public_base_url", config.public_base_url.as_deref()),
        ] {
            problems.extend(url.and_then(|u| section.check_url(key, u)));
        }
        if config.file_listen.parse::<std::net::SocketAddr>().is_err() {
            problems.add("file_listen", "must be an address like 0.0.0.0:9182");
        }
        problems.extend(section.check_count("max_batch", config.max_batch, None));
        if config.webhook_api_key.expose().len() < 16 {
            problems.add("webhook_api_key", "must be at least 16 characters");
        }
        problems.finish(config)
    }

    /// The API base URL.
    pub fn api_base(&self) -> String {
        self.api_base
            .clone()
            .unwrap_or_else(|| format!("https://{}.p.newstore.net", self.tenant))
            .trim_end_matches('/')
            .to_string()
    }

    /// The token URL.
    pub fn token_url(&self) -> String {
        self.token_url.clone().unwrap_or_else(|| {
            format!(
                "https://id.p.newstore.net/auth/realms/{}/protocol/openid-connect/token",
                self.tenant
            )
        })
    }
}

/// The keys `NewStoreConfig` reads, for `syncd connectors`.
pub const KEYS: &[KeyDoc] = &[
    KeyDoc::required("tenant", "string", "the tenant (mycompany-sandbox)"),
    KeyDoc::optional(
        "api_base",
        "url",
        "API base; https://{tenant}.p.newstore.net when absent",
    ),
    KeyDoc::optional(
        "token_url",
        "url",
        "token URL; NewStore's identity provider for the tenant when absent",
    ),
    KeyDoc::required("client_id", "string", "API client id (client credentials)"),
    KeyDoc::required("client_secret", "secret", "API client secret"),
    KeyDoc::required(
        "webhook_api_key",
        "secret",
        "the event stream integration's api_key (16+ characters)",
    ),
    KeyDoc::default(
        "range_scope",
        "global | per_location",
        "\"global\"",
        "one logical-timestamp sequence, or one per fulfillment location",
    ),
    KeyDoc::default(
        "min_import_spacing_secs",
        "integer",
        "0",
        "the least time between two imports",
    ),
    KeyDoc::default(
        "file_listen",
        "address",
        "\"127.0.0.1:0\"",
        "where import files are served from (NewStore downloads them)",
    ),
    KeyDoc::optional(
        "public_base_url",
        "url",
        "the URL NewStore reaches file_listen at; http://<file_listen> when absent",
    ),
    KeyDoc::default(
        "file_ttl_secs",
        "integer",
        "259200",
        "how long an import file stays downloadable",
    ),
    KeyDoc::default(
        "poll_timeout_secs",
        "integer",
        "1800",
        "how long an import may take before the write is retried",
    ),
    KeyDoc::default("provider", "string", "\"syncd\"", "the import's `provider`"),
    KeyDoc::default(
        "range_field",
        "string",
        "\"allocation_removal\"",
        "the allocation-removal field's name in the availabilities file",
    ),
    KeyDoc::default("max_batch", "integer", "100000", "positions per import"),
    KeyDoc::default(
        "request_timeout_secs",
        "integer",
        "60",
        "timeout of one HTTP request",
    ),
];
