//! Why a run stopped early.

use syncd_core::ConnectorError;
use syncd_store::StoreError;
use thiserror::Error;

/// A run-stopping failure; everything accounted for before it stays committed.
#[derive(Debug, Error)]
pub enum RunError {
    /// The state store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A connector failed in a way no record is to blame for (auth, config, exhausted retries on
    /// a read).
    #[error("{connector}: {error}")]
    Connector {
        /// Which connector.
        connector: String,
        /// What it said.
        error: ConnectorError,
    },
    /// Some writes kept failing after every attempt; they stay in the outbox for the next run.
    #[error(
        "{pending} write(s) to {connector} still failing after {attempts} attempt(s): {last_error}"
    )]
    WritesExhausted {
        /// The target connector.
        connector: String,
        /// How many writes are left.
        pending: usize,
        /// Attempts made.
        attempts: u32,
        /// The last error seen.
        last_error: ConnectorError,
    },
    /// The pipeline cannot run as configured.
    #[error("pipeline `{pipeline}`: {message}")]
    Invalid {
        /// The pipeline.
        pipeline: String,
        /// What is wrong.
        message: String,
    },
    /// The run was asked to stop (shutdown) before it finished; what it did is committed.
    #[error("stopped by shutdown before the run finished")]
    Stopped,
    /// A blocking store task failed to complete.
    #[error("state store task failed: {0}")]
    Join(String),
}
