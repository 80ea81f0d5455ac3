//! `syncd status` and `syncd runs`.

use std::path::Path;
use std::process::ExitCode;

use crate::operate::Access;
use crate::render;

/// Prints every pipeline's status.
pub async fn status(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let config = match super::load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let access = Access::open(config).await?;
    let rows = access.status().await?;
    access.close().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!("{}", render::status_table(&rows));
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the conflict log.
pub async fn conflicts(
    path: &Path,
    link: Option<&str>,
    limit: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let config = match super::load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let access = Access::open(config).await?;
    let found = access.conflicts(link, limit).await?;
    access.close().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        println!("{}", render::conflicts_table(&found));
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints recent run reports.
pub async fn runs(
    path: &Path,
    pipeline: Option<&str>,
    limit: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let config = match super::load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let access = Access::open(config).await?;
    let reports = access.runs(pipeline, limit).await?;
    access.close().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        println!("{}", render::reports_table(&reports));
    }
    Ok(ExitCode::SUCCESS)
}
