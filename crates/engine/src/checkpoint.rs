//! Which items of a page are accounted for, and how far the cursor may move: only over a
//! contiguous prefix of settled items, so that nothing unsettled is ever skipped.

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
