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

/// How many look-ups ahead a batch prefetches: enough to cover a memory access.
const PREFETCH_DISTANCE: usize = 16;

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

    /// The fingerprints held at each of `hashes`, in order. Faster than one `get` at a time
    /// for many: the slots a few look-ups ahead are fetched from memory while this one is read.
    pub fn get_many(&self, hashes: &[u128]) -> Vec<Option<u128>> {
        if self.len == 0 {
            return vec![None; hashes.len()];
        }
        let mask = self.mask();
        hashes
            .iter()
            .enumerate()
            .map(|(i, &hash)| {
                if let Some(&ahead) = hashes.get(i + PREFETCH_DISTANCE) {
                    self.prefetch(stored(ahead) as usize & mask);
                }
                self.get(hash)
            })
            .collect()
    }

    /// Applies `changes` in order: `Some(fp)` sets, `None` removes. Prefetches as
    /// [`FingerprintTable::get_many`] does.
    pub fn apply_many(&mut self, changes: &[(u128, Option<u128>)]) {
        let growth = changes.iter().filter(|c| c.1.is_some()).count();
        if slots_for(self.len + growth) > self.slots.len() {
            let old = std::mem::take(&mut self.slots);
            self.slots = allocate(slots_for(self.len + growth));
            let len = std::mem::replace(&mut self.len, 0);
            for (hash, fp) in old.into_iter().filter(|s| s.0 != EMPTY) {
                self.insert(hash, fp);
            }
            debug_assert_eq!(self.len, len);
        }
        for (i, &(hash, fp)) in changes.iter().enumerate() {
            if let Some(&(ahead, _)) = changes.get(i + PREFETCH_DISTANCE) {
                self.prefetch(stored(ahead) as usize & self.mask());
            }
            match fp {
                Some(fp) => self.insert(hash, fp),
                None => self.remove(hash),
            }
        }
    }

    #[inline]
    fn prefetch(&self, at: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `at` is masked to the table's length; a prefetch only hints the cache and
        // never faults.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(self.slots.as_ptr().add(at) as *const i8);
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = at;
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

    /// Makes room for `additional` more entries, so that they go in without the table growing
    /// (each growth allocates, clears and refills a table twice the size).
    pub fn reserve(&mut self, additional: usize) {
        let wanted = slots_for(self.len + additional);
        if wanted > self.slots.len() {
            self.rehash_into(wanted);
        }
    }

    fn grow(&mut self) {
        self.rehash_into(slots_for(self.len + 1).max(self.slots.len() * 2).max(16));
    }

    fn rehash_into(&mut self, slots: usize) {
        let old = std::mem::take(&mut self.slots);
        self.slots = allocate(slots);
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

/// `n` empty slots, asking for huge pages before the memory is first touched. An empty slot is
/// all zero bytes, so zeroed memory is an empty table: fresh memory from the kernel needs no
/// second pass to clear it.
fn allocate(n: usize) -> Vec<Slot> {
    let layout = std::alloc::Layout::array::<Slot>(n).expect("a table fits in memory");
    // SAFETY: the layout is non-zero-sized (n ≥ 16); an all-zero `(u128, u128)` is a valid
    // value; the pointer comes from the global allocator with exactly this layout, as
    // `Vec::from_raw_parts` requires, and holds `n` initialised slots.
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout).cast::<Slot>();
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        #[cfg(target_os = "linux")]
        advise_huge_pages(ptr as usize, layout.size());
        Vec::from_raw_parts(ptr, n, n)
    }
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
                0..=2 => {
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
        let hashes: Vec<u128> = model.keys().copied().chain([12345]).collect();
        let many = table.get_many(&hashes);
        for (hash, got) in hashes.iter().zip(many) {
            assert_eq!(got, model.get(hash).copied());
        }
    }

    #[test]
    fn reserving_keeps_every_entry_and_the_reserved_inserts_do_not_grow_the_table() {
        let hash = |i: u128| i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
        let mut table = FingerprintTable::default();
        for i in 1..=100u128 {
            table.insert(hash(i), i);
        }
        table.reserve(10_000);
        let slots = table.slots.len();
        assert!(slots >= slots_for(10_100), "{slots}");
        for i in 1..=100u128 {
            assert_eq!(table.get(hash(i)), Some(i));
        }
        for i in 101..=10_100u128 {
            table.insert(hash(i), i);
        }
        assert_eq!(table.slots.len(), slots, "no growth after reserving");
        assert_eq!(table.len(), 10_100);
        assert_eq!(table.get(hash(5_000)), Some(5_000));
        table.reserve(1);
        assert_eq!(
            table.slots.len(),
            slots,
            "a reserve already met changes nothing"
        );
    }

    #[test]
    fn applying_many_changes_equals_applying_them_one_by_one() {
        let changes: Vec<(u128, Option<u128>)> = (0..20_000u128)
            .map(|i| {
                let hash = (i % 7_000).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
                (hash, (i % 5 != 0).then_some(i + 1))
            })
            .collect();
        let mut one_by_one = FingerprintTable::default();
        for &(hash, fp) in &changes {
            match fp {
                Some(fp) => one_by_one.insert(hash, fp),
                None => one_by_one.remove(hash),
            }
        }
        let mut batched = FingerprintTable::with_capacity(10);
        batched.apply_many(&changes);
        assert_eq!(batched.len(), one_by_one.len());
        for hash in one_by_one.hashes() {
            assert_eq!(batched.get(hash), one_by_one.get(hash));
        }
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
