//! `syncd status`, `syncd runs` and `syncd conflicts`: what the state holds, as a table or JSON.

use std::path::Path;
use std::process::ExitCode;

use crate::operate::Access;
use crate::render;

/// Prints every pipeline's status.
pub async fn status(path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    show(
        path,
        json,
        async |access| Ok(access.status().await?),
        |rows| render::status_table(rows),
    )
    .await
}

/// Prints the conflict log.
pub async fn conflicts(
    path: &Path,
    link: Option<&str>,
    limit: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    show(
        path,
        json,
        async |access| Ok(access.conflicts(link, limit).await?),
        |found| render::conflicts_table(found),
    )
    .await
}

/// Prints recent run reports.
pub async fn runs(
    path: &Path,
    pipeline: Option<&str>,
    limit: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    show(
        path,
        json,
        async |access| Ok(access.runs(pipeline, limit).await?),
        |reports| render::reports_table(reports),
    )
    .await
}

/// Reads what `fetch` asks of the state (the running daemon's, or the store's), and prints it
/// as JSON or as the table `table` makes.
async fn show<T: serde::Serialize, Shown: std::fmt::Display>(
    path: &Path,
    json: bool,
    fetch: impl AsyncFnOnce(&Access) -> anyhow::Result<T>,
    table: impl FnOnce(&T) -> Shown,
) -> anyhow::Result<ExitCode> {
    let config = match super::load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let access = Access::open(config).await?;
    let found = fetch(&access).await?;
    access.close().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        println!("{}", table(&found));
    }
    Ok(ExitCode::SUCCESS)
}
