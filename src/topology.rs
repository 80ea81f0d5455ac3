//! Turning a parsed config into runtime objects: connectors (with their rate limits) and
//! pipelines. Every problem is collected, not just the first.

use std::collections::BTreeMap;

use syncd_core::{BuildContext, ConfigError};
use syncd_engine::{ConnectorHandle, Pipeline};

use crate::config::Config;
use crate::registry::registry;

/// The built connectors and pipelines of one config.
pub struct Topology {
    /// Connectors by name.
    pub connectors: BTreeMap<String, ConnectorHandle>,
    /// Pipelines in config order.
    pub pipelines: Vec<Pipeline>,
}

impl Topology {
    /// Builds every connector and pipeline of `config`.
    pub fn build(config: &Config) -> Result<Self, Vec<ConfigError>> {
        let registry = registry();
        let mut errors = Vec::new();
        let mut connectors = BTreeMap::new();
        for (name, c) in &config.connectors {
            let Some(factory) = registry.get(&c.kind) else {
                errors.push(c.section.error(
                    "kind",
                    format!(
                        "unknown connector kind `{}` (this build knows: {})",
                        c.kind,
                        registry.kinds().join(", ")
                    ),
                ));
                continue;
            };
            let ctx = BuildContext {
                name: name.clone(),
                section: c.section.clone(),
                data_dir: config.state_dir().join("connectors").join(name),
                base_dir: config.base_dir.clone(),
            };
            match factory.build(ctx) {
                Ok(connector) => {
                    connectors.insert(name.clone(), ConnectorHandle::new(connector, c.rate_limit));
                }
                Err(e) => errors.extend(e),
            }
        }
        let mut pipelines = Vec::new();
        for (i, p) in config.pipelines.iter().enumerate() {
            let (Some(source), Some(target)) = (connectors.get(&p.from), connectors.get(&p.to))
            else {
                continue; // a missing or broken connector is reported above
            };
            match Pipeline::new(p.clone(), source.clone(), target.clone(), &config.links) {
                Ok(pipeline) => pipelines.push(pipeline),
                Err(message) => errors.push(ConfigError::new(
                    &config.origin,
                    format!("pipelines[{i}]"),
                    message,
                )),
            }
        }
        if errors.is_empty() {
            Ok(Topology {
                connectors,
                pipelines,
            })
        } else {
            Err(errors)
        }
    }

    /// The pipelines named in `names` (all when empty); an unknown name is an error.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Pipeline>, String> {
        if names.is_empty() {
            return Ok(self.pipelines.iter().collect());
        }
        names
            .iter()
            .map(|n| {
                self.pipelines
                    .iter()
                    .find(|p| p.name() == n)
                    .ok_or_else(|| {
                        let known: Vec<&str> = self.pipelines.iter().map(|p| p.name()).collect();
                        format!("no pipeline named `{n}` (configured: {})", known.join(", "))
                    })
            })
            .collect()
    }
}
