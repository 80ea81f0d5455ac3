//! `syncd trigger`: records which pipelines to run and signals the running daemon (SIGUSR1).

use std::path::Path;
use std::process::ExitCode;

use crate::daemon::{pidfile, triggers};

/// Asks the daemon of the config's state dir to run `pipelines` (all when empty) now.
pub fn run(path: &Path, pipelines: &[String]) -> anyhow::Result<ExitCode> {
    let config = match super::load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    for name in pipelines {
        if !config.pipelines.iter().any(|p| &p.name == name) {
            let known: Vec<&str> = config.pipelines.iter().map(|p| p.name.as_str()).collect();
            eprintln!(
                "error: no pipeline named `{name}` (configured: {})",
                known.join(", ")
            );
            return Ok(ExitCode::from(2));
        }
    }
    let state_dir = config.state_dir();
    let Some(daemon) = pidfile::running(&state_dir) else {
        eprintln!(
            "error: no syncd daemon is running on {} (no live pid file); start it with `syncd run`",
            state_dir.display()
        );
        return Ok(ExitCode::from(1));
    };
    triggers::request(&state_dir, pipelines)?;
    pidfile::signal_run_now(&daemon)?;
    if pipelines.is_empty() {
        println!("asked syncd (pid {}) to run every pipeline", daemon.pid);
    } else {
        println!(
            "asked syncd (pid {}) to run: {}",
            daemon.pid,
            pipelines.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks the daemon of the config at `path` to run `pipelines` now, without a word (for
/// commands that drive a daemon themselves, like the demo).
pub fn request(path: &Path, pipelines: &[String]) -> anyhow::Result<()> {
    let config = super::load_config(path)
        .map_err(|_| anyhow::anyhow!("{} is not a valid config", path.display()))?;
    let state_dir = config.state_dir();
    let daemon = pidfile::running(&state_dir)
        .ok_or_else(|| anyhow::anyhow!("no syncd daemon is running on {}", state_dir.display()))?;
    triggers::request(&state_dir, pipelines)?;
    pidfile::signal_run_now(&daemon)?;
    Ok(())
}
