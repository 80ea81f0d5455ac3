//! The table behind [`crate::ShadowIndex`]: key hash → fingerprint digest, open addressing
//! with linear probing over one flat allocation, backed by huge pages where the kernel allows.
//!
//! Why not a `HashMap`: a diff of a million positions is a million look-ups at random places
//! in tens of MiB. A general map reads a control byte and then the entry (two cache misses, and
//! on a VM two page walks each); here a slot holds the hash and the fingerprint together (one
//! miss), and huge pages make the walk cheap. The keys are already uniform 128-bit hashes, so
//! the table needs no hasher of its own.
//!
//! Why 24-byte slots sized to the entries rather than to a power of two: the table is the
//! largest thing a warm run allocates, and every byte of it is fresh memory the kernel must
//! clear (on a VM, often the costliest part of loading it). A slot keeps the whole key hash
//! (two keys must never share one) but 64 bits of the fingerprint, as the shadow's pages do
//! (see [`digest`]).

/// A slot: the key hash in two halves (a `u128` would align the slot to 32 bytes) and the
/// fingerprint's digest; a zero hash marks an empty slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
struct Slot {
    lo: u64,
    hi: u64,
    fp: u64,
}

impl Slot {
    fn hash(&self) -> u128 {
        (u128::from(self.hi) << 64) | u128::from(self.lo)
    }

    fn is_empty(&self) -> bool {
        self.lo == 0 && self.hi == 0
    }
}

const EMPTY: u128 = 0;

/// How many look-ups ahead a batch prefetches: enough to cover a memory access.
const PREFETCH_DISTANCE: usize = 16;

/// The 64 bits of a fingerprint a shadow keeps (never zero: a stored zero marks a deletion).
pub fn digest(fp: u128) -> u64 {
    match fp as u64 {
        0 => 1,
        d => d,
    }
}

