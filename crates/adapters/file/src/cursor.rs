//! The drop-folder cursor: the files already taken, and how far into the current one.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use syncd_core::Cursor;

/// Where reading resumes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCursor {
    /// Files read to the end.
    #[serde(default)]
    pub taken: BTreeSet<String>,
    /// The file being read, and the byte offset and line number after the last record taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Partial>,
}

/// A partly read file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partial {
    /// File name within the drop folder.
    pub file: String,
    /// Byte offset where the next row starts.
    pub offset: u64,
    /// Line number of the last row taken (1-based, header included).
    pub line: u64,
}

impl FileCursor {
    /// Decodes a stored cursor; `None` starts from the beginning.
    pub fn decode(cursor: Option<&Cursor>) -> Result<Self, String> {
        match cursor {
            None => Ok(FileCursor::default()),
            Some(c) => serde_json::from_value(c.0.clone())
                .map_err(|e| format!("unreadable file cursor: {e}")),
        }
    }

    /// Encodes the cursor for the store.
    pub fn encode(&self) -> Cursor {
        Cursor(serde_json::to_value(self).expect("a file cursor serializes"))
    }
}
