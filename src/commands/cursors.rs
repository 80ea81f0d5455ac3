//! `syncd cursors list|get|set|reset`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use syncd_core::Cursor;

use crate::cli::CursorAction;
use crate::operate::Access;
use crate::render;

/// Runs one cursor action.
pub async fn run(path: &Path, action: CursorAction) -> anyhow::Result<ExitCode> {
    let config = match super::load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let access = Access::open(config).await?;
    match action {
        CursorAction::List { json } => {
            let rows = access.cursors().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("{}", render::cursors_table(&rows));
            }
        }
        CursorAction::Get { pipeline } => {
            let rows = access.cursors().await?;
            let Some(row) = rows.into_iter().find(|r| r.pipeline == pipeline) else {
                anyhow::bail!("no pipeline named `{pipeline}`");
            };
            println!("{}", serde_json::to_string_pretty(&row.cursor)?);
        }
        CursorAction::Set { pipeline, cursor } => {
            let value: serde_json::Value = serde_json::from_str(&cursor)
                .with_context(|| format!("the cursor for `{pipeline}` is not JSON"))?;
            access.set_cursor(&pipeline, Some(Cursor(value))).await?;
            println!("cursor of `{pipeline}` set");
        }
        CursorAction::Reset { pipeline } => {
            access.set_cursor(&pipeline, None).await?;
            println!("cursor of `{pipeline}` reset: its next run reads from the beginning");
        }
    }
    access.close().await?;
    Ok(ExitCode::SUCCESS)
}