/// Key hash → fingerprint digest.
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

    /// The slot a hash's probe run starts at: the hash's low half scaled to the table's
    /// length (a multiply, not a modulo; the hash is uniform).
    #[inline]
    fn home(&self, hash: u128) -> usize {
        ((u128::from(hash as u64) * self.slots.len() as u128) >> 64) as usize
    }

    #[inline]
    fn after(&self, at: usize) -> usize {
        match at + 1 {
            next if next == self.slots.len() => 0,
            next => next,
        }
    }

    fn find(&self, hash: u128) -> Result<usize, usize> {
        let mut at = self.home(hash);
        loop {
            let slot = &self.slots[at];
            if slot.hash() == hash {
                return Ok(at);
            }
            if slot.is_empty() {
                return Err(at);
            }
            at = self.after(at);
        }
    }

    /// The fingerprint digest held at `hash`.
    pub fn get(&self, hash: u128) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        self.find(stored(hash)).ok().map(|at| self.slots[at].fp)
    }

    /// The digests held at each of `hashes`, in order. Faster than one `get` at a time for
    /// many: the slots a few look-ups ahead are fetched from memory while this one is read.
    pub fn get_many(&self, hashes: &[u128]) -> Vec<Option<u64>> {
        if self.len == 0 {
            return vec![None; hashes.len()];
        }
        hashes
            .iter()
            .enumerate()
            .map(|(i, &hash)| {
                if let Some(&ahead) = hashes.get(i + PREFETCH_DISTANCE) {
                    self.prefetch(self.home(stored(ahead)));
                }
                self.get(hash)
            })
            .collect()
    }

    /// Applies `changes` in order: `Some(digest)` sets, `None` removes. Prefetches as
    /// [`FingerprintTable::get_many`] does.
    pub fn apply_many(&mut self, changes: &[(u128, Option<u64>)]) {
        let growth = changes.iter().filter(|c| c.1.is_some()).count();
        self.make_room(self.len + growth);
        for (i, &(hash, fp)) in changes.iter().enumerate() {
            if let Some(&(ahead, _)) = changes.get(i + PREFETCH_DISTANCE) {
                self.prefetch(self.home(stored(ahead)));
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
        // SAFETY: `at` is below the table's length (see `home`); a prefetch only hints the
        // cache and never faults.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>(self.slots.as_ptr().add(at) as *const i8);
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = at;
    }

    /// Sets the digest at `hash`.
    pub fn insert(&mut self, hash: u128, fp: u64) {
        self.make_room(self.len + 1);
        let hash = stored(hash);
        match self.find(hash) {
            Ok(at) => self.slots[at].fp = fp,
            Err(at) => {
                self.slots[at] = Slot {
                    lo: hash as u64,
                    hi: (hash >> 64) as u64,
                    fp,
                };
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
        let n = self.slots.len();
        // How far `to` lies after `from`, going round the end of the table.
        let distance = |from: usize, to: usize| if to >= from { to - from } else { to + n - from };
        let mut at = self.after(hole);
        while !self.slots[at].is_empty() {
            let home = self.home(self.slots[at].hash());
            // Move the entry into the hole unless its home lies after the hole (cyclically).
            if distance(home, at) >= distance(hole, at) {
                self.slots[hole] = self.slots[at];
                hole = at;
            }
            at = self.after(at);
        }
        self.slots[hole] = Slot::default();
        self.len -= 1;
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The key hashes held.
    pub fn hashes(&self) -> impl Iterator<Item = u128> + '_ {
        self.slots.iter().filter(|s| !s.is_empty()).map(Slot::hash)
    }

    /// Makes room for `additional` more entries, so that they go in without the table growing
    /// (each growth allocates, clears and refills a larger table).
    pub fn reserve(&mut self, additional: usize) {
        self.make_room(self.len + additional);
    }

    /// Grows the table, if it must, to hold `entries`: to exactly that on its first allocation
    /// (a run sizes it up front), otherwise by half again at least, so that entries added a
    /// few at a time cost amortized constant time, not a rehash each.
    fn make_room(&mut self, entries: usize) {
        let wanted = slots_for(entries);
        if wanted > self.slots.len() {
            let geometric = match self.slots.is_empty() {
                true => 0,
                false => self.slots.len() + self.slots.len() / 2,
            };
            self.rehash_into(wanted.max(geometric));
        }
    }

    fn rehash_into(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, allocate(slots));
        for slot in old.into_iter().filter(|s| !s.is_empty()) {
            let mut at = self.home(slot.hash());
            while !self.slots[at].is_empty() {
                at = self.after(at);
            }
            self.slots[at] = slot;
        }
    }
}

/// Slots for `n` entries at a load of at most 3/4: probe runs stay short, and a million
/// entries take 32 MiB.
fn slots_for(n: usize) -> usize {
    (n + n / 3 + 1).max(16)
}

/// `n` empty slots, asking for huge pages before the memory is first touched. An empty slot is
/// all zero bytes, so zeroed memory is an empty table: fresh memory from the kernel needs no
/// second pass to clear it.
fn allocate(n: usize) -> Vec<Slot> {
    let layout = std::alloc::Layout::array::<Slot>(n).expect("a table fits in memory");
    // SAFETY: the layout is non-zero-sized (n ≥ 16); an all-zero `Slot` is a valid value; the
    // pointer comes from the global allocator with exactly this layout, as
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
        let mut model: HashMap<u128, u64> = HashMap::new();
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
            // Another tenth start their runs at the last slot, so that runs wrap round.
            let hash = if key % 10 == 0 {
                u128::from(key) << 64
            } else if key % 10 == 1 {
                (u128::from(key) << 64) | u128::from(u64::MAX)
            } else {
                u128::from(key).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
            };
            match step % 5 {
                0..=2 => {
                    table.insert(hash, step + 1);
                    model.insert(stored(hash), step + 1);
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
            table.insert(hash(i), i as u64);
        }
        table.reserve(10_000);
        let slots = table.slots.len();
        assert!(slots >= slots_for(10_100), "{slots}");
        table.reserve(5_000);
        assert_eq!(
            table.slots.len(),
            slots,
            "a reserve already met changes nothing"
        );
        for i in 1..=100u128 {
            assert_eq!(table.get(hash(i)), Some(i as u64));
        }
        for i in 101..=10_100u128 {
            table.insert(hash(i), i as u64);
        }
        assert_eq!(table.slots.len(), slots, "no growth after reserving");
        assert_eq!(table.len(), 10_100);
        assert_eq!(table.get(hash(5_000)), Some(5_000));
    }

    #[test]
    fn a_full_table_grows_by_half_again_not_by_the_entries_added() {
        let hash = |i: u128| i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
        let mut table = FingerprintTable::with_capacity(1_000);
        let slots = table.slots.len();
        for i in 1..=1_001u128 {
            table.insert(hash(i), i as u64);
        }
        assert!(
            table.slots.len() >= slots + slots / 2,
            "{}",
            table.slots.len()
        );
        let grown = table.slots.len();
        table.apply_many(&[(hash(5_000), Some(1))]);
        assert_eq!(
            table.slots.len(),
            grown,
            "one more entry fits in the growth"
        );
    }

    #[test]
    fn applying_many_changes_equals_applying_them_one_by_one() {
        let changes: Vec<(u128, Option<u64>)> = (0..20_000u128)
            .map(|i| {
                let hash = (i % 7_000).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
                (hash, (i % 5 != 0).then_some(i as u64 + 1))
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
    fn a_slot_is_24_bytes_and_a_million_entries_take_32_mib() {
        assert_eq!(std::mem::size_of::<Slot>(), 24);
        assert!(slots_for(1_000_000) * 24 <= 32 << 20);
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
