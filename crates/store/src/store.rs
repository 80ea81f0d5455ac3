//! The storage trait: namespaced keys and values, one atomic commit across namespaces.

use crate::batch::{Durability, WriteBatch};
use crate::error::StoreError;

/// The version of the on-disk layout; a store of an older version is migrated on open (see
/// `migrate`), one of a newer version refused.
pub const SCHEMA_VERSION: u32 = 3;

/// The namespaces of the state store, each keyed so that a prefix scan answers a question.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tree {
    /// Schema version and other store-wide facts.
    Meta,
    /// Read cursors, per pipeline.
    Cursors,
    /// What each connector holds: compact pages per connector and entity.
    Shadow,
    /// Link bases: full records both sides of a link last agreed on, per link and key.
    LinkBases,
    /// Events received by webhook, not yet processed, per connector.
    Inbox,
    /// Writes planned but not yet acknowledged, per pipeline and key.
    Outbox,
    /// Records that failed for good, per pipeline.
    DeadLetters,
    /// Logical timestamps and the ranges already accounted for, per connector.
    LogicalTimestamps,
    /// Run reports, per pipeline and start time.
    Runs,
    /// Conflicts links resolved, per link and time.
    Conflicts,
}

impl Tree {
    /// Every namespace.
    pub const ALL: [Tree; 10] = [
        Tree::Meta,
        Tree::Cursors,
        Tree::Shadow,
        Tree::LinkBases,
        Tree::Inbox,
        Tree::Outbox,
        Tree::DeadLetters,
        Tree::LogicalTimestamps,
        Tree::Runs,
        Tree::Conflicts,
    ];

    /// The namespace's name on disk.
    pub fn name(self) -> &'static str {
        match self {
            Tree::Meta => "meta",
            Tree::Cursors => "cursors",
            Tree::Shadow => "shadow",
            Tree::LinkBases => "link_bases",
            Tree::Inbox => "inbox",
            Tree::Outbox => "outbox",
            Tree::DeadLetters => "dead_letters",
            Tree::LogicalTimestamps => "logical_timestamps",
            Tree::Runs => "runs",
            Tree::Conflicts => "conflicts",
        }
    }
}

/// An iterator over `(key, value)` pairs of a prefix scan, in key order.
pub type ScanIter<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>), StoreError>> + 'a>;

/// What [`StateStore::visit_prefix`] calls with each `(key, value)` pair.
pub type PairVisitor<'a> = dyn FnMut(&[u8], &[u8]) -> Result<(), StoreError> + 'a;

/// A durable, namespaced key-value store with atomic multi-namespace commits.
///
/// Kept small so that another backend (or a server-backed store shared by several daemons) can
/// stand in without touching the engine.
pub trait StateStore: Send + Sync {
    /// The value at `key` in `tree`.
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Every pair in `tree` whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, tree: Tree, prefix: &[u8]) -> ScanIter<'_>;

    /// Calls `visit` with every pair in `tree` whose key starts with `prefix`, in key order,
    /// stopping at its first error. A backend that holds its values in memory lends them
    /// without copying (a million-entry shadow is tens of MiB); this default copies each.
    fn visit_prefix(
        &self,
        tree: Tree,
        prefix: &[u8],
        visit: &mut PairVisitor<'_>,
    ) -> Result<(), StoreError> {
        for pair in self.scan_prefix(tree, prefix) {
            let (k, v) = pair?;
            visit(&k, &v)?;
        }
        Ok(())
    }

    /// How many keys in `tree` start with `prefix`.
    fn count_prefix(&self, tree: Tree, prefix: &[u8]) -> Result<usize, StoreError> {
        let mut n = 0;
        for pair in self.scan_prefix(tree, prefix) {
            pair?;
            n += 1;
        }
        Ok(n)
    }

    /// Applies every operation of `batch` atomically: after a crash, all or none of it is there.
    /// With [`Durability::Flushed`], returns only once the batch is on disk.
    fn commit(&self, batch: WriteBatch, durability: Durability) -> Result<(), StoreError>;

    /// Makes every earlier commit durable.
    fn flush(&self) -> Result<(), StoreError>;

    /// A new id, greater than every id this store handed out before (across restarts).
    fn next_id(&self) -> Result<u64, StoreError>;

    /// Where the store lives, for messages.
    fn location(&self) -> String;
}
