//! `syncd run`: the long-running daemon. It opens the store, starts the admin API, writes its
//! pid file, reports ready to systemd, and then runs the scheduler loop until SIGTERM/SIGINT:
//! cron ticks and SIGUSR1 start runs, SIGHUP reloads the config. Shutdown stops new work, lets
//! in-flight runs finish their write call and commit (bounded by the drain timeout), flushes
//! the store and exits 0; a second signal exits at once, which the commit order makes safe.

pub mod health;
pub mod live_progress;
pub mod metrics;
pub mod notify;
pub mod pidfile;
pub mod runner;
pub mod schedule;
pub mod signals;
pub mod store_watch;
pub mod triggers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use syncd_store::{SledStore, StateStore};
use tokio_util::sync::CancellationToken;

use crate::config::{self, Config};
use crate::topology::Topology;
use health::Health;
use metrics::Metrics;
use runner::{Reason, Runner};
use schedule::Schedules;
use signals::{Request, Signals};

/// One loaded config and what was built from it.
pub struct Loaded {
    /// The config.
    pub config: Config,
    /// Its connectors and pipelines.
    pub topology: Topology,
    /// Its pipelines' schedules.
    pub schedules: Schedules,
}

/// The daemon's shared state: what its tasks and the admin API work with.
pub struct Daemon {
    /// The config file, read again on SIGHUP.
    pub config_path: PathBuf,
    /// The state store.
    pub store: Arc<dyn StateStore>,
    /// The same store, watched for I/O failures.
    pub store_watch: Arc<store_watch::StoreWatch<SledStore>>,
    loaded: RwLock<Arc<Loaded>>,
    /// Starts and tracks runs.
    pub runner: Runner,
    /// Connector checks.
    pub health: Health,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Cancelled on shutdown: runs stop between write calls, background tasks end.
    pub stop: CancellationToken,
}

impl Daemon {
    /// The config in force and its topology.
    pub fn current(&self) -> Arc<Loaded> {
        self.loaded.read().expect("config lock").clone()
    }

    fn status_line(&self) -> String {
        let loaded = self.current();
        let running = self.runner.running();
        format!(
            "{} pipeline(s), {} scheduled; running: {}",
            loaded.topology.pipelines.len(),
            loaded.schedules.pipelines().count(),
            if running.is_empty() {
                "none".to_string()
            } else {
                running.join(", ")
            }
        )
    }

    /// Starts runs of the named pipelines of the current config (all when `names` is `None`).
    fn start_runs(&self, names: Option<&[String]>, reason: Reason) {
        let loaded = self.current();
        for pipeline in &loaded.topology.pipelines {
            if names.is_none_or(|n| n.iter().any(|n| n == pipeline.name())) {
                self.runner.start(pipeline.clone(), reason);
            }
        }
        if let Some(names) = names {
            for n in names {
                if !loaded.topology.pipelines.iter().any(|p| p.name() == n) {
                    tracing::warn!(pipeline = %n, "trigger names no configured pipeline");
                }
            }
        }
    }

    /// SIGUSR1: runs what `syncd trigger` asked for, or everything.
    fn run_now(&self) {
        let state_dir = self.current().config.state_dir();
        match triggers::take(&state_dir) {
            triggers::Wanted::All => {
                tracing::info!("SIGUSR1: running every pipeline now");
                self.start_runs(None, Reason::Trigger);
            }
            triggers::Wanted::Only(names) => {
                let names: Vec<String> = names.into_iter().collect();
                tracing::info!(pipelines = %names.join(","), "SIGUSR1: running the requested pipelines now");
                self.start_runs(Some(&names), Reason::Trigger);
            }
        }
    }

    /// SIGHUP: reads and validates the config; on success swaps in what changed.
    fn reload(&self) {
        notify::reloading();
        let ok = self.try_reload();
        self.metrics.reloaded(ok);
        notify::ready(&self.status_line());
    }

