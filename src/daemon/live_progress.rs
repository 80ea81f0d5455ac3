//! A daemon run's progress while it goes on: its counters in `/metrics` move page by page, not
//! only at its end, and a long run says how far it got in the log every so often.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use syncd_engine::{Progress, RunReport};

use super::metrics::{Counted, Metrics};

/// Progress of one run into the metrics and the log.
pub struct LiveProgress {
    metrics: Arc<Metrics>,
    pipeline: String,
    every: Duration,
    counted: Mutex<Counted>,
    last_log: Mutex<Instant>,
}

impl LiveProgress {
    /// The progress of a run of `pipeline`, logged every `every`.
    pub fn new(metrics: Arc<Metrics>, pipeline: &str, every: Duration) -> Self {
        LiveProgress {
            metrics,
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
        let mut last = self.last_log.lock().expect("log lock");
        if last.elapsed() >= self.every {
            *last = Instant::now();
            tracing::info!(
                pipeline = %self.pipeline,
                read = r.read,
                unchanged = r.unchanged,
                written = r.written,
                dead_lettered = r.dead_lettered,
                write_calls = r.write_calls,
                "run in progress"
            );
        }
    }
}
