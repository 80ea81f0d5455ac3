//! The table behind [`crate::ShadowIndex`]: key hash → fingerprint, open addressing with linear
//! probing over one flat allocation, backed by huge pages where the kernel allows.
//!
//! Why not a `HashMap`: a diff of a million positions is a million look-ups at random places
//! in tens of MiB. A general map reads a control byte and then the entry (two cache misses, and
//! on a VM two page walks each); here a slot holds the hash and the fingerprint together (one
//! miss), and huge pages make the walk cheap. The keys are already uniform 128-bit hashes, so
//! the table needs no hasher of its own.

/// A slot: (key hash, fingerprint); a zero hash marks an empty slot.
type Slot = (u128, u128);

const EMPTY: u128 = 0;

/// Key hash → fingerprint.
#[derive(Clone, Debug, Default)]
pub struct FingerprintTable {
    slots: Vec<Slot>,
    len: usize,
}

/// A real hash of zero would read as empty: move it (a 2^-128 event) to one.
fn stored(hash: u128) -> u128 {
    if hash == EMPTY {
        1
    } else {
        hash
    }
}

impl FingerprintTable {
    /// A table that holds `n` entries without growing.
    pub fn with_capacity(n: usize) -> Self {
        let mut table = FingerprintTable::default();
        if n > 0 {
            table.slots = allocate(slots_for(n));
        }
        table
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    fn find(&self, hash: u128) -> Result<usize, usize> {
        let mask = self.mask();
        let mut at = (hash as usize) & mask;
        loop {
            let slot = self.slots[at].0;
            if slot == hash {
                return Ok(at);
            }
            if slot == EMPTY {
                return Err(at);
            }
            at = (at + 1) & mask;
        }
    }

    /// The fingerprint held at `hash`.
    pub fn get(&self, hash: u128) -> Option<u128> {
        if self.len == 0 {
            return None;
        }
        self.find(stored(hash)).ok().map(|at| self.slots[at].1)
    }

    /// Sets the fingerprint at `hash`.
    pub fn insert(&mut self, hash: u128, fp: u128) {
        if slots_for(self.len + 1) > self.slots.len() {
            self.grow();
        }
        let hash = stored(hash);
        match self.find(hash) {
            Ok(at) => self.slots[at].1 = fp,
            Err(at) => {
                self.slots[at] = (hash, fp);
                self.len += 1;
            }
        }
    }

    /// Removes `hash`; shifts the probe run after it back so that no look-up stops early.
    pub fn remove(&mut self, hash: u128) {
        if self.len == 0 {
            return;
        }
        let Ok(mut hole) = self.find(stored(hash)) else {
            return;
        };
        let mask = self.mask();
        let mut at = (hole + 1) & mask;
        while self.slots[at].0 != EMPTY {
            let home = (self.slots[at].0 as usize) & mask;
            // Move the entry into the hole unless its home lies after the hole (cyclically).
            let distance_to_home = at.wrapping_sub(home) & mask;
            let distance_to_hole = at.wrapping_sub(hole) & mask;
            if distance_to_home >= distance_to_hole {
                self.slots[hole] = self.slots[at];
                hole = at;
            }
            at = (at + 1) & mask;
        }
        self.slots[hole] = (EMPTY, 0);
        self.len -= 1;
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The key hashes held.
    pub fn hashes(&self) -> impl Iterator<Item = u128> + '_ {
        self.slots.iter().filter(|s| s.0 != EMPTY).map(|s| s.0)
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.slots = allocate(slots_for(self.len + 1).max(old.len() * 2).max(16));
        let mask = self.mask();
        for (hash, fp) in old.into_iter().filter(|s| s.0 != EMPTY) {
            let mut at = (hash as usize) & mask;
            while self.slots[at].0 != EMPTY {
                at = (at + 1) & mask;
            }
            self.slots[at] = (hash, fp);
        }
    }
}

/// Slots for `n` entries at a load of at most 5/8: short probe runs.
fn slots_for(n: usize) -> usize {
    (n + n * 3 / 5 + 1).next_power_of_two().max(16)
}

/// `n` empty slots, asking for huge pages before the memory is first touched.
fn allocate(n: usize) -> Vec<Slot> {
    let mut slots: Vec<Slot> = Vec::with_capacity(n);
    #[cfg(target_os = "linux")]
    advise_huge_pages(slots.as_ptr() as usize, n * std::mem::size_of::<Slot>());
    slots.resize(n, (EMPTY, 0));
    slots
}

#[cfg(target_os = "linux")]
fn advise_huge_pages(start: usize, len: usize) {
    const HUGE: usize = 2 << 20;
    let from = start.next_multiple_of(HUGE);
    let to = (start + len) / HUGE * HUGE;
    if to > from {
        // SAFETY: the range lies inside an allocation this table owns; MADV_HUGEPAGE only
        // changes how the kernel backs it, never its contents or validity.
        unsafe {
            libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn the_table_agrees_with_a_map_through_inserts_updates_and_removes() {
        let mut table = FingerprintTable::default();
        let mut model: HashMap<u128, u128> = HashMap::new();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for step in 0..50_000u64 {
            // Few distinct keys, a tenth of them sharing one home slot, so that long probe runs
            // form, wrap around and break.
            let key = next() % 3_000;
            let hash = if key % 10 == 0 {
                u128::from(key) << 64
            } else {
                u128::from(key).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
            };
            match step % 5 {
                0 | 1 | 2 => {
                    table.insert(hash, u128::from(step) + 1);
                    model.insert(stored(hash), u128::from(step) + 1);
                }
                _ => {
                    table.remove(hash);
                    model.remove(&stored(hash));
                }
            }
        }
        assert_eq!(table.len(), model.len());
        for (hash, fp) in &model {
            assert_eq!(table.get(*hash), Some(*fp));
        }
        let mut held: Vec<u128> = table.hashes().collect();
        held.sort_unstable();
        let mut expected: Vec<u128> = model.keys().copied().collect();
        expected.sort_unstable();
        assert_eq!(held, expected);
        assert_eq!(table.get(12345), None);
    }

    #[test]
    fn a_zero_hash_is_held_like_any_other() {
        let mut table = FingerprintTable::with_capacity(4);
        table.insert(0, 7);
        assert_eq!(table.get(0), Some(7));
        table.remove(0);
        assert_eq!(table.get(0), None);
    }
}
