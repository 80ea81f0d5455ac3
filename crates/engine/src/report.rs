//! The report of one run: what was read, what changed, what was written, and how it ended.

use serde::{Deserialize, Serialize};

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "result", content = "error")]
pub enum RunOutcome {
    /// Every record read was written, found unchanged, or dead-lettered.
    Succeeded,
    /// The run stopped early; what it accounted for is committed.
    Failed(String),
    /// Shutdown stopped the run between write calls; what it accounted for is committed.
    Stopped,
}

/// Counts and timings of one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReport {
    /// The pipeline.
    pub pipeline: String,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// Wall-clock duration in milliseconds.
    pub duration_ms: u64,
    /// Records and rows read from the source.
    pub read: u64,
    /// Records whose content the target already held.
    pub unchanged: u64,
    /// Records recognised as echoes of our own writes (bidirectional links).
    pub echoes: u64,
    /// Records left out by a map's `unmapped = "skip"`.
    pub skipped: u64,
    /// Unowned fields both sides of a link changed since the last sync.
    pub conflicts: u64,
    /// Upserts the target acknowledged.
    pub written: u64,
    /// Deletes the target acknowledged.
    pub deleted: u64,
    /// Writes replayed from the outbox of an earlier, interrupted run.
    pub replayed: u64,
    /// Records and rows dead-lettered.
    pub dead_lettered: u64,
    /// Calls made to the target's write endpoint.
    pub write_calls: u64,
    /// Calls repeated after a retryable failure.
    pub retries: u64,
    /// Times the run waited out a vendor's rate limit.
    pub rate_limit_waits: u64,
    /// Writes left in the outbox when the run ended.
    pub pending: u64,
    /// Allocation ranges the target acknowledged removing (one per scope and run).
    #[serde(default)]
    pub allocation_ranges: u64,
    /// Logical timestamps whose allocations must stay for now: an item still only assigned,
    /// or a completion the stock authority has not acknowledged yet.
    #[serde(default)]
    pub allocations_held: u64,
    /// How far through its source the run got, when the source knows its size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extent: Option<Extent>,
    /// How the run ended.
    pub outcome: RunOutcome,
}

/// How much of its source a run has read, of how much in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extent {
    /// Read so far.
    pub done: u64,
    /// Read so far plus what the source says is left.
    pub total: u64,
    /// What both count.
    pub unit: syncd_core::SizeUnit,
}

impl Extent {
    /// `extent` (none before the first page) moved on by a page of `size`.
    pub fn after(extent: Option<Extent>, size: syncd_core::PageSize) -> Extent {
        let done = extent.map_or(0, |e| e.done) + size.read;
        Extent {
            done,
            total: done + size.left,
            unit: size.unit,
        }
    }
}

impl RunReport {
    /// An empty report for a run of `pipeline` starting now.
    pub fn start(pipeline: &str) -> Self {
        RunReport {
            pipeline: pipeline.to_string(),
            started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            duration_ms: 0,
            read: 0,
            unchanged: 0,
            echoes: 0,
            skipped: 0,
            conflicts: 0,
            written: 0,
            deleted: 0,
            replayed: 0,
            dead_lettered: 0,
            write_calls: 0,
            retries: 0,
            rate_limit_waits: 0,
            allocation_ranges: 0,
            allocations_held: 0,
            pending: 0,
            extent: None,
            outcome: RunOutcome::Succeeded,
        }
    }

    /// The outcome as one word: `ok`, `partial` (it ran to the end but dead-lettered
    /// something), `failed` or `stopped` (a metric label, a table cell).
    pub fn outcome_label(&self) -> &'static str {
        match self.outcome {
            RunOutcome::Succeeded if self.dead_lettered > 0 => "partial",
            RunOutcome::Succeeded => "ok",
            RunOutcome::Failed(_) => "failed",
            RunOutcome::Stopped => "stopped",
        }
    }

    /// True when the run succeeded (ran to the end; see [`RunReport::is_partial`]).
    pub fn succeeded(&self) -> bool {
        self.outcome == RunOutcome::Succeeded
    }

    /// True when the run ran to the end but dead-lettered something: an operator must look.
    pub fn is_partial(&self) -> bool {
        self.succeeded() && self.dead_lettered > 0
    }
}
