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
    /// Start the sandbox and play a merchant's day through a daemon: Fluent's batches, NewStore's
    /// seed 003, then every connector in the omnichannel topology, with reports after each step.
    Demo {
        /// Where the demo's config, files and state go (a fresh temp dir by default).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// How many ERP positions to generate.
        #[arg(long, default_value_t = 12_000)]
        positions: usize,
        /// Run the omnichannel topology's pipelines back to back (`syncd trigger`) instead of
        /// waiting for the daemon's cron, compressed to one pass every 30 s.
        #[arg(long)]
        fast: bool,
    },
    /// Run every vendor simulator in the foreground and print their URLs and credentials.
    Sandbox {
        /// Fixed ports: Fluent on this one, NewStore on the next, Salesforce on the one after
        /// (ephemeral ones by default).
        #[arg(long)]
        port_base: Option<u16>,
        /// Fluent's API user's retailer (retailers 1 and 2 exist either way; 2 is the seed's).
        #[arg(long)]
        fluent_retailer: Option<u64>,
    },
    /// List the connector kinds this build knows and the keys each one's section takes.
    Connectors {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the daemon in the foreground: cron schedules, signals, admin API (systemd Type=notify).
    Run {
        /// The config file.
        #[arg(long, short, default_value = "adapters.toml")]
        config: PathBuf,
    },
    /// Ask the running daemon to run the named pipelines (or all) now.
    Trigger {
        /// The config file (it names the state dir where the daemon's pid file is).
        #[arg(long, short, default_value = "adapters.toml")]
        config: PathBuf,
        /// Pipelines to run; all when none is named.
        pipelines: Vec<String>,
    },
    /// Show every pipeline's schedule, last run, next run and backlog.
    Status {
        /// The config file.
        #[arg(long, short, default_value = "adapters.toml")]
        config: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A live view of the running daemon's pipelines: runs going, how far, how fast, ETA.
    Top {
        /// The config file (it names the state dir where the daemon's pid file is).
        #[arg(long, short, default_value = "adapters.toml")]
        config: PathBuf,
        /// Seconds between redraws.
        #[arg(long = "interval", default_value_t = 1.0, value_parser = positive_secs)]
        interval_secs: f64,
        /// Draw this many frames, then exit (by default: until Ctrl-C).
        #[arg(long)]
        frames: Option<u64>,
    },
    /// Recent run reports.
    Runs {
        /// The config file.
        #[arg(long, short, default_value = "adapters.toml")]
        config: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// How many reports.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Only this pipeline's.
        pipeline: Option<String>,
    },
    /// Read or change pipelines' read cursors.
    Cursors {
        /// The config file.
        #[arg(long, short, default_value = "adapters.toml", global = true)]
        config: PathBuf,
        #[command(subcommand)]
        action: CursorAction,
    },
    /// List, inspect, replay or drop dead letters.
    Dlq {
        /// The config file.
        #[arg(long, short, default_value = "adapters.toml", global = true)]
        config: PathBuf,
        #[command(subcommand)]
        action: DlqAction,
    },
    /// Validate the config, build every connector and check it can reach its system.
    Check {
        /// The config file.
        #[arg(long, short, default_value = "adapters.toml")]
        config: PathBuf,
        /// The config only: build every connector, reach none (what the unit runs before a
        /// start or reload, so that a vendor outage stops neither; `/readyz` reports reachability).
        #[arg(long)]
        offline: bool,
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
    /// The conflict log: fields both sides of a link changed, their values and the winner.
    Conflicts {
        /// The config file.
        #[arg(long, short, default_value = "adapters.toml")]
        config: PathBuf,
        /// Print them as JSON.
        #[arg(long)]
        json: bool,
        /// How many, newest last.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Only this link's.
        link: Option<String>,
    },
    /// Read both sides of a pipeline or link now and show what differs (no writes); exit 1
    /// when they differ.
    Drift {
        /// The config file.
        #[arg(long, short, default_value = "adapters.toml")]
        config: PathBuf,
        /// Print the differences as JSON.
        #[arg(long)]
        json: bool,
        /// The pipeline or link.
        name: String,
    },
}

/// `syncd cursors ...`.
#[derive(Debug, Subcommand)]
pub enum CursorAction {
    /// Every pipeline's cursor.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One pipeline's cursor, as JSON.
    Get {
        /// The pipeline.
        pipeline: String,
    },
    /// Set a pipeline's cursor to a JSON value (the adapter's own cursor shape).
    Set {
        /// The pipeline.
        pipeline: String,
        /// The cursor, as JSON.
        cursor: String,
    },
    /// Forget a pipeline's cursor: its next run reads from the beginning.
    Reset {
        /// The pipeline.
        pipeline: String,
    },
}

/// `syncd dlq ...`.
#[derive(Debug, Subcommand)]
pub enum DlqAction {
    /// Dead letters, of one pipeline or all.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Only this pipeline's.
        pipeline: Option<String>,
    },
    /// One dead letter in full, as JSON.
    Show {
        /// The pipeline.
        pipeline: String,
        /// The dead letter's id (see `dlq list`).
        id: String,
    },
    /// Put dead letters back into the pipeline's next run.
    Replay {
        /// The pipeline.
        pipeline: String,
        /// Every dead letter of the pipeline.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// The ids to replay.
        ids: Vec<String>,
    },
    /// Delete dead letters.
    Drop {
        /// The pipeline.
        pipeline: String,
        /// Every dead letter of the pipeline.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// The ids to drop.
        ids: Vec<String>,
    },
}

fn positive_secs(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.05 => Ok(secs),
        _ => Err(format!(
            "`{text}` is not a number of seconds of at least 0.05"
        )),
    }
}
