//! Reading: pages of records, their positions, and the cursors that resume after them.

use serde::{Deserialize, Serialize};

use crate::model::{EntityKind, Record};

/// An opaque resume point, owned by the connector that produced it and stored by the engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub serde_json::Value);

/// Whether to read changes since a cursor or a full snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadMode {
    /// Only what changed since the cursor.
    Incremental,
    /// Everything the system holds now; the cursor only pages through the snapshot.
    Full,
}

/// What the engine asks a source for.
#[derive(Clone, Debug)]
pub struct ReadRequest {
    /// The entity kind to read.
    pub entity: EntityKind,
    /// Incremental or full.
    pub mode: ReadMode,
    /// Where to resume; `None` starts from the beginning.
    pub cursor: Option<Cursor>,
    /// An upper bound on records per page.
    pub max_records: usize,
}

/// A row the source could not turn into a record; it becomes a dead letter naming its origin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RejectedRow {
    /// Where the row came from (e.g. `drop/stock-1.csv:17`).
    pub origin: String,
    /// The raw text of the row, as far as it could be read.
    pub raw: String,
    /// Why it was rejected.
    pub error: String,
}

/// One item of a page: a record or a rejected row, at a position in the source.
#[derive(Clone, Debug)]
pub struct ReadItem {
    /// The source's position of this item; [`Page::cursor_after`] turns it into a cursor.
    pub position: u64,
    /// The record, or why there is none.
    pub record: Result<Record, RejectedRow>,
    /// A tombstone: the source deleted this record (only its key fields need be right). The
    /// engine deletes it from a target that holds it.
    pub deleted: bool,
}

impl ReadItem {
    /// A record (or rejected row) read at `position`.
    pub fn new(position: u64, record: Result<Record, RejectedRow>) -> Self {
        ReadItem {
            position,
            record,
            deleted: false,
        }
    }

    /// A tombstone of `record`, deleted in the source, read at `position`.
    pub fn tombstone(position: u64, record: Record) -> Self {
        ReadItem {
            position,
            record: Ok(record),
            deleted: true,
        }
    }
}

type ResumeFn = Box<dyn Fn(u64) -> Cursor + Send + Sync>;

/// What a source's size is counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeUnit {
    /// Bytes of files or bodies.
    Bytes,
    /// Records or events.
    Records,
}

/// How much of its source a page took and how much is left after it, for a source that knows
/// its size (a drop folder's files, an inbox's events): progress bars and ETAs come from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageSize {
    /// What this page consumed.
    pub read: u64,
    /// What is left after it.
    pub left: u64,
    /// The unit of both.
    pub unit: SizeUnit,
}

/// A page of items and the cursors that resume after any of them.
pub struct Page {
    /// The items, in source order.
    pub items: Vec<ReadItem>,
    /// The cursor that resumes after the whole page.
    pub next: Cursor,
    /// True when the source has nothing after this page (for now).
    pub done: bool,
    /// How much of the source the page took and left, when the source knows.
    pub size: Option<PageSize>,
    resume: ResumeFn,
}

impl Page {
    /// A page whose items' cursors are computed by `resume` from their positions.
    ///
    /// Computing cursors lazily keeps per-record overhead at one integer: the engine only asks
    /// for the cursor at the end of the acknowledged prefix.
    pub fn new(
        items: Vec<ReadItem>,
        next: Cursor,
        done: bool,
        resume: impl Fn(u64) -> Cursor + Send + Sync + 'static,
    ) -> Self {
        Page {
            items,
            next,
            done,
            size: None,
            resume: Box::new(resume),
        }
    }

    /// The page, saying how much of its source it took and left.
    pub fn with_size(mut self, size: PageSize) -> Self {
        self.size = Some(size);
        self
    }

    /// An empty, final page that leaves the cursor where it was.
    pub fn empty(next: Cursor) -> Self {
        let at = next.clone();
        Page::new(Vec::new(), next, true, move |_| at.clone())
    }

    /// The cursor that resumes right after the item at `position`.
    pub fn cursor_after(&self, position: u64) -> Cursor {
        (self.resume)(position)
    }

    /// Takes the items out, leaving what resumes after them.
    pub fn into_parts(self) -> (Vec<ReadItem>, PageCursors) {
        (
            self.items,
            PageCursors {
                next: self.next,
                done: self.done,
                resume: self.resume,
            },
        )
    }
}

/// What a page leaves once its items are taken: the cursors that resume after them.
pub struct PageCursors {
    /// The cursor that resumes after the whole page.
    pub next: Cursor,
    /// True when the source had nothing after the page.
    pub done: bool,
    resume: ResumeFn,
}

impl PageCursors {
    /// The cursor that resumes right after the item at `position`.
    pub fn cursor_after(&self, position: u64) -> Cursor {
        (self.resume)(position)
    }
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("items", &self.items.len())
            .field("next", &self.next)
            .field("done", &self.done)
            .finish()
    }
}
