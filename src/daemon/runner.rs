//! Starting pipeline runs: never two runs of one pipeline at once, at most `max_concurrent_runs`
//! at a time, each run's report counted in the metrics. Runs are tracked so that shutdown can
//! wait for them to drain.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use syncd_engine::{Pipeline, RunReport};
use syncd_store::StateStore;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::metrics::Metrics;

/// Why a run starts, for the logs.
#[derive(Clone, Copy, Debug)]
pub enum Reason {
    /// Its cron schedule ticked.
    Schedule,
    /// SIGUSR1 or `syncd trigger`.
    Trigger,
}

/// Whether a run was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Started {
    /// It was started (it may wait for a free slot).
    Yes,
    /// The pipeline's previous run is still going.
    AlreadyRunning,
}

/// The runs going, each with its report so far, by pipeline.
pub type Live = Arc<Mutex<BTreeMap<String, RunReport>>>;

/// Starts and tracks runs.
pub struct Runner {
    store: Arc<dyn StateStore>,
    metrics: Arc<Metrics>,
    slots: Arc<Semaphore>,
    running: Live,
    tracker: TaskTracker,
    stop: CancellationToken,
    /// How often a long run logs how far it got.
    progress_every: std::time::Duration,
}

impl Runner {
    /// A runner over `store` allowing `max_concurrent` runs at a time, whose runs stop early
    /// once `stop` is cancelled.
    pub fn new(
        store: Arc<dyn StateStore>,
        metrics: Arc<Metrics>,
        max_concurrent: usize,
        stop: CancellationToken,
        progress_every: std::time::Duration,
    ) -> Self {
        Runner {
            stop,
            progress_every,
            store,
            metrics,
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            running: Arc::default(),
            tracker: TaskTracker::new(),
        }
    }

    /// The pipelines with a run going.
    pub fn running(&self) -> Vec<String> {
        self.running
            .lock()
            .expect("runner lock")
            .keys()
            .cloned()
            .collect()
    }

    /// The runs going, each with its report so far, by pipeline name.
    pub fn live(&self) -> Vec<RunReport> {
        self.running
            .lock()
            .expect("runner lock")
            .values()
            .cloned()
            .collect()
    }

    /// Starts a run of `pipeline` unless one is going.
    pub fn start(&self, pipeline: Arc<Pipeline>, reason: Reason) -> Started {
        let name = pipeline.name().to_string();
        let already = {
            let mut running = self.running.lock().expect("runner lock");
            let already = running.contains_key(&name);
            if !already {
                running.insert(name.clone(), RunReport::start(&name));
            }
            already
        };
        if already {
            tracing::info!(pipeline = %name, ?reason, "previous run still going: not starting another");
            if matches!(reason, Reason::Schedule) {
                self.metrics.tick_skipped(&name);
            }
            return Started::AlreadyRunning;
        }
        let store = self.store.clone();
        let metrics = self.metrics.clone();
        let slots = self.slots.clone();
        let running = self.running.clone();
        let stop = self.stop.clone();
        let progress_every = self.progress_every;
        self.tracker.spawn(async move {
            // Clears the running mark however the run ends, even by a panic.
            struct Done(Live, String);
            impl Drop for Done {
                fn drop(&mut self) {
                    if let Ok(mut live) = self.0.lock() {
                        live.remove(&self.1);
                    }
                }
            }
            let _done = Done(running.clone(), name.clone());
            let Ok(_slot) = slots.acquire_owned().await else {
                return;
            };
            tracing::info!(pipeline = %name, ?reason, "run starting");
            let progress = super::live_progress::LiveProgress::new(
                metrics.clone(),
                running,
                &name,
                progress_every,
            );
            let report = pipeline.run(store, &progress, &stop).await;
            metrics.run_finished(&report, progress.counted());
        });
        Started::Yes
    }

    /// Stops accepting new runs into the tracker's count and waits for those going to end.
    pub async fn drained(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }
}