    fn try_reload(&self) -> bool {
        let old = self.current();
        let reject = |errors: Vec<syncd_core::ConfigError>| {
            tracing::error!(
                problems = errors.len(),
                "config reload rejected: keeping the running config"
            );
            for e in errors {
                tracing::error!(problem = %e, "config reload rejected");
            }
            false
        };
        let config = match config::load(&self.config_path) {
            Err(errors) => return reject(errors),
            Ok((_, errors)) if !errors.is_empty() => return reject(errors),
            Ok((config, _)) => config,
        };
        let (topology, rebuilt) =
            match Topology::rebuild(&config, Some((&old.config, &old.topology))) {
                Ok(t) => t,
                Err(errors) => return reject(errors),
            };
        if config.daemon != old.config.daemon {
            tracing::warn!("[daemon] settings changed: they take effect at the next restart");
        }
        // Daemon settings stay as started (the store, the admin address and the drain bound
        // belong to the process); schedules follow the new pipelines.
        let mut config = config;
        config.daemon = old.config.daemon.clone();
        let schedules = Schedules::of(&config);
        tracing::info!(
            built = %rebuilt.built.join(", "),
            kept = rebuilt.kept.len(),
            removed = %rebuilt.removed.join(", "),
            "config reloaded"
        );
        if !rebuilt.removed.is_empty() {
            tracing::warn!(
                removed = %rebuilt.removed.join(", "),
                "config reload removed these: they no longer run"
            );
        }
        *self.loaded.write().expect("config lock") = Arc::new(Loaded {
            config,
            topology,
            schedules,
        });
        true
    }

    fn next_ticks(&self, now: DateTime<Utc>) -> BTreeMap<String, DateTime<Utc>> {
        let loaded = self.current();
        loaded
            .schedules
            .pipelines()
            .filter_map(|p| Some((p.to_string(), loaded.schedules.next_after(p, now)?)))
            .collect()
    }

    /// Fires due schedules, answers signals and feeds the watchdog until a shutdown signal.
    async fn schedule_loop(&self, signals: &mut Signals) {
        let mut next = self.next_ticks(Utc::now());
        let watchdog = notify::watchdog_interval();
        let mut watchdog_tick =
            tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
        loop {
            let wait = next
                .values()
                .min()
                .map(|due| (*due - Utc::now()).to_std().unwrap_or_default())
                .unwrap_or(Duration::from_secs(3600));
            tokio::select! {
                // A millisecond past the tick, so that the wall clock has reached it too.
                _ = tokio::time::sleep(wait + Duration::from_millis(1)) => {
                    let now = Utc::now();
                    let loaded = self.current();
                    let due: Vec<String> = next
                        .iter()
                        .filter(|(_, at)| **at <= now)
                        .map(|(p, _)| p.clone())
                        .collect();
                    for p in &due {
                        self.start_runs(Some(std::slice::from_ref(p)), Reason::Schedule);
                        match loaded.schedules.next_after(p, now) {
                            Some(at) => next.insert(p.clone(), at),
                            None => next.remove(p),
                        };
                    }
                    if !due.is_empty() {
                        notify::status(&self.status_line());
                    }
                }
                request = signals.recv() => match request {
                    Request::RunNow => {
                        self.run_now();
                        notify::status(&self.status_line());
                    }
                    Request::Reload => {
                        self.reload();
                        next = self.next_ticks(Utc::now());
                    }
                    Request::Shutdown => return,
                },
                _ = watchdog_tick.tick(), if watchdog.is_some() => notify::watchdog(),
                // The daemon stopped itself (its store failed).
                _ = self.stop.cancelled() => return,
            }
        }
    }

    /// Checks every connector now and then until shutdown.
    async fn health_loop(self: Arc<Self>) {
        loop {
            let loaded = self.current();
            self.health.check_all(&loaded.topology.connectors).await;
            if let Some(fault) = self.store_watch.fault() {
                tracing::error!(
                    store = %fault,
                    "the state store cannot write: stopping, to exit non-zero for systemd to restart syncd"
                );
                self.stop.cancel();
                return;
            }
            let every = Duration::from_secs(loaded.config.daemon.check_interval_secs);
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = self.stop.cancelled() => return,
            }
        }
    }
}

/// Waits for a second shutdown signal (other signals are ignored while draining).
async fn second_shutdown(signals: &mut Signals) {
    while signals.recv().await != Request::Shutdown {}
}

