//! `syncd check`: the config is valid, every connector builds and (unless `--offline`) reaches
//! its system.

use std::path::Path;
use std::process::ExitCode;

/// Validates, builds, and (unless `offline`) checks connectivity; lists every problem.
pub async fn run(path: &Path, offline: bool) -> anyhow::Result<ExitCode> {
    let (config, topology) = match super::load(path) {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let mut failed = 0;
    let reach = if offline {
        &Default::default()
    } else {
        &topology.connectors
    };
    for (name, handle) in reach {
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
        "{}: ok{} ({} connector(s), {} pipeline(s), {} link(s); state in {})",
        path.display(),
        if offline {
            ", not reached (--offline)"
        } else {
            ""
        },
        topology.connectors.len(),
        topology.pipelines.len(),
        config.links.len(),
        config.state_dir().display()
    );
    Ok(ExitCode::SUCCESS)
}
