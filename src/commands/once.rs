//! `syncd once`: run pipelines once and print their reports.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use syncd_engine::{Pipeline, RunReport};
use syncd_store::{SledStore, StateStore};

use crate::config::Config;

use crate::progress::TerminalProgress;
use crate::render;

/// Runs the named pipelines (all when none) in config order.
pub async fn run(path: &Path, names: &[String], json: bool) -> anyhow::Result<ExitCode> {
    let (config, topology) = match super::load(path) {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let selected = match topology.select(names) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let reports = run_in_order(&config, &selected).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        println!("{}", render::reports_table(&reports));
    }
    Ok(exit_code(&reports))
}

/// 0 when every run was `ok`; 1 when one failed or stopped; 3 when all ran to the end but one
/// dead-lettered records (`syncd dlq list` shows them).
fn exit_code(reports: &[RunReport]) -> ExitCode {
    if reports.iter().any(|r| !r.succeeded()) {
        ExitCode::from(1)
    } else if reports.iter().any(RunReport::is_partial) {
        eprintln!("some records were dead-lettered: see `syncd dlq list`");
        ExitCode::from(PARTIAL)
    } else {
        ExitCode::SUCCESS
    }
}

/// The exit status of a run that ran to the end with dead letters.
pub const PARTIAL: u8 = 3;

/// Runs `pipelines` one after the other on the config's store, then flushes it.
pub async fn run_in_order(
    config: &Config,
    pipelines: &[&Arc<Pipeline>],
) -> anyhow::Result<Vec<RunReport>> {
    let state_dir = config.state_dir();
    let store: Arc<dyn StateStore> = Arc::new(
        tokio::task::spawn_blocking(move || SledStore::open(&state_dir))
            .await?
            .context("opening the state store")?,
    );
    let mut reports = Vec::new();
    for pipeline in pipelines {
        let progress = TerminalProgress::start(pipeline.name());
        let report = pipeline
            .run(store.clone(), &progress, &Default::default())
            .await;
        progress.finish();
        reports.push(report);
    }
    tokio::task::spawn_blocking(move || store.flush()).await??;
    Ok(reports)
}
