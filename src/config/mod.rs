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
    /// The `SYNCD_…` variables overlaid on the file: (variable, the key path it sets).
    pub env_overrides: Vec<(String, String)>,
}

impl Config {
    /// `errors` with each one about a key a `SYNCD_…` variable set naming that variable rather
    /// than the file, so that the operator looks in the unit's environment, not the file.
    pub fn attribute(&self, mut errors: Vec<ConfigError>) -> Vec<ConfigError> {
        for e in &mut errors {
            let set_by = self.env_overrides.iter().find(|(_, key)| {
                e.key == *key
                    || e.key
                        .strip_prefix(key.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
            });
            if let Some((var, _)) = set_by {
                e.origin = format!("environment variable {var}");
            }
        }
        errors
    }

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

/// Only the sections that can be addressed by name are overlaid: other SYNCD_ variables
/// (SYNCD_LOG_FORMAT, ...) are the daemon's own settings, not config keys.
fn overlaid(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.starts_with("daemon.") || key.starts_with("connectors.")
}

fn figment_for(path: &Path) -> Figment {
    let env = Env::prefixed("SYNCD_")
        .split("__")
        .filter(|key| overlaid(key.as_str()));
    Figment::new().merge(Toml::file_exact(path)).merge(env)
}

/// The variables `figment_for` overlays, with the key path each sets (as figment reads them:
/// the prefix off, `__` for nesting, lower case).
fn env_overrides() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(var, _)| {
            let var = var.into_string().ok()?;
            let key = var
                .strip_prefix("SYNCD_")?
                .split("__")
                .collect::<Vec<_>>()
                .join(".")
                .to_ascii_lowercase();
            overlaid(&key).then_some((var, key))
        })
        .collect()
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
        None => {
            let daemon = DaemonSection::default();
            errors.extend(daemon.check(&origin));
            daemon
        }
        Some(v) => match dict_of(&origin, "daemon", v)
            .map_err(|e| vec![e])
            .and_then(|d| ConfigSection::new(&origin, "daemon", d).extract_all::<DaemonSection>())
        {
            Ok((daemon, mut problems)) => {
                problems.extend(daemon.check(&origin));
                if problems.is_empty() {
                    daemon
                } else {
                    errors.extend(problems.into_errors());
                    DaemonSection::default()
                }
            }
            Err(e) => {
                errors.extend(e);
                DaemonSection::default()
            }
        },
    };

    let mut connectors = BTreeMap::new();
    if let Some(v) = top.get("connectors").cloned() {
        match dict_of(&origin, "connectors", v) {
            Err(e) => errors.push(e),
            Ok(all) => {
                for (name, value) in all {
                    let key = format!("connectors.{name}");
                    match connector_section(&origin, &key, value, &mut errors) {
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
        env_overrides: env_overrides(),
    };
    errors.extend(validate::cross_references(&config));
    let errors = config.attribute(errors);
    Ok((config, errors))
}

/// The connector's section, with `kind` and `rate_limit` taken out; a bad rate limit goes to
/// `errors` and leaves the section in, so that the adapter's own keys are checked too.
fn connector_section(
    origin: &str,
    key: &str,
    value: Value,
    errors: &mut Vec<ConfigError>,
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
            let at = format!("{key}.rate_limit");
            match dict_of(origin, &at, v)
                .map_err(|e| vec![e])
                .and_then(|dict| ConfigSection::new(origin, &at, dict).extract::<RateLimit>())
            {
                Ok(limit) => Some(limit),
                Err(e) => {
                    errors.extend(e);
                    None
                }
            }
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
