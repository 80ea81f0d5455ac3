//! `kind = "shiphero"`: the adapter's keys.

use serde::Deserialize;
use syncd_core::{ConfigError, ConfigSection, KeyDoc, Secret};

/// The most lines ShipHero processes well in one inventory-sync CSV ("CSV file shouldn't have
/// over 3000 lines to achieve optimal processing performance").
pub const SYNC_LINE_LIMIT: usize = 3000;

fn default_base_url() -> String {
    "https://public-api.shiphero.com".into()
}
fn default_reason() -> String {
    "syncd inventory sync".into()
}
fn default_lines_per_sync() -> usize {
    SYNC_LINE_LIMIT
}
fn default_file_ttl_secs() -> u64 {
    6 * 3600
}
fn default_poll_interval_secs() -> f64 {
    5.0
}
fn default_sync_timeout_secs() -> u64 {
    3600
}
fn default_read_page_size() -> usize {
    100
}
fn default_credits() -> u64 {
    4004
}
fn default_credits_per_sec() -> u64 {
    60
}
fn default_request_timeout_secs() -> u64 {
    60
}
fn default_file_listen() -> String {
    "127.0.0.1:0".into()
}

/// A ShipHero account's warehouse and how to sync its stock.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipHeroConfig {
    /// `https://public-api.shiphero.com` (or the sandbox's URL).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// A developer user's email (with `password`).
    #[serde(default)]
    pub username: Option<String>,
    /// Its password.
    #[serde(default)]
    pub password: Option<Secret>,
    /// A refresh token the dashboard issued (instead of a password).
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    /// The warehouse, as ShipHero's id (`V2FyZWhvdXNlOjQzNTA=`).
    pub warehouse_id: String,
    /// The canonical location this warehouse is (positions elsewhere are not its own).
    pub location: String,
    /// For a 3PL acting for a customer.
    #[serde(default)]
    pub customer_account_id: Option<String>,
    /// The CSV's `reason`.
    #[serde(default = "default_reason")]
    pub reason: String,
    /// A Dynamic Slotting account: the CSV carries `location` (a position's `bin` attribute).
    #[serde(default)]
    pub dynamic_slotting: bool,
    /// Rows per inventory-sync CSV (at most 3,000).
    #[serde(default = "default_lines_per_sync")]
    pub lines_per_sync: usize,
    /// The base URL ShipHero reaches the served CSVs at (your proxy's); the listener's own
    /// address when absent.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Where CSVs are served when the process has no public listener (`syncd once`).
    #[serde(default = "default_file_listen")]
    pub file_listen: String,
    /// How long a CSV stays downloadable at most.
    #[serde(default = "default_file_ttl_secs")]
    pub file_ttl_secs: u64,
    /// The least time between two status polls of a sync (it grows while the sync runs).
    #[serde(default = "default_poll_interval_secs")]
    pub poll_interval_secs: f64,
    /// How long a sync may stay unfinished before it is aborted.
    #[serde(default = "default_sync_timeout_secs")]
    pub sync_timeout_secs: u64,
    /// Products per `warehouse_products` page.
    #[serde(default = "default_read_page_size")]
    pub read_page_size: usize,
    /// The account's credit bucket.
    #[serde(default = "default_credits")]
    pub credits: u64,
    /// Credits it regains a second.
    #[serde(default = "default_credits_per_sec")]
    pub credits_per_sec: u64,
    /// The Inventory Update webhook's `shared_signature_secret`: webhooks are taken when set.
    #[serde(default)]
    pub webhook_secret: Option<Secret>,
    /// Timeout of one HTTP request.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
}

