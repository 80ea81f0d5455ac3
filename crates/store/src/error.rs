//! Store errors, each naming the state directory or the entry at fault.

use thiserror::Error;

/// What went wrong with the state store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// Another process holds the state directory.
    #[error("state directory `{dir}` is in use by another process (is syncd already running?)")]
    Locked {
        /// The state directory.
        dir: String,
    },
    /// The store was written by a different version of the on-disk layout.
    #[error("state directory `{dir}` has schema version {found}, this syncd expects {expected}; migrate or use a new state directory")]
    SchemaMismatch {
        /// The state directory.
        dir: String,
        /// The version found on disk.
        found: String,
        /// The version this build writes.
        expected: u32,
    },
    /// The backend failed.
    #[error("state store `{dir}`: {message}")]
    Backend {
        /// The state directory.
        dir: String,
        /// The backend's message.
        message: String,
    },
    /// A stored value could not be decoded.
    #[error("state store: entry `{key}` in `{tree}` is unreadable: {message}")]
    Corrupt {
        /// The namespace.
        tree: &'static str,
        /// The entry's key, printable.
        key: String,
        /// Why it could not be decoded.
        message: String,
    },
}
