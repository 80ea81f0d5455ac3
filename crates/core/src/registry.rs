//! Connector factories and the registry the daemon builds connectors from.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{ConfigError, ConfigSection};
use crate::connector::Connector;

/// What a factory gets to build one connector.
#[derive(Clone, Debug)]
pub struct BuildContext {
    /// The connector's name (the `<name>` of `[connectors.<name>]`).
    pub name: String,
    /// The connector's own keys (the daemon has removed `kind` and its common keys).
    pub section: ConfigSection,
    /// A directory the connector may keep private files in (under the daemon's state dir).
    pub data_dir: PathBuf,
    /// The directory relative paths in the section are resolved against (the config file's).
    pub base_dir: PathBuf,
}

impl BuildContext {
    /// `path` as given if absolute, else relative to the config file's directory.
    pub fn resolve(&self, path: &std::path::Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }
}

/// Whether a connector's key must be given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyNeed {
    /// The connector cannot be built without it.
    Required,
    /// Absent means "not used" (or a value derived from other keys, which `about` says).
    Optional,
    /// Absent means this value (as written in TOML).
    Default(&'static str),
}

/// One key of a connector's section, as `syncd connectors` lists it.
#[derive(Clone, Copy, Debug)]
pub struct KeyDoc {
    /// The key, as written in `[connectors.<name>]`.
    pub name: &'static str,
    /// What it holds: `string`, `integer`, `bool`, `path`, `url`, `address`, `secret`, or the
    /// values an enumeration takes (`skip | on`).
    pub shape: &'static str,
    /// Whether it must be given.
    pub need: KeyNeed,
    /// One line on what it does.
    pub about: &'static str,
}

impl KeyDoc {
    /// A key the connector cannot do without.
    pub const fn required(name: &'static str, shape: &'static str, about: &'static str) -> Self {
        KeyDoc {
            name,
            shape,
            need: KeyNeed::Required,
            about,
        }
    }

    /// A key that may be left out.
    pub const fn optional(name: &'static str, shape: &'static str, about: &'static str) -> Self {
        KeyDoc {
            name,
            shape,
            need: KeyNeed::Optional,
            about,
        }
    }

    /// A key with a default.
    pub const fn default(
        name: &'static str,
        shape: &'static str,
        value: &'static str,
        about: &'static str,
    ) -> Self {
        KeyDoc {
            name,
            shape,
            need: KeyNeed::Default(value),
            about,
        }
    }
}

/// Builds connectors of one kind from their typed config section.
pub trait ConnectorFactory: Send + Sync {
    /// The `kind = "..."` this factory answers to.
    fn kind(&self) -> &'static str;

    /// One line on what a connector of this kind connects to and does.
    fn about(&self) -> &'static str;

    /// Every key of the connector's own section (the daemon's `kind` and `rate_limit` aside).
    fn keys(&self) -> &'static [KeyDoc];

    /// Validates the section and builds the runtime connector; every problem names its key.
    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn Connector>, Vec<ConfigError>>;
}

/// The set of connector kinds this build of the daemon knows.
#[derive(Default)]
pub struct Registry {
    factories: BTreeMap<&'static str, Box<dyn ConnectorFactory>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a factory; a later one of the same kind replaces the earlier.
    pub fn register(&mut self, factory: Box<dyn ConnectorFactory>) {
        self.factories.insert(factory.kind(), factory);
    }

    /// The factory for `kind`.
    pub fn get(&self, kind: &str) -> Option<&dyn ConnectorFactory> {
        self.factories.get(kind).map(|f| f.as_ref())
    }

    /// Every factory, sorted by kind.
    pub fn factories(&self) -> impl Iterator<Item = &dyn ConnectorFactory> {
        self.factories.values().map(|f| f.as_ref())
    }

    /// Every registered kind, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.factories.keys().copied().collect()
    }
}
