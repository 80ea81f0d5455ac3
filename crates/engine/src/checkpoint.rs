//! Which items of a page are accounted for, and how far the cursor may move: only over a
//! contiguous prefix of settled items, so that nothing unsettled is ever skipped.

use std::collections::VecDeque;

use syncd_core::{Cursor, PageCursors};

/// Tracks the settled items of one page.
#[derive(Debug)]
pub struct AckTracker {
    settled: Vec<bool>,
    prefix: usize,
}

impl AckTracker {
    /// A tracker for a page of `len` items, none settled.
    pub fn new(len: usize) -> Self {
        AckTracker {
            settled: vec![false; len],
            prefix: 0,
        }
    }

    /// Marks item `index` as accounted for (unchanged, written, or dead-lettered).
    pub fn settle(&mut self, index: usize) {
        self.settled[index] = true;
        while self.prefix < self.settled.len() && self.settled[self.prefix] {
            self.prefix += 1;
        }
    }

    /// How many leading items are all settled.
    pub fn settled_prefix(&self) -> usize {
        self.prefix
    }

    /// True when every item is settled.
    pub fn all_settled(&self) -> bool {
        self.prefix == self.settled.len()
    }
}

/// A page not yet released: its items' positions (the items themselves are gone once planned,
/// so that a long run holds 9 bytes an item, not the records) and what they settled.
struct OpenPage {
    seq: u64,
    positions: Vec<u64>,
    cursors: PageCursors,
    tracker: AckTracker,
}

/// The pages of a run not yet released, oldest first: the cursor may move past a page only
/// when it and every page before it are fully accounted for.
#[derive(Default)]
pub struct OpenPages {
    pages: VecDeque<OpenPage>,
    next_seq: u64,
    last_next: Option<Cursor>,
}

impl OpenPages {
    /// Adds a page whose items are at `positions`; returns its sequence number.
    pub fn push(&mut self, positions: Vec<u64>, cursors: PageCursors) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.last_next = Some(cursors.next.clone());
        let tracker = AckTracker::new(positions.len());
        self.pages.push_back(OpenPage {
            seq,
            positions,
            cursors,
            tracker,
        });
        seq
    }

    /// Marks item `index` of page `seq` as accounted for.
    pub fn settle(&mut self, seq: u64, index: usize) {
        // Pages are released oldest first, so `seq` sits at `seq - front`.
        let Some(front) = self.pages.front().map(|p| p.seq) else {
            return;
        };
        if let Some(page) = seq
            .checked_sub(front)
            .and_then(|at| self.pages.get_mut(at as usize))
        {
            page.tracker.settle(index);
        }
    }

    /// Drops the leading fully settled pages and returns the cursor the run may now commit, if
    /// it moved.
    pub fn release(&mut self) -> Option<Cursor> {
        let mut moved = None;
        while let Some(page) = self.pages.front() {
            if page.tracker.all_settled() {
                moved = Some(page.cursors.next.clone());
                self.pages.pop_front();
                continue;
            }
            let prefix = page.tracker.settled_prefix();
            if prefix > 0 {
                moved = Some(page.cursors.cursor_after(page.positions[prefix - 1]));
            }
            break;
        }
        moved
    }

    /// True when every page pushed was released.
    pub fn all_released(&self) -> bool {
        self.pages.is_empty()
    }

    /// The cursor after the last page read (where the next read starts).
    pub fn next_cursor(&self) -> Cursor {
        self.last_next.clone().expect("a page was pushed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_stops_at_the_first_unsettled_item() {
        let mut t = AckTracker::new(5);
        for i in [0, 1, 3] {
            t.settle(i);
        }
        assert_eq!(t.settled_prefix(), 2);
        t.settle(2);
        assert_eq!(t.settled_prefix(), 4);
        assert!(!t.all_settled());
        t.settle(4);
        assert!(t.all_settled());
    }
}
