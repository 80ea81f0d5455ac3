//! `syncd top`: a live view of every pipeline of the running daemon, redrawn every interval
//! from its admin API (`GET /status`), like `vector top`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::operate::{Access, StatusRow};
use crate::render::{self, TopRow};

/// Redraws the view every `interval` until Ctrl-C, or `frames` times.
pub async fn run(path: &Path, interval: Duration, frames: Option<u64>) -> anyhow::Result<ExitCode> {
    let config = match super::load_config(path) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let state_dir = config.state_dir();
    let not_running = || {
        anyhow::anyhow!(
            "syncd top watches a running daemon, and none runs on {} (`syncd status` reads the store without one)",
            state_dir.display()
        )
    };
    if crate::daemon::pidfile::running(&state_dir).is_none() {
        return Err(not_running());
    }
    let Access::Remote(daemon) = Access::open(config.clone()).await? else {
        return Err(not_running());
    };
    let terminal = std::io::stdout().is_terminal();
    let mut previous: HashMap<String, (Instant, syncd_engine::RunReport)> = HashMap::new();
    let mut drawn = 0u64;
    loop {
        let rows: Vec<StatusRow> = daemon.get("/status").await?;
        let now = Instant::now();
        let view: Vec<TopRow> = rows
            .iter()
            .map(|row| {
                let before = previous.get(&row.pipeline).filter(|(_, run)| {
                    row.current
                        .as_ref()
                        .is_some_and(|c| c.started_at == run.started_at)
                });
                TopRow::of(row, before.map(|(at, run)| (now.duration_since(*at), run)))
            })
            .collect();
        previous = rows
            .into_iter()
            .filter_map(|row| Some((row.pipeline, (now, row.current?))))
            .collect();
        let frame = render::top_table(&view);
        if terminal {
            // Home and clear, then the frame: one screen, redrawn in place.
            println!("\x1b[H\x1b[2J{frame}");
        } else {
            println!("{frame}\n");
        }
        drawn += 1;
        if frames.is_some_and(|n| drawn >= n) {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
