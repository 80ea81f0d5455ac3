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
    Ok(if reports.iter().all(|r| r.succeeded()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

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
