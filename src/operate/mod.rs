//! What operator commands do to state: status, run history, cursors, dead letters.
//!
//! sled allows one process per state dir, so while the daemon runs these commands go through
//! its admin API (found through the pid file); otherwise they open the store themselves. Both
//! paths run the same functions in [`local`], so they answer alike.

pub mod local;
pub mod remote;
pub mod status;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use syncd_core::Cursor;
use syncd_engine::{Requeued, RunReport};
use syncd_store::{DeadLetter, SledStore, StateStore};

use crate::config::Config;
use crate::daemon::pidfile;
use crate::topology::Topology;
pub use local::OpError;
pub use status::StatusRow;

/// One pipeline's saved cursor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CursorRow {
    /// The pipeline.
    pub pipeline: String,
    /// Its cursor; `None` when it starts from the beginning.
    pub cursor: Option<Cursor>,
}

/// Which dead letters a replay or drop is about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// These ids; every dead letter of the pipeline when `None`.
    pub ids: Option<Vec<String>>,
}

/// The config's connectors and pipelines, built (they need their secrets) `why`.
fn built(config: &Config, why: &str) -> anyhow::Result<Topology> {
    let (topology, _) = Topology::rebuild(config, None).map_err(|errors| {
        anyhow::anyhow!(
            "building the pipelines {why}: {}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    Ok(topology)
}

/// Where operator commands find state.
pub enum Access {
    /// No daemon runs: the store, opened by this process.
    Local {
        /// The config.
        config: Box<Config>,
        /// The store.
        store: Arc<dyn StateStore>,
    },
    /// A daemon runs: its admin API.
    Remote(remote::Remote),
}

impl Access {
    /// The running daemon's API when there is one, the store otherwise.
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        let state_dir = config.state_dir();
        if let Some(daemon) = pidfile::running(&state_dir) {
            let token = config.daemon.admin_token.as_ref().map(|t| t.expose());
            return Ok(Access::Remote(remote::Remote::new(daemon.admin, token)));
        }
        // A read must never leave a new, empty store behind (under the wrong path, say).
        if !state_dir.join("db").is_file() {
            anyhow::bail!(
                "no syncd state in {} and no daemon running on it: check `state_dir` in the config (under systemd, set `state_dir = \"/var/lib/syncd\"` there, so that the daemon and these commands agree)",
                state_dir.display()
            );
        }
        let dir = state_dir.clone();
        let store = tokio::task::spawn_blocking(move || SledStore::open(&dir))
            .await?
            .map_err(|e| anyhow::anyhow!("opening the state store: {e}"))?;
        Ok(Access::Local {
            config: Box::new(config),
            store: Arc::new(store),
        })
    }

    /// Every pipeline's schedule, last and next run, and backlog.
    pub async fn status(&self) -> anyhow::Result<Vec<StatusRow>> {
        match self {
            Access::Local { config, store, .. } => Ok(status::rows(
                config,
                store.as_ref(),
                &[],
                chrono::Utc::now(),
            )?),
            Access::Remote(r) => r.get("/status").await,
        }
    }

    /// The last `limit` run reports of `pipeline` (or of all), oldest first.
    pub async fn runs(
        &self,
        pipeline: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<RunReport>> {
        match self {
            Access::Local { config, store, .. } => {
                Ok(local::runs(config, store.as_ref(), pipeline, limit)?)
            }
            Access::Remote(r) => {
                let q = pipeline
                    .map(|p| format!("&pipeline={p}"))
                    .unwrap_or_default();
                r.get(&format!("/runs?limit={limit}{q}")).await
            }
        }
    }

    /// The conflict log: the last `limit` conflicts of `link` (or of every link).
    pub async fn conflicts(
        &self,
        link: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<syncd_store::conflicts::Conflict>> {
        match self {
            Access::Local { config, store, .. } => {
                Ok(local::conflicts(config, store.as_ref(), link, limit)?)
            }
            Access::Remote(r) => {
                let q = link.map(|l| format!("&link={l}")).unwrap_or_default();
                r.get(&format!("/conflicts?limit={limit}{q}")).await
            }
        }
    }

    /// Every pipeline's cursor.
    pub async fn cursors(&self) -> anyhow::Result<Vec<CursorRow>> {
        match self {
            Access::Local { config, store, .. } => Ok(local::cursors(config, store.as_ref())?),
            Access::Remote(r) => r.get("/cursors").await,
        }
    }

    /// Sets (`Some`) or resets (`None`) a pipeline's cursor.
    pub async fn set_cursor(&self, pipeline: &str, cursor: Option<Cursor>) -> anyhow::Result<()> {
        match self {
            Access::Local { config, store, .. } => {
                if let Some(cursor) = &cursor {
                    let topology = built(config, "to check the cursor")?;
                    local::check_cursor(&topology, pipeline, cursor)?;
                }
                Ok(local::set_cursor(config, store, &[], pipeline, cursor).await?)
            }
            Access::Remote(r) => match cursor {
                Some(c) => {
                    r.send(reqwest::Method::PUT, &format!("/cursors/{pipeline}"), &c)
                        .await
                }
                None => {
                    r.send(
                        reqwest::Method::DELETE,
                        &format!("/cursors/{pipeline}"),
                        &(),
                    )
                    .await
                }
            },
        }
    }

    /// The dead letters of `pipeline` (or of all).
    pub async fn dead_letters(&self, pipeline: Option<&str>) -> anyhow::Result<Vec<DeadLetter>> {
        match self {
            Access::Local { config, store, .. } => {
                Ok(local::dead_letters(config, store.as_ref(), pipeline)?)
            }
            Access::Remote(r) => match pipeline {
                Some(p) => r.get(&format!("/dlq/{p}")).await,
                None => r.get("/dlq").await,
            },
        }
    }

    /// Puts dead letters back into their pipeline's next run.
    pub async fn replay(&self, pipeline: &str, selection: &Selection) -> anyhow::Result<Requeued> {
        match self {
            Access::Local { config, store } => {
                // Replays map records again: only they need the connectors (and their secrets).
                let topology = built(config, "for the replay")?;
                Ok(local::replay(&topology, store, pipeline, selection).await?)
            }
            Access::Remote(r) => r.post(&format!("/dlq/{pipeline}/replay"), selection).await,
        }
    }

    /// Deletes dead letters; returns the ids dropped.
    pub async fn drop_letters(
        &self,
        pipeline: &str,
        selection: &Selection,
    ) -> anyhow::Result<Vec<String>> {
        match self {
            Access::Local { config, store, .. } => {
                Ok(local::drop_letters(config, store, pipeline, selection).await?)
            }
            Access::Remote(r) => r.post(&format!("/dlq/{pipeline}/drop"), selection).await,
        }
    }

    /// Makes every local change durable.
    pub async fn close(self) -> anyhow::Result<()> {
        if let Access::Local { store, .. } = self {
            tokio::task::spawn_blocking(move || store.flush()).await??;
        }
        Ok(())
    }
}
