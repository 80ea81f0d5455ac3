//! `syncd dlq list|show|replay|drop`.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::DlqAction;
use crate::operate::{Access, Selection};
use crate::render;

fn selection(all: bool, ids: Vec<String>) -> anyhow::Result<Selection> {
    match (all, ids.is_empty()) {
        (true, _) => Ok(Selection { ids: None }),
        (false, false) => Ok(Selection { ids: Some(ids) }),
        (false, true) => anyhow::bail!("name the dead letters' ids, or pass --all"),
    }
}

/// Runs one dead-letter action.
pub async fn run(path: &Path, action: DlqAction) -> anyhow::Result<ExitCode> {
    let config = match super::load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let access = Access::open(config).await?;
    let mut code = ExitCode::SUCCESS;
    match action {
        DlqAction::List { json, pipeline } => {
            let letters = access.dead_letters(pipeline.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&letters)?);
            } else {
                println!("{}", render::dead_letters_table(&letters));
            }
        }
        DlqAction::Show { pipeline, id } => {
            let letters = access.dead_letters(Some(&pipeline)).await?;
            let Some(letter) = letters.into_iter().find(|l| l.id == id) else {
                anyhow::bail!("pipeline `{pipeline}` has no dead letter `{id}`");
            };
            println!("{}", serde_json::to_string_pretty(&letter)?);
        }
        DlqAction::Replay { pipeline, all, ids } => {
            let result = access.replay(&pipeline, &selection(all, ids)?).await?;
            println!(
                "{} requeued for the next run of `{pipeline}`, {} dropped (the maps now skip them), {} left",
                result.requeued.len(),
                result.skipped.len(),
                result.refused.len()
            );
            for (id, why) in &result.refused {
                println!("  {id}: {why}");
            }
            if !result.refused.is_empty() {
                code = ExitCode::from(1);
            }
        }
        DlqAction::Drop { pipeline, all, ids } => {
            let dropped = access
                .drop_letters(&pipeline, &selection(all, ids)?)
                .await?;
            println!("{} dead letter(s) of `{pipeline}` dropped", dropped.len());
        }
    }
    access.close().await?;
    Ok(code)
}
