//! What the benchmarks share: a connector built from an inline section, as the daemon builds
//! one from `adapters.toml`.

use syncd_core::{BuildContext, ConfigSection, ConnectorFactory};
use syncd_engine::ConnectorHandle;

#[allow(dead_code)]
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

/// Prints one figure as a JSON line: `figure` names it, `syncd_*` keys are ours, `python_*`
/// keys the baseline's, others detail it. `cargo bench --bench suite` collects these lines.
#[allow(dead_code)]
pub fn figure(bench: &str, figure: &str, fields: serde_json::Value) {
    let mut line = serde_json::json!({"bench": bench, "figure": figure});
    if let (Some(line), serde_json::Value::Object(fields)) = (line.as_object_mut(), fields) {
        line.extend(fields);
    }
    println!("{line}");
}
