//! Turning a parsed config into runtime objects: connectors (with their rate limits) and
//! pipelines. Every problem is collected, not just the first.

use std::collections::BTreeMap;
use std::sync::Arc;

use syncd_core::{BuildContext, ConfigError};
use syncd_engine::{ConnectorHandle, Pipeline};

use crate::config::Config;
use crate::registry::registry;

/// The built connectors and pipelines of one config.
pub struct Topology {
    /// Connectors by name.
    pub connectors: BTreeMap<String, ConnectorHandle>,
    /// Pipelines in config order.
    pub pipelines: Vec<Arc<Pipeline>>,
}

/// What a rebuild kept and what it made anew.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rebuilt {
    /// Connectors and pipelines built from a new or changed config.
    pub built: Vec<String>,
    /// Those carried over untouched (their in-flight runs go on).
    pub kept: Vec<String>,
    /// Those the new config no longer has.
    pub removed: Vec<String>,
}

impl Topology {
    /// Builds `config`, carrying over from `previous` (its config and topology) every
    /// connector whose section is unchanged and every pipeline whose config, connectors and
    /// links are unchanged.
    pub fn rebuild(
        config: &Config,
        previous: Option<(&Config, &Topology)>,
    ) -> Result<(Self, Rebuilt), Vec<ConfigError>> {
        let registry = registry();
        let mut errors = Vec::new();
        let mut rebuilt = Rebuilt::default();
        let mut kept_connectors = std::collections::HashSet::new();
        let mut connectors = BTreeMap::new();
        let same_base = previous.is_some_and(|(old, _)| {
            old.base_dir == config.base_dir && old.state_dir() == config.state_dir()
        });
        for (name, c) in &config.connectors {
            let kept = previous.filter(|_| same_base).and_then(|(old, topology)| {
                (old.connectors.get(name) == Some(c))
                    .then(|| topology.connectors.get(name).cloned())
                    .flatten()
            });
            if let Some(handle) = kept {
                rebuilt.kept.push(format!("connector {name}"));
                kept_connectors.insert(name.as_str());
                connectors.insert(name.clone(), handle);
                continue;
            }
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
                Ok(connector)
                    if connector.webhooks().is_some() && config.daemon.public_listen.is_none() =>
                {
                    errors.push(c.section.error(
                        "kind",
                        format!(
                            "a `{}` connector takes webhooks: set `[daemon] public_listen` (the address vendors reach; the admin API serves none)",
                            c.kind
                        ),
                    ));
                }
                Ok(connector) => {
                    rebuilt.built.push(format!("connector {name}"));
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
            let kept = previous.and_then(|(old, topology)| {
                let unchanged = old.pipelines.iter().any(|o| o == p)
                    && old.links == config.links
                    && kept_connectors.contains(p.from.as_str())
                    && kept_connectors.contains(p.to.as_str());
                let catalog_kept = p
                    .require_catalog
                    .as_ref()
                    .is_none_or(|c| kept_connectors.contains(c.as_str()));
                (unchanged && catalog_kept)
                    .then(|| topology.pipelines.iter().find(|o| o.name() == p.name))
                    .flatten()
            });
            if let Some(pipeline) = kept {
                rebuilt.kept.push(format!("pipeline {}", p.name));
                pipelines.push(pipeline.clone());
                continue;
            }
            let built = Pipeline::new(p.clone(), source.clone(), target.clone(), &config.links)
                .and_then(|pipeline| match &p.require_catalog {
                    None => Ok(pipeline),
                    Some(name) => match connectors.get(name) {
                        Some(catalog) => pipeline.with_catalog(catalog.clone()),
                        None => Err(format!("require_catalog: no connector named `{name}`")),
                    },
                });
            match built {
                Ok(pipeline) => {
                    rebuilt.built.push(format!("pipeline {}", p.name));
                    pipelines.push(Arc::new(pipeline));
                }
                Err(message) => errors.push(ConfigError::new(
                    &config.origin,
                    format!("pipelines[{i}]"),
                    message,
                )),
            }
        }
        if let Some((old, _)) = previous {
            rebuilt.removed.extend(
                old.connectors
                    .keys()
                    .filter(|n| !config.connectors.contains_key(*n))
                    .map(|n| format!("connector {n}")),
            );
            rebuilt.removed.extend(
                old.pipelines
                    .iter()
                    .filter(|o| !config.pipelines.iter().any(|p| p.name == o.name))
                    .map(|o| format!("pipeline {}", o.name)),
            );
        }
        if errors.is_empty() {
            Ok((
                Topology {
                    connectors,
                    pipelines,
                },
                rebuilt,
            ))
        } else {
            Err(config.attribute(errors))
        }
    }

    /// The pipelines named in `names` (all when empty); an unknown name is an error.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Arc<Pipeline>>, String> {
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

/// Loads the config and builds its topology, or prints every problem.
pub fn load(path: &std::path::Path) -> Result<(Config, Topology), std::process::ExitCode> {
    let (config, mut errors) =
        crate::config::load(path).map_err(|e| crate::config::report_problems(path, e))?;
    // Build even when other sections are wrong, so that every connector's problems show too.
    match Topology::rebuild(&config, None).map(|(t, _)| t) {
        Ok(topology) if errors.is_empty() => Ok((config, topology)),
        Ok(_) => Err(crate::config::report_problems(path, errors)),
        Err(more) => {
            errors.extend(more);
            Err(crate::config::report_problems(path, errors))
        }
    }
}