impl ShipHeroConfig {
    /// Reads and checks the section.
    pub fn from_section(section: &ConfigSection) -> Result<Self, Vec<ConfigError>> {
        let (config, mut problems) = section.extract_all::<ShipHeroConfig>()?;
        problems.extend(
            [
                section.check_url("base_url", &config.base_url),
                section.check_count(
                    "lines_per_sync",
                    config.lines_per_sync,
                    Some((SYNC_LINE_LIMIT, "ShipHero's recommended CSV size")),
                ),
                section.check_count(
                    "read_page_size",
                    config.read_page_size,
                    Some((1000, "a page's credits")),
                ),
            ]
            .into_iter()
            .flatten(),
        );
        if let Some(url) = &config.public_url {
            if let Some(e) = section.check_url("public_url", url) {
                problems.extend([e]);
            }
        }
        match (&config.username, &config.password, &config.refresh_token) {
            (_, _, Some(_)) | (Some(_), Some(_), None) => {}
            (None, _, None) => problems.add(
                "username",
                "give `username` and `password`, or a `refresh_token`",
            ),
            (Some(_), None, None) => problems.add("password", "`username` needs its `password`"),
        }
        if config.poll_interval_secs.is_nan() || config.poll_interval_secs <= 0.0 {
            problems.add("poll_interval_secs", "must be more than 0");
        }
        if config.credits == 0 || config.credits_per_sec == 0 {
            problems.add("credits", "the credit bucket must hold and regain credits");
        }
        problems.finish(config)
    }
}

/// The keys `ShipHeroConfig` reads, for `syncd connectors`.
pub const KEYS: &[KeyDoc] = &[
    KeyDoc::default(
        "base_url",
        "url",
        "\"https://public-api.shiphero.com\"",
        "the public API (or the sandbox's URL)",
    ),
    KeyDoc::optional(
        "username",
        "string",
        "a developer user's email (with password)",
    ),
    KeyDoc::optional("password", "secret", "its password"),
    KeyDoc::optional(
        "refresh_token",
        "secret",
        "a refresh token the dashboard issued (instead of a password)",
    ),
    KeyDoc::required(
        "warehouse_id",
        "string",
        "the warehouse, as ShipHero's id (V2FyZWhvdXNlOjQzNTA=)",
    ),
    KeyDoc::required(
        "location",
        "string",
        "the canonical location this warehouse is",
    ),
    KeyDoc::optional(
        "customer_account_id",
        "string",
        "for a 3PL acting for a customer",
    ),
    KeyDoc::default(
        "reason",
        "string",
        "\"syncd inventory sync\"",
        "the CSV's reason",
    ),
    KeyDoc::default(
        "dynamic_slotting",
        "bool",
        "false",
        "a Dynamic Slotting account: the CSV carries location (a position's `bin` attribute)",
    ),
    KeyDoc::default(
        "lines_per_sync",
        "integer",
        "3000",
        "rows per inventory-sync CSV (at most 3,000)",
    ),
    KeyDoc::optional(
        "public_url",
        "url",
        "the base URL ShipHero reaches the served CSVs at; the listener's own address when absent",
    ),
    KeyDoc::default(
        "file_listen",
        "address",
        "\"127.0.0.1:0\"",
        "where CSVs are served when the process has no public listener",
    ),
    KeyDoc::default(
        "file_ttl_secs",
        "integer",
        "21600",
        "how long a CSV stays downloadable at most",
    ),
    KeyDoc::default(
        "poll_interval_secs",
        "number",
        "5",
        "the least time between two status polls of a sync",
    ),
    KeyDoc::default(
        "sync_timeout_secs",
        "integer",
        "3600",
        "how long a sync may stay unfinished before it is aborted",
    ),
    KeyDoc::default(
        "read_page_size",
        "integer",
        "100",
        "products per warehouse_products page",
    ),
    KeyDoc::default("credits", "integer", "4004", "the account's credit bucket"),
    KeyDoc::default(
        "credits_per_sec",
        "integer",
        "60",
        "credits it regains a second",
    ),
    KeyDoc::optional(
        "webhook_secret",
        "secret",
        "the Inventory Update webhook's shared_signature_secret: webhooks are taken when set",
    ),
    KeyDoc::default(
        "request_timeout_secs",
        "integer",
        "60",
        "timeout of one HTTP request",
    ),
];
