//! What the benchmarks share: a connector built from an inline section, as the daemon builds
//! one from `adapters.toml`.

use syncd_core::{BuildContext, ConfigSection, ConnectorFactory};
use syncd_engine::ConnectorHandle;

/// The connector `name` of `factory`, configured by `toml`, its files under `dir`.
pub fn connector(
    factory: &dyn ConnectorFactory,
    dir: &std::path::Path,
    name: &str,
    toml: &str,
) -> ConnectorHandle {
    let section = ConfigSection::from_toml(&format!("connectors.{name}"), toml).unwrap();
    let connector = factory
        .build(BuildContext {
            name: name.into(),
            section,
            data_dir: dir.join(name),
            base_dir: dir.to_path_buf(),
        })
        .unwrap();
    ConnectorHandle::new(connector, None)
}
