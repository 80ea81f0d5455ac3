//! Progress reporting: the engine tells an observer how far a run got; the binary draws it.

use crate::report::RunReport;

/// Receives progress while a run goes on.
pub trait Progress: Send + Sync {
    /// Called after each page with the counts so far.
    fn page_done(&self, report: &RunReport);
}

/// Ignores progress.
pub struct NoProgress;

impl Progress for NoProgress {
    fn page_done(&self, _report: &RunReport) {}
}
