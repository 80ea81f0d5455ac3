//! The file adapter: reads stock positions from a drop folder of CSV and JSON Lines files, and
//! writes a stock snapshot file atomically (temporary file, fsync, rename).
//!
//! Drop-folder convention: producers write a file under a temporary name (starting with `.` or
//! ending in `.tmp`/`.part`) and rename it into place when complete; such names are ignored.

mod config;
mod connector;
mod cursor;
mod ledger;
mod rows;
mod sink;
mod snapshot;
mod source;

pub use config::FileConfig;
pub use connector::{FileConnector, FileFactory};
pub use snapshot::{read_snapshot, SnapshotFormat};
