//! `adapters.toml`: read with figment from the file exactly as named, overlaid by `SYNCD_`
//! environment variables (`__` for nesting), each section checked on its own so that every
//! problem is reported at once, with its file and key path.

mod daemon;
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::value::{Dict, Value};
use figment::Figment;
use syncd_core::{ConfigError, ConfigSection};
use syncd_engine::{LinkConfig, PipelineConfig, RateLimit};

pub use daemon::DaemonSection;
pub use validate::parse_schedule;

/// Top-level keys of `adapters.toml`.
const SECTIONS: [&str; 4] = ["daemon", "connectors", "pipelines", "links"];

/// One `[connectors.<name>]` section, split into what the daemon handles and what the adapter
/// gets.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectorSection {
    /// The adapter kind (`kind = "file"`).
    pub kind: String,
    /// The daemon-enforced rate limit for calls to this connector.
    pub rate_limit: Option<RateLimit>,
    /// The adapter's own keys.
    pub section: ConfigSection,
}

/// A fully parsed config file.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file, for messages.
    pub origin: String,
    /// Relative paths are resolved against this directory (the file's).
    pub base_dir: PathBuf,
    /// `[daemon]`.
    pub daemon: DaemonSection,
    /// `[connectors.<name>]`, by name.
    pub connectors: BTreeMap<String, ConnectorSection>,
    /// `[[pipelines]]`.
    pub pipelines: Vec<PipelineConfig>,
    /// `[[links]]`.
    pub links: Vec<LinkConfig>,
}

impl Config {
    /// The state directory, resolved.
    pub fn state_dir(&self) -> PathBuf {
        let dir = &self.daemon.state_dir;
        if dir.is_absolute() {
            dir.clone()
        } else {
            self.base_dir.join(dir)
        }
    }
}

fn figment_for(path: &Path) -> Figment {
    // Only the sections that can be addressed by name are overlaid: other SYNCD_ variables
    // (SYNCD_LOG_FORMAT, ...) are the daemon's own settings, not config keys.
    let env = Env::prefixed("SYNCD_").split("__").filter(|key| {
        let key = key.as_str().to_ascii_lowercase();
        key.starts_with("daemon.") || key.starts_with("connectors.")
    });
    Figment::new().merge(Toml::file_exact(path)).merge(env)
}

fn dict_of(origin: &str, key: &str, value: Value) -> Result<Dict, ConfigError> {
    match value {
        Value::Dict(_, d) => Ok(d),
        other => Err(ConfigError::new(
            origin,
            key,
            format!("expected a table, found {}", other.to_actual()),
        )),
    }
}

/// Reads and checks the config at `path`.
///
/// `Err` when the file cannot be read at all; otherwise the parts that parsed, with every
/// problem found in the others (so that connectors can still be built and checked).
pub fn load(path: &Path) -> Result<(Config, Vec<ConfigError>), Vec<ConfigError>> {
    let origin = path.display().to_string();
    if !path.is_file() {
        return Err(vec![ConfigError::new(
            &origin,
            "",
            "config file not found (it must exist: an absent file is not an empty config)",
        )]);
    }
    let base_dir = path
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let top: Dict = figment_for(path)
        .extract()
        .map_err(|e| ConfigError::from_figment(&origin, "", e))?;

    let mut errors = Vec::new();
    for key in top.keys().filter(|k| !SECTIONS.contains(&k.as_str())) {
        errors.push(ConfigError::new(
            &origin,
            key.as_str(),
            format!("unknown key (expected one of: {})", SECTIONS.join(", ")),
        ));
    }

    let daemon = match top.get("daemon").cloned() {
        None => DaemonSection::default(),
        Some(v) => match dict_of(&origin, "daemon", v)
            .map_err(|e| vec![e])
            .and_then(|d| ConfigSection::new(&origin, "daemon", d).extract::<DaemonSection>())
        {
            Ok(d) => d,
            Err(e) => {
                errors.extend(e);
                DaemonSection::default()
            }
        },
    };
    errors.extend(daemon.check(&origin));

    let mut connectors = BTreeMap::new();
    if let Some(v) = top.get("connectors").cloned() {
        match dict_of(&origin, "connectors", v) {
            Err(e) => errors.push(e),
            Ok(all) => {
                for (name, value) in all {
                    let key = format!("connectors.{name}");
                    match connector_section(&origin, &key, value) {
                        Ok(c) => {
                            connectors.insert(name, c);
                        }
                        Err(e) => errors.extend(e),
                    }
                }
            }
        }
    }

    let pipelines = list_of::<PipelineConfig>(&origin, &top, "pipelines", &mut errors);
    let links = list_of::<LinkConfig>(&origin, &top, "links", &mut errors);
    let config = Config {
        origin,
        base_dir,
        daemon,
        connectors,
        pipelines,
        links,
    };
    errors.extend(validate::cross_references(&config));
    Ok((config, errors))
}

fn connector_section(
    origin: &str,
    key: &str,
    value: Value,
) -> Result<ConnectorSection, Vec<ConfigError>> {
    let dict = dict_of(origin, key, value).map_err(|e| vec![e])?;
    let mut section = ConfigSection::new(origin, key, dict);
    let kind = match section.take("kind") {
        Some(Value::String(_, k)) => k,
        Some(other) => {
            return Err(vec![section.error(
                "kind",
                format!("expected a string, found {}", other.to_actual()),
            )])
        }
        None => {
            return Err(vec![section.error(
                "kind",
                "missing key: every connector names its adapter, e.g. kind = \"file\"",
            )])
        }
    };
    let rate_limit = match section.take("rate_limit") {
        None => None,
        Some(v) => {
            let dict = dict_of(origin, &format!("{key}.rate_limit"), v).map_err(|e| vec![e])?;
            Some(
                ConfigSection::new(origin, format!("{key}.rate_limit"), dict)
                    .extract::<RateLimit>()?,
            )
        }
    };
    Ok(ConnectorSection {
        kind,
        rate_limit,
        section,
    })
}

fn list_of<T: serde::de::DeserializeOwned>(
    origin: &str,
    top: &Dict,
    key: &str,
    errors: &mut Vec<ConfigError>,
) -> Vec<T> {
    let Some(value) = top.get(key).cloned() else {
        return Vec::new();
    };
    let Value::Array(_, items) = value else {
        errors.push(ConfigError::new(
            origin,
            key,
            format!("expected an array of tables ([[{key}]])"),
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("{key}[{i}]");
        match dict_of(origin, &at, item)
            .map_err(|e| vec![e])
            .and_then(|d| ConfigSection::new(origin, &at, d).extract::<T>())
        {
            Ok(v) => out.push(v),
            Err(e) => errors.extend(e),
        }
    }
    out
}

/// Loads and checks the config without building connectors (no secret is read): for commands
/// that only need the state dir, the pipelines' names and the daemon. Prints every problem.
pub fn load_checked(path: &std::path::Path) -> Result<Config, std::process::ExitCode> {
    match load(path) {
        Ok((config, errors)) if errors.is_empty() => Ok(config),
        Ok((_, errors)) | Err(errors) => Err(report_problems(path, errors)),
    }
}

/// Prints `errors` found in `path` and gives the exit code for a bad config.
pub fn report_problems(
    path: &std::path::Path,
    errors: Vec<syncd_core::ConfigError>,
) -> std::process::ExitCode {
    eprintln!("{} problem(s) in {}:", errors.len(), path.display());
    for e in errors {
        eprintln!("  - {e}");
    }
    std::process::ExitCode::from(2)
}
