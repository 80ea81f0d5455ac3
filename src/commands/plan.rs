//! `syncd plan`: the writes the next run would make, without making them.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use syncd_store::SledStore;

use crate::render;

/// Prints the dry-run plan of one pipeline.
pub async fn run(path: &Path, name: &str, json: bool) -> anyhow::Result<ExitCode> {
    let (config, topology) = match super::load(path) {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let pipeline = match topology.select(&[name.to_string()]) {
        Ok(mut p) => p.remove(0),
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    // While the daemon runs it holds the store: ask it to plan.
    let plan = match crate::daemon::pidfile::running(&config.state_dir()) {
        Some(daemon) => {
            let token = config.daemon.admin_token.as_ref().map(|t| t.expose());
            crate::operate::remote::Remote::new(daemon.admin, token)
                .get::<syncd_engine::Plan>(&format!("/plan/{name}"))
                .await?
        }
        None => {
            let store: std::sync::Arc<dyn syncd_store::StateStore> = std::sync::Arc::new(
                SledStore::open(&config.state_dir()).context("opening the state store")?,
            );
            pipeline.plan(&store).await?
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        println!("{}", render::plan_table(&plan));
    }
    Ok(ExitCode::SUCCESS)
}
