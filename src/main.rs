//! `syncd`: the commerce-sync daemon and its operator commands.

mod admin;
mod cli;
mod commands;
mod config;
mod daemon;
mod logging;
mod operate;
mod progress;
mod registry;
mod render;
mod topology;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let daemon = matches!(cli.command, cli::Command::Run { .. });
    logging::init(cli.verbose, daemon);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
