//! One run of one pipeline: read → map → diff against the target's shadow → plan → batch →
//! write with retries and rate limits → commit, in the crash-safe order of DESIGN.md.

pub mod allocations;
pub mod checkpoint;
pub mod config;
pub mod diff;
pub mod drift;
pub mod error;
pub mod handle;
pub mod link;
pub mod mapping;
pub mod outbox_book;
pub mod plan;
pub mod planner;
pub mod progress;
pub mod report;
pub mod requeue;
pub mod retry;
pub mod run;
pub mod stamps;
pub mod state;
pub mod transform;
pub mod writer;

pub use config::{LinkConfig, Maps, Mode, PipelineConfig, RetryConfig, Unmapped};
pub use drift::{Drift, FieldDrift, KeyDrift};
pub use error::RunError;
pub use handle::{ConnectorHandle, RateLimit};
pub use link::FieldPolicy;
pub use plan::Plan;
pub use progress::{NoProgress, Progress};
pub use report::{Extent, RunOutcome, RunReport};
pub use requeue::Requeued;
pub use run::Pipeline;
