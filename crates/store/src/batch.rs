//! Write batches: operations across namespaces that commit together.

use crate::store::Tree;

/// Whether a commit waits for the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Written to the store; on disk at the next flush (sled flushes every 500 ms by itself).
    Buffered,
    /// On disk when `commit` returns: used at the commit points of the run protocol.
    Flushed,
}

/// One operation of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Set `key` to `value`.
    Put(Tree, Vec<u8>, Vec<u8>),
    /// Remove `key`.
    Delete(Tree, Vec<u8>),
}

/// Operations that commit atomically; later operations on the same key win.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<Op>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` in `tree`.
    pub fn put(&mut self, tree: Tree, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push(Op::Put(tree, key, value));
    }

    /// Removes `key` from `tree`.
    pub fn delete(&mut self, tree: Tree, key: Vec<u8>) {
        self.ops.push(Op::Delete(tree, key));
    }

    /// Appends another batch's operations after this one's.
    pub fn extend(&mut self, other: WriteBatch) {
        self.ops.extend(other.ops);
    }

    /// The operations in order.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Consumes the batch into its operations.
    pub fn into_ops(self) -> Vec<Op> {
        self.ops
    }

    /// True when there is nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }
}
