//! `syncd drift`: what a pipeline's (or a link's) two sides hold now and how they differ, read
//! without writing anything. Exit 0 in sync, 1 on drift: it works as a cron check.

use std::path::Path;
use std::process::ExitCode;

use crate::render;

/// Compares both sides of the pipeline or link `name`.
pub async fn run(path: &Path, name: &str, json: bool) -> anyhow::Result<ExitCode> {
    let (config, topology) = match super::load(path) {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    // A link is compared through its first pipeline: one way, maps applied.
    let pipeline = topology
        .pipelines
        .iter()
        .find(|p| p.name() == name)
        .or_else(|| {
            config
                .links
                .iter()
                .any(|l| l.name == name)
                .then(|| {
                    topology
                        .pipelines
                        .iter()
                        .find(|p| p.policy().is_some_and(|policy| policy.link == name))
                })
                .flatten()
        });
    let Some(pipeline) = pipeline else {
        eprintln!("error: no pipeline or link named `{name}` (or the link has no pipeline)");
        return Ok(ExitCode::from(2));
    };
    let drift = match pipeline.drift().await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&drift)?);
    } else {
        println!("{}", render::drift_table(&drift));
    }
    Ok(match drift.in_sync() {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(1),
    })
}
