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
    let store: std::sync::Arc<dyn syncd_store::StateStore> = std::sync::Arc::new(
        SledStore::open(&config.state_dir()).context("opening the state store")?,
    );
    let plan = pipeline.plan(&store).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        println!("{}", render::plan_table(&plan));
    }
    Ok(ExitCode::SUCCESS)
}
