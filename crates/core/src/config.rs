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

    /// Deserializes the section into a component's typed config, reporting every problem in
    /// it (not only the first); errors carry the full key path.
    pub fn extract<T: DeserializeOwned>(&self) -> Result<T, Vec<ConfigError>> {
        let (value, problems) = self.extract_all::<T>()?;
        problems.finish(value)
    }

    /// Deserializes the section, standing in for every bad value so that the rest can still be
    /// read and checked: the value (never to be used when `problems` holds an error) and the
    /// problems found. `Err` when some bad value has no stand-in, with every problem up to it.
    ///
    /// A serde deserializer stops at its first error, which would make an operator run
    /// `syncd check` once per typo. So each bad key is recorded, removed (an unknown key) or
    /// replaced by a value of whatever type parses (a wrong type, a missing key, a missing
    /// secret), and the section read again.
    pub fn extract_all<T: DeserializeOwned>(&self) -> Result<(T, Problems), Vec<ConfigError>> {
        let mut dict = self.value.clone();
        let mut problems = Problems {
            origin: self.origin.clone(),
            path: self.path.clone(),
            errors: Vec::new(),
            bad: Vec::new(),
        };
        let attempt = |dict: &Dict| {
            Figment::from(figment::providers::Serialized::defaults(dict))
                .extract::<T>()
                .map_err(Box::new)
        };
        for _ in 0..MAX_STAND_INS {
            let err = match attempt(&dict) {
                Ok(value) => return Ok((value, problems)),
                Err(err) => err,
            };
            let first = err.clone().into_iter().next();
            problems
                .errors
                .extend(ConfigError::from_figment(&self.origin, &self.path, *err));
            let Some(first) = first else { break };
            let (at, unknown) = bad_location(&first);
            problems.bad.push(at.clone());
            if unknown {
                if remove_at(&mut dict, &at).is_some() {
                    continue;
                }
                break;
            }
            let before = remove_at(&mut dict, &at);
            let stood_in = stand_ins().into_iter().find(|candidate| {
                let mut trial = dict.clone();
                match candidate {
                    Some(v) => insert_at(&mut trial, &at, v.clone()),
                    None if before.is_none() => return false,
                    None => {}
                }
                match attempt(&trial) {
                    Ok(_) => true,
                    Err(e) => e
                        .into_iter()
                        .next()
                        .is_none_or(|e| !bad_location(&e).0.starts_with(&at)),
                }
            });
            match stood_in {
                Some(Some(v)) => insert_at(&mut dict, &at, v),
                Some(None) => {}
                None => break,
            }
        }
        Err(problems.errors)
    }
}

/// How many bad values one section may hold before reading gives up.
const MAX_STAND_INS: usize = 64;

/// Values of each shape tried in place of a bad one; `None` tries leaving the key out.
fn stand_ins() -> [Option<Value>; 7] {
    [
        Some(Value::from(1u8)),
        Some(Value::from(String::from("stand-in"))),
        Some(Value::from(false)),
        Some(Value::from(Dict::new())),
        Some(Value::from(Vec::<Value>::new())),
        Some(Value::from(1.0f64)),
        None,
    ]
}

/// The key path (relative to the extracted value) an error is about, and whether it names a
/// key that should not be there at all.
fn bad_location(e: &figment::Error) -> (Vec<String>, bool) {
    let mut path = e.path.clone();
    match &e.kind {
        figment::error::Kind::UnknownField(field, _) => {
            if path.last() != Some(field) {
                path.push(field.clone());
            }
            (path, true)
        }
        figment::error::Kind::MissingField(field) => {
            path.push(field.to_string());
            (path, false)
        }
        _ => (path, false),
    }
}

fn remove_at(dict: &mut Dict, at: &[String]) -> Option<Value> {
    match at {
        [] => None,
        [key] => dict.remove(key),
        [key, rest @ ..] => match dict.get_mut(key) {
            Some(Value::Dict(_, inner)) => remove_at(inner, rest),
            _ => None,
        },
    }
}

fn insert_at(dict: &mut Dict, at: &[String], value: Value) {
    match at {
        [] => {}
        [key] => {
            dict.insert(key.clone(), value);
        }
        [key, rest @ ..] => {
            let inner = dict
                .entry(key.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = inner {
                insert_at(inner, rest, value);
            }
        }
    }
}

/// The problems found in one section: those of its types, then those a component's own checks
/// add. A check of a key already reported is dropped, as it would judge a stand-in.
#[derive(Debug)]
pub struct Problems {
    origin: String,
    path: String,
    errors: Vec<ConfigError>,
    bad: Vec<Vec<String>>,
}

impl Problems {
    fn is_bad(&self, full_key: &str) -> bool {
        let relative = full_key
            .strip_prefix(&self.path)
            .map(|k| k.trim_start_matches('.'))
            .unwrap_or(full_key);
        let parts: Vec<&str> = relative.split('.').filter(|p| !p.is_empty()).collect();
        self.bad.iter().any(|bad| {
            bad.iter().map(String::as_str).eq(parts.iter().copied())
                || (parts.len() > bad.len() && bad.iter().zip(&parts).all(|(b, p)| b == p))
        })
    }

    /// Adds `errors` (from a component's own checks), except those about a bad key.
    pub fn extend(&mut self, errors: impl IntoIterator<Item = ConfigError>) {
        for e in errors {
            if !self.is_bad(&e.key) {
                self.errors.push(e);
            }
        }
    }

    /// Adds a problem at `key` inside the section, unless that key is already reported.
    pub fn add(&mut self, key: &str, message: impl Into<String>) {
        let full = if key.is_empty() {
            self.path.clone()
        } else {
            format!("{}.{key}", self.path)
        };
        self.extend([ConfigError::new(self.origin.clone(), full, message)]);
    }

    /// True when nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Every problem found.
    pub fn into_errors(self) -> Vec<ConfigError> {
        self.errors
    }

    /// `value` when nothing is wrong, else every problem.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<ConfigError>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
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

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Many {
        url: String,
        size: u32,
        enabled: bool,
        limit: Option<Limit>,
        #[serde(default)]
        names: Vec<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Limit {
        per_second: f64,
    }

    #[test]
    fn every_bad_key_of_a_section_is_reported_at_once() {
        let toml = r#"
            url = 7
            enabled = "yes"
            sise = 3
            names = "a"
            limit = { per_second = "fast", burst = 2 }
        "#;
        let errs = ConfigSection::from_toml("connectors.erp", toml)
            .unwrap()
            .extract::<Many>()
            .unwrap_err();
        let mut keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "connectors.erp.enabled",
                "connectors.erp.limit.burst",
                "connectors.erp.limit.per_second",
                "connectors.erp.names",
                "connectors.erp.sise",
                "connectors.erp.size",
                "connectors.erp.url",
            ],
            "{errs:#?}"
        );
    }

    #[test]
    fn a_components_own_check_of_a_bad_key_is_not_reported_twice() {
        let section = ConfigSection::from_toml("connectors.erp", "url = 7\nsize = 0").unwrap();
        let (value, mut problems) = section.extract_all::<Many>().unwrap();
        problems.add("url", format!("`{}` is not a URL", value.url));
        problems.add("size", "must be at least 1");
        let errs = problems.finish(()).unwrap_err();
        let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "connectors.erp.url",
                "connectors.erp.enabled",
                "connectors.erp.size"
            ],
            "{errs:#?}"
        );
    }
}
