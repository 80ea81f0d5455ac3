//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// commerce-sync: keeps inventory and catalog data in step across commerce systems.
#[derive(Debug, Parser)]
#[command(name = "syncd", version, about)]
pub struct Cli {
    /// More log output (-v: info, -vv: debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the config, build every connector and check it can reach its system.
    Check {
        /// The config file.
        #[arg(long, short, default_value = "adapters.toml")]
        config: PathBuf,
    },
    /// Run the named pipelines (or all) once, print the report, and exit.
    Once {
        /// The config file.
        #[arg(long, short, default_value = "adapters.toml")]
        config: PathBuf,
        /// Print the reports as JSON.
        #[arg(long)]
        json: bool,
        /// Pipelines to run; all when none is named.
        pipelines: Vec<String>,
    },
    /// Show the writes the next run of a pipeline would make, without making them.
    Plan {
        /// The config file.
        #[arg(long, short, default_value = "adapters.toml")]
        config: PathBuf,
        /// Print the plan as JSON.
        #[arg(long)]
        json: bool,
        /// The pipeline.
        pipeline: String,
    },
}
