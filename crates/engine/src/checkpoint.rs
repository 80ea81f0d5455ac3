//! Which items of a page are accounted for, and how far the cursor may move: only over a
//! contiguous prefix of settled items, so that nothing unsettled is ever skipped.

use std::collections::VecDeque;

use syncd_core::{Cursor, Page};

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

/// The pages of a run not yet released, oldest first: the cursor may move past a page only
/// when it and every page before it are fully accounted for.
#[derive(Default)]
pub struct OpenPages {
    pages: VecDeque<(u64, Page, AckTracker)>,
    next_seq: u64,
    last_next: Option<Cursor>,
}

impl OpenPages {
    /// Adds a page just read; returns its sequence number.
    pub fn push(&mut self, page: Page) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.last_next = Some(page.next.clone());
        let tracker = AckTracker::new(page.items.len());
        self.pages.push_back((seq, page, tracker));
        seq
    }

    /// Marks item `index` of page `seq` as accounted for.
    pub fn settle(&mut self, seq: u64, index: usize) {
        if let Some((_, _, tracker)) = self.pages.iter_mut().find(|(s, _, _)| *s == seq) {
            tracker.settle(index);
        }
    }

    /// Drops the leading fully settled pages and returns the cursor the run may now commit, if
    /// it moved.
    pub fn release(&mut self) -> Option<Cursor> {
        let mut moved = None;
        while let Some((_, page, tracker)) = self.pages.front() {
            if tracker.all_settled() {
                moved = Some(page.next.clone());
                self.pages.pop_front();
                continue;
            }
            if tracker.settled_prefix() > 0 {
                moved = Some(page.cursor_after(page.items[tracker.settled_prefix() - 1].position));
            }
            break;
        }
        moved
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
