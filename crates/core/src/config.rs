//! Typed config sections: how a connector's own keys are read, with errors naming the key path.

use std::fmt;

use figment::value::{Dict, Value};
use figment::Figment;
use serde::de::DeserializeOwned;
use thiserror::Error;

/// A configuration problem, naming the file and the key path.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub struct ConfigError {
    /// The config file (or other origin) the key came from.
    pub origin: String,
    /// The dotted key path, e.g. `connectors.erp.read_dir`.
    pub key: String,
    /// What is wrong; never contains a secret's value.
    pub message: String,
}

impl ConfigError {
    /// A problem at `key` in `origin`.
    pub fn new(
        origin: impl Into<String>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            origin: origin.into(),
            key: key.into(),
            message: message.into(),
        }
    }

    /// Converts every error figment reports into our form, keeping the key paths.
    ///
    /// `prefix` is the key path of the value that was extracted (empty for the whole file).
    pub fn from_figment(origin: &str, prefix: &str, err: figment::Error) -> Vec<ConfigError> {
        err.into_iter()
            .map(|e| {
                let mut path: Vec<String> = prefix
                    .split('.')
                    .filter(|p| !p.is_empty())
                    .map(String::from)
                    .collect();
                path.extend(e.path.iter().cloned());
                let message = match &e.kind {
                    figment::error::Kind::UnknownField(field, expected) => {
                        if path.last() != Some(field) {
                            path.push(field.clone());
                        }
                        if expected.is_empty() {
                            "unknown key".to_string()
                        } else {
                            format!("unknown key (expected one of: {})", expected.join(", "))
                        }
                    }
                    figment::error::Kind::MissingField(field) => {
                        path.push(field.to_string());
                        "missing key".to_string()
                    }
                    other => other.to_string(),
                };
                let origin = e
                    .metadata
                    .as_ref()
                    .and_then(|m| match &m.source {
                        Some(figment::Source::File(path)) => Some(path.display().to_string()),
                        Some(figment::Source::Custom(name)) => Some(name.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| origin.to_string());
                ConfigError::new(origin, path.join("."), message)
            })
            .collect()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.origin, self.message)
        } else {
            write!(f, "{}: `{}`: {}", self.origin, self.key, self.message)
        }
    }
}

/// One component's slice of the configuration, with the path it sits at.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigSection {
    origin: String,
    path: String,
    value: Dict,
}

impl ConfigSection {
    /// A section holding `value` at `path` (e.g. `connectors.erp`), read from `origin`.
    pub fn new(origin: impl Into<String>, path: impl Into<String>, value: Dict) -> Self {
        ConfigSection {
            origin: origin.into(),
            path: path.into(),
            value,
        }
    }

    /// Parses a TOML snippet as a section, for tests and examples.
    pub fn from_toml(path: &str, toml: &str) -> Result<Self, Vec<ConfigError>> {
        use figment::providers::Format;
        let figment = Figment::from(figment::providers::Toml::string(toml));
        let value: Dict = figment
            .extract()
            .map_err(|e| ConfigError::from_figment("inline TOML", "", e))?;
        Ok(ConfigSection::new("inline TOML", path, value))
    }

    /// The dotted key path of this section.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The file the section came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The raw keys of the section.
    pub fn keys(&self) -> &Dict {
        &self.value
    }

    /// Removes a key that the daemon handles itself (e.g. `kind`), returning its value.
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.value.remove(key)
    }

    /// A problem at `key` inside this section.
    pub fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let full = if key.is_empty() {
            self.path.clone()
        } else {
            format!("{}.{key}", self.path)
        };
        ConfigError::new(self.origin.clone(), full, message)
    }

    /// A problem at `key` unless `url` is an http:// or https:// URL.
    pub fn check_url(&self, key: &str, url: &str) -> Option<ConfigError> {
        (!(url.starts_with("http://") || url.starts_with("https://")))
            .then(|| self.error(key, "must be an http:// or https:// URL"))
    }

    /// A problem at `key` unless `n` is a count from 1 to `limit` (with what the limit is, for
    /// the message; `None` when there is no upper limit).
    pub fn check_count(
        &self,
        key: &str,
        n: usize,
        limit: Option<(usize, &str)>,
    ) -> Option<ConfigError> {
        match limit {
            Some((limit, what)) if n == 0 || n > limit => {
                Some(self.error(key, format!("must be between 1 and {limit} ({what})")))
            }
            None if n == 0 => Some(self.error(key, "must be at least 1")),
            _ => None,
        }
    }

    /// Deserializes the section into a component's typed config; errors carry the full key path.
    pub fn extract<T: DeserializeOwned>(&self) -> Result<T, Vec<ConfigError>> {
        let figment = Figment::from(figment::providers::Serialized::defaults(&self.value));
        figment
            .extract::<T>()
            .map_err(|e| ConfigError::from_figment(&self.origin, &self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        dir: String,
        #[serde(default)]
        batch: Option<u32>,
    }

    #[test]
    fn an_unknown_key_is_named_with_its_full_path() {
        let section = ConfigSection::from_toml("connectors.erp", "dir = 'x'\ndirr = 'y'").unwrap();
        let errs = section.extract::<Sample>().unwrap_err();
        assert_eq!(errs[0].key, "connectors.erp.dirr", "{errs:?}");
        assert!(errs[0].message.contains("unknown key"));
    }

    #[test]
    fn a_missing_key_and_a_wrong_type_are_named() {
        let section = ConfigSection::from_toml("connectors.erp", "batch = 3").unwrap();
        let errs = section.extract::<Sample>().unwrap_err();
        assert_eq!(errs[0].key, "connectors.erp.dir");
        let section =
            ConfigSection::from_toml("connectors.erp", "dir = 'x'\nbatch = 'many'").unwrap();
        let errs = section.extract::<Sample>().unwrap_err();
        assert_eq!(errs[0].key, "connectors.erp.batch", "{errs:?}");
    }
}
