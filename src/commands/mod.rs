//! The subcommands.

mod check;
mod connectors;
mod cursors;
mod demo;
mod demo_newstore;
mod dlq;
mod drift;
mod once;
mod plan;
mod sandbox;
mod status;
mod top;
mod trigger;

use std::process::ExitCode;

use crate::cli::Command;

/// Runs one subcommand.
pub async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { config } => crate::daemon::run(&config).await,
        Command::Sandbox {
            port_base,
            fluent_retailer,
        } => {
            sandbox::run(syncd_sandbox::SandboxOptions {
                port_base,
                fluent_retailer,
            })
            .await
        }
        Command::Connectors { json } => connectors::run(json),
        Command::Demo {
            dir,
            positions,
            fast,
        } => demo::run(dir, positions, fast).await,
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
        Command::Check { config, offline } => check::run(&config, offline).await,
        Command::Once {
            config,
            json,
            pipelines,
        } => once::run(&config, &pipelines, json).await,
        Command::Top {
            config,
            interval_secs,
            frames,
        } => {
            top::run(
                &config,
                std::time::Duration::from_secs_f64(interval_secs),
                frames,
            )
            .await
        }
        Command::Plan {
            config,
            json,
            pipeline,
        } => plan::run(&config, &pipeline, json).await,
        Command::Drift { config, json, name } => drift::run(&config, &name, json).await,
        Command::Conflicts {
            config,
            json,
            limit,
            link,
        } => status::conflicts(&config, link.as_deref(), limit, json).await,
    }
}

pub use crate::config::load_checked as load_config;
pub use crate::topology::load;