/// Runs the daemon until a shutdown signal.
pub async fn run(path: &Path) -> anyhow::Result<ExitCode> {
    // Before anything else: SIGUSR1's default action would end the process.
    let mut signals = Signals::install().context("installing signal handlers")?;
    let stop = CancellationToken::new();
    let (config, topology) = match crate::topology::load(path) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    let state_dir = config.state_dir();
    let dir = state_dir.clone();
    let watched = Arc::new(store_watch::StoreWatch::new(
        tokio::task::spawn_blocking(move || SledStore::open(&dir))
            .await?
            .context("opening the state store")?,
    ));
    let store: Arc<dyn StateStore> = watched.clone();
    let listener = tokio::net::TcpListener::bind(&config.daemon.admin_listen)
        .await
        .with_context(|| {
            format!(
                "daemon.admin_listen: cannot listen on {}",
                config.daemon.admin_listen
            )
        })?;
    let admin_addr = listener.local_addr()?;
    let public = match &config.daemon.public_listen {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("daemon.public_listen: cannot listen on {address}"))?,
        ),
        None => None,
    };
    let public_addr = public.as_ref().map(|l| l.local_addr()).transpose()?;
    if let Some(addr) = public_addr {
        // Files published for vendors (a ShipHero sync's CSV) are offered here.
        syncd_http::files::serve_publicly(addr);
    }
    if !config.daemon.admin_is_loopback() {
        tracing::warn!(
            admin = %admin_addr,
            "the admin API listens beyond loopback: anyone who reaches it can read state; keep it behind a firewall or a proxy"
        );
    }
    if config.daemon.admin_token.is_none() {
        tracing::warn!(
            "no [daemon] admin_token: the admin API refuses cursor and dead-letter changes"
        );
    }
    let _pid_file = pidfile::PidFile::create(&state_dir, admin_addr, public_addr)
        .with_context(|| format!("writing the pid file in {}", state_dir.display()))?;

    let metrics = Arc::new(Metrics::default());
    let drain = Duration::from_secs(config.daemon.drain_timeout_secs);
    let daemon = Arc::new(Daemon {
        config_path: path.to_path_buf(),
        store: store.clone(),
        store_watch: watched.clone(),
        runner: Runner::new(
            store.clone(),
            metrics.clone(),
            config.daemon.max_concurrent_runs,
            stop.clone(),
            Duration::from_secs(config.daemon.progress_log_secs),
        ),
        health: Health::default(),
        metrics,
        stop: stop.clone(),
        loaded: RwLock::new(Arc::new(Loaded {
            schedules: Schedules::of(&config),
            config,
            topology,
        })),
    });
    let admin = tokio::spawn(crate::admin::serve(
        "admin",
        listener,
        crate::admin::router(daemon.clone()),
        daemon.current().config.daemon.http_limits(),
        daemon.clone(),
    ));
    if let Some(public) = public {
        tokio::spawn(crate::admin::serve(
            "public",
            public,
            crate::admin::public_router(daemon.clone()),
            daemon.current().config.daemon.http_limits(),
            daemon.clone(),
        ));
    }
    tokio::spawn(daemon.clone().health_loop());

    let public_shown = public_addr.map_or_else(|| "none".to_string(), |a| a.to_string());
    tracing::info!(
        admin = %admin_addr,
        public = %public_shown,
        state_dir = %state_dir.display(),
        "syncd is running"
    );
    notify::ready(&daemon.status_line());
    daemon.schedule_loop(&mut signals).await;

    notify::stopping();
    tracing::info!(
        drain_timeout_secs = drain.as_secs(),
        "shutting down: letting in-flight runs finish their write call"
    );
    stop.cancel();
    tokio::select! {
        _ = daemon.runner.drained() => tracing::info!("in-flight runs finished"),
        _ = tokio::time::sleep(drain) => tracing::warn!(
            "drain timeout reached: unfinished writes stay in the outbox for the next start"
        ),
        _ = second_shutdown(&mut signals) => {
            tracing::warn!("second signal: exiting at once; the outbox replays what was in flight");
            std::process::exit(1);
        }
    }
    let flushing = store.clone();
    let flushed = tokio::task::spawn_blocking(move || flushing.flush()).await?;
    let _ = tokio::time::timeout(Duration::from_secs(2), admin).await;
    if let Some(fault) = watched.fault() {
        tracing::error!(store = %fault, "stopped: the state store failed; exiting 1");
        return Ok(ExitCode::from(1));
    }
    flushed.context("flushing the state store")?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}
