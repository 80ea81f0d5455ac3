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

/// Keeps freed memory in the process for reuse instead of handing it back to the kernel after
/// every page: a run frees and allocates a page's worth of records (a megabyte or more) hundreds
/// of times, and glibc's defaults would map, fault in and zero each one afresh.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator thresholds; called once, before any other thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}

fn main() -> std::process::ExitCode {
    tune_allocator();
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
