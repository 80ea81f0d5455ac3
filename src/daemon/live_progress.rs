//! A daemon run's progress while it goes on: its counters in `/metrics` move page by page, not
//! only at its end, `/status` (and so `syncd top`) shows its report so far, and a long run says
//! how far it got in the log every so often.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use syncd_engine::{Progress, RunReport};

use super::metrics::{Counted, Metrics};
use super::runner::Live;

/// Progress of one run into the metrics and the log.
pub struct LiveProgress {
    metrics: Arc<Metrics>,
    live: Live,
    pipeline: String,
    every: Duration,
    counted: Mutex<Counted>,
    last_log: Mutex<Instant>,
}

impl LiveProgress {
    /// The progress of a run of `pipeline`, kept in `live` and logged every `every`.
    pub fn new(metrics: Arc<Metrics>, live: Live, pipeline: &str, every: Duration) -> Self {
        LiveProgress {
            metrics,
            live,
            pipeline: pipeline.to_string(),
            every,
            counted: Mutex::new(Counted::default()),
            last_log: Mutex::new(Instant::now()),
        }
    }

    /// What the run's pages have added to the counters so far.
    pub fn counted(&self) -> Counted {
        *self.counted.lock().expect("counted lock")
    }
}

impl Progress for LiveProgress {
    fn page_done(&self, r: &RunReport) {
        {
            let mut counted = self.counted.lock().expect("counted lock");
            *counted = self.metrics.run_progress(r, *counted);
        }
        if let Some(now) = self
            .live
            .lock()
            .expect("runner lock")
            .get_mut(&self.pipeline)
        {
            *now = r.clone();
        }
        let mut last = self.last_log.lock().expect("log lock");
        if last.elapsed() >= self.every {
            *last = Instant::now();
            let percent = r
                .extent
                .filter(|e| e.total > 0)
                .map(|e| (e.done as f64 * 100.0 / e.total as f64).round() as u64);
            tracing::info!(
                pipeline = %self.pipeline,
                read = r.read,
                unchanged = r.unchanged,
                written = r.written,
                dead_lettered = r.dead_lettered,
                write_calls = r.write_calls,
                percent,
                "run in progress"
            );
        }
    }
}
