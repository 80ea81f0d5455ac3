//! `kind = "pim"`: the app's keys.

use serde::Deserialize;
use syncd_core::{ConfigError, ConfigSection, KeyDoc, Secret};

fn default_app_name() -> String {
    "syncd commerce sync".into()
}
fn default_description() -> String {
    "Keeps the catalog in step with stock, order and storefront systems".into()
}
fn default_version() -> String {
    "1.0.0".into()
}
fn default_locale() -> String {
    "en_GB".into()
}
fn default_leeway_secs() -> u64 {
    5
}

/// The daemon as an Ergonode app, and the catalog it keeps.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PimConfig {
    /// The key the installations' shared secrets are encrypted with at rest.
    pub encryption_key: Secret,
    /// The app's base URL as Ergonode reaches it (`https://sync.example.com/hooks/<name>`);
    /// the manifest says the address it was asked at when absent.
    #[serde(default)]
    pub app_url: Option<String>,
    /// The manifest's `name` (3–30 characters).
    #[serde(default = "default_app_name")]
    pub app_name: String,
    /// The manifest's `description` (20–200 characters).
    #[serde(default = "default_description")]
    pub description: String,
    /// The manifest's `version` (semver).
    #[serde(default = "default_version")]
    pub version: String,
    /// The locale names are taken in where one is wanted.
    #[serde(default = "default_locale")]
    pub locale: String,
    /// Clock skew allowed on a token's `exp` and `nbf`.
    #[serde(default = "default_leeway_secs")]
    pub leeway_secs: u64,
}

impl PimConfig {
    /// Reads and checks the section.
    pub fn from_section(section: &ConfigSection) -> Result<Self, Vec<ConfigError>> {
        let (config, mut problems) = section.extract_all::<PimConfig>()?;
        if let Some(url) = &config.app_url {
            if let Some(e) = section.check_url("app_url", url) {
                problems.extend([e]);
            }
        }
        let name = config.app_name.chars().count();
        if !(3..=30).contains(&name) {
            problems.add("app_name", "Ergonode takes a name of 3 to 30 characters");
        }
        let description = config.description.chars().count();
        if !(20..=200).contains(&description) {
            problems.add(
                "description",
                "Ergonode takes a description of 20 to 200 characters",
            );
        }
        let semver = config.version.split('.').collect::<Vec<_>>();
        if semver.len() != 3 || semver.iter().any(|p| p.parse::<u64>().is_err()) {
            problems.add(
                "version",
                format!("`{}` is not a version like 1.0.0", config.version),
            );
        }
        if config.encryption_key.expose().len() < 16 {
            problems.add("encryption_key", "must be at least 16 characters");
        }
        problems.finish(config)
    }
}

/// The keys `PimConfig` reads, for `syncd connectors`.
pub const KEYS: &[KeyDoc] = &[
    KeyDoc::required(
        "encryption_key",
        "secret",
        "the key the installations' shared secrets are encrypted with at rest (≥ 16 characters)",
    ),
    KeyDoc::optional(
        "app_url",
        "url",
        "the app's base URL as Ergonode reaches it (…/hooks/<name>); the address asked at when absent",
    ),
    KeyDoc::default(
        "app_name",
        "string",
        "\"syncd commerce sync\"",
        "the manifest's name (3–30 characters)",
    ),
    KeyDoc::default(
        "description",
        "string",
        "\"Keeps the catalog in step with stock, order and storefront systems\"",
        "the manifest's description (20–200 characters)",
    ),
    KeyDoc::default("version", "string", "\"1.0.0\"", "the manifest's version (semver)"),
    KeyDoc::default(
        "locale",
        "string",
        "\"en_GB\"",
        "the locale names are taken in where one is wanted",
    ),
    KeyDoc::default(
        "leeway_secs",
        "integer",
        "5",
        "clock skew allowed on a token's exp and nbf",
    ),
];
