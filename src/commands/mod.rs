//! The subcommands.

mod check;
mod once;
mod plan;

use std::process::ExitCode;

use crate::cli::Command;
use crate::config::{self, Config};
use crate::topology::Topology;

/// Runs one subcommand.
pub async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
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

/// Loads the config and builds its topology, or prints every problem.
pub fn load(path: &std::path::Path) -> Result<(Config, Topology), ExitCode> {
    let report = |errors: Vec<syncd_core::ConfigError>| {
        eprintln!("{} problem(s) in {}:", errors.len(), path.display());
        for e in errors {
            eprintln!("  - {e}");
        }
        ExitCode::from(2)
    };
    let (config, mut errors) = config::load(path).map_err(report)?;
    // Build even when other sections are wrong, so that every connector's problems show too.
    match Topology::build(&config) {
        Ok(topology) if errors.is_empty() => Ok((config, topology)),
        Ok(_) => Err(report(errors)),
        Err(more) => {
            errors.extend(more);
            Err(report(errors))
        }
    }
}
