//! `syncd check`: the config is valid, every connector builds and reaches its system.

use std::path::Path;
use std::process::ExitCode;

/// Validates, builds, and checks connectivity; lists every problem.
pub async fn run(path: &Path) -> anyhow::Result<ExitCode> {
    let (config, topology) = match super::load(path) {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let mut failed = 0;
    for (name, handle) in &topology.connectors {
        if let Err(e) = handle.connector.check().await {
            eprintln!("  - connector `{name}`: {e}");
            failed += 1;
        }
    }
    if failed > 0 {
        eprintln!("{failed} connector(s) failed their check");
        return Ok(ExitCode::from(3));
    }
    println!(
        "{}: ok ({} connector(s), {} pipeline(s), {} link(s); state in {})",
        path.display(),
        topology.connectors.len(),
        topology.pipelines.len(),
        config.links.len(),
        config.state_dir().display()
    );
    Ok(ExitCode::SUCCESS)
}
