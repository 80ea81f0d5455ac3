//! What can go wrong while playing the mission.

use std::path::PathBuf;

/// An error of the mission's driver, naming what it was doing.
#[derive(Debug, thiserror::Error)]
pub enum MissionError {
    /// A file of the mission's directory.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A simulator or the daemon answered unexpectedly.
    #[error("{what}: {detail}")]
    Call {
        /// The call.
        what: String,
        /// Status and body, or the transport error.
        detail: String,
    },
    /// The daemon did not start, exited, or a command of its CLI failed.
    #[error("the daemon: {0}")]
    Daemon(String),
    /// A condition did not hold before its deadline.
    #[error("timed out waiting for {0}")]
    Timeout(String),
    /// The example topology no longer has what the mission points at the sandbox.
    #[error("examples/omnichannel/adapters.toml: {0}")]
    Example(String),
}

impl MissionError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        MissionError::Io {
            path: path.into(),
            source,
        }
    }

    /// A failed call `what`.
    pub fn call(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        MissionError::Call {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}
