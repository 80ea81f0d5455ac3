//! `syncd once`: run pipelines once and print their reports.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use syncd_store::{SledStore, StateStore};

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
    let state_dir = config.state_dir();
    let store: Arc<dyn StateStore> = Arc::new(
        tokio::task::spawn_blocking(move || SledStore::open(&state_dir))
            .await?
            .context("opening the state store")?,
    );
    let mut reports = Vec::new();
    for pipeline in selected {
        let progress = TerminalProgress::start(pipeline.name());
        let report = pipeline.run(store.clone(), &progress).await;
        progress.finish();
        reports.push(report);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        println!("{}", render::reports_table(&reports));
    }
    let store_for_flush = store.clone();
    tokio::task::spawn_blocking(move || store_for_flush.flush()).await??;
    Ok(if reports.iter().all(|r| r.succeeded()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
