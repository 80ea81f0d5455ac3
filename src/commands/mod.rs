//! The subcommands.

mod check;
mod cursors;
mod demo;
mod dlq;
mod once;
mod plan;
mod sandbox;
mod status;
mod trigger;

use std::process::ExitCode;

use crate::cli::Command;
use crate::config::{self, Config};
use crate::topology::Topology;

/// Runs one subcommand.
pub async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { config } => crate::daemon::run(&config).await,
        Command::Sandbox => sandbox::run().await,
        Command::Demo { dir, positions } => demo::run(dir, positions).await,
        Command::Trigger { config, pipelines } => trigger::run(&config, &pipelines),
        Command::Status { config, json } => status::status(&config, json).await,
        Command::Runs {
            config,
            json,
            limit,
            pipeline,
        } => status::runs(&config, pipeline.as_deref(), limit, json).await,
        Command::Cursors { config, action } => cursors::run(&config, action).await,
        Command::Dlq { config, action } => dlq::run(&config, action).await,
        Command::Check { config } => check::run(&config).await,
        Command::Once {
            config,
            json,
            pipelines,
        } => once::run(&config, &pipelines, json).await,
        Command::Plan {
            config,
            json,
            pipeline,
        } => plan::run(&config, &pipeline, json).await,
    }
}

/// Loads and checks the config without building connectors (no secret is read): for commands
/// that only need the state dir, the pipelines' names and the daemon.
pub fn load_config(path: &std::path::Path) -> Result<Config, ExitCode> {
    match config::load(path) {
        Ok((config, errors)) if errors.is_empty() => Ok(config),
        Ok((_, errors)) | Err(errors) => {
            eprintln!("{} problem(s) in {}:", errors.len(), path.display());
            for e in errors {
                eprintln!("  - {e}");
            }
            Err(ExitCode::from(2))
        }
    }
}

/// Loads the config and builds its topology, or prints every problem.
pub fn load(path: &std::path::Path) -> Result<(Config, Topology), ExitCode> {
    load_stopping_on(path, &tokio_util::sync::CancellationToken::new())
}

/// [`load`], with pipelines whose runs stop once `stop` is cancelled.
pub fn load_stopping_on(
    path: &std::path::Path,
    stop: &tokio_util::sync::CancellationToken,
) -> Result<(Config, Topology), ExitCode> {
    let report = |errors: Vec<syncd_core::ConfigError>| {
        eprintln!("{} problem(s) in {}:", errors.len(), path.display());
        for e in errors {
            eprintln!("  - {e}");
        }
        ExitCode::from(2)
    };
    let (config, mut errors) = config::load(path).map_err(report)?;
    // Build even when other sections are wrong, so that every connector's problems show too.
    match Topology::rebuild(&config, None, stop).map(|(t, _)| t) {
        Ok(topology) if errors.is_empty() => Ok((config, topology)),
        Ok(_) => Err(report(errors)),
        Err(more) => {
            errors.extend(more);
            Err(report(errors))
        }
    }
}
