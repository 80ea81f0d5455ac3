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

/// Builds connectors of one kind from their typed config section.
pub trait ConnectorFactory: Send + Sync {
    /// The `kind = "..."` this factory answers to.
    fn kind(&self) -> &'static str;

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

    /// Every registered kind, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        self.factories.keys().copied().collect()
    }
}
