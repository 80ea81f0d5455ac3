//! Shadows: what each connector holds, kept compact. A shadow is a sequence of pages, each a
//! packed list of (key hash, fingerprint, key); a later page's entry for a hash replaces an
//! earlier one, and a zero fingerprint is a tombstone. One acknowledgement appends one page, so
//! writing costs what changed; [`compact`] folds the pages into as few as possible when
//! superseded entries pile up.
//!
//! A sink that stages its writes (see `Sink::stages_writes`) appends its pages as *pending*:
//! they are ignored until [`promote_pending`] makes them live in one small commit after the
//! sink's `finish`, and [`discard_pending`] drops what an interrupted run left.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use syncd_core::{EntityKind, Fingerprint, RecordKey};

use crate::batch::WriteBatch;
use crate::error::StoreError;
use crate::fingerprint_table::{digest, FingerprintTable};
use crate::keys;
use crate::store::{StateStore, Tree};

/// Entries per page at most: keeps a page's value a few MiB at most.
pub const PAGE_ENTRIES: usize = 16_384;

/// A key's 128-bit hash: what the shadow index is keyed by.
pub fn key_hash(key: &RecordKey) -> u128 {
    key.hash128()
}

/// A map keyed by key hashes, hashed by passing them through.
pub type HashKeyed<V> = HashMap<u128, V, BuildHasherDefault<KeyHasher>>;

/// Passes a key hash through: it is already uniformly distributed.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(29) ^ u64::from_le_bytes(word);
        }
    }

    fn write_u128(&mut self, v: u128) {
        self.0 = (v as u64) ^ ((v >> 64) as u64);
    }
}

/// Fingerprints by key hash: all the engine needs to tell changed from unchanged.
///
/// Keyed by a 128-bit hash of the record key rather than the key itself, so that a look-up in a
/// million-entry index touches one slot instead of a slot and a heap string.
#[derive(Clone, Debug, Default)]
pub struct ShadowIndex {
    table: FingerprintTable,
}

/// What a shadow holds for a key: 64 bits of the fingerprint last written there, enough to
/// tell whether a record is that content (see [`ShadowIndex`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held(u64);

impl Held {
    /// What a shadow holds once content `fp` was written.
    pub fn of(fp: Fingerprint) -> Self {
        Held(digest(fp.0))
    }

    /// True when `fp` is the content held.
    pub fn is(self, fp: Fingerprint) -> bool {
        self.0 == digest(fp.0)
    }
}

impl ShadowIndex {
    /// An index that holds `n` keys without growing.
    pub fn with_capacity(n: usize) -> Self {
        ShadowIndex {
            table: FingerprintTable::with_capacity(n),
        }
    }

    /// What is held for `key`.
    pub fn get(&self, key: &RecordKey) -> Option<Held> {
        self.get_hashed(key_hash(key))
    }

    /// What is held for the key with hash `hash` (see `Record::key_hash`).
    pub fn get_hashed(&self, hash: u128) -> Option<Held> {
        self.table.get(hash).map(Held)
    }

    /// What is held for each of `hashes`, in order (faster than one at a time).
    pub fn get_many(&self, hashes: &[u128]) -> Vec<Option<Held>> {
        self.table
            .get_many(hashes)
            .into_iter()
            .map(|fp| fp.map(Held))
            .collect()
    }

    /// Applies changes in order, by key hash: `Some(fp)` now held, `None` gone (faster than one
    /// at a time for many).
    pub fn apply_many(&mut self, changes: &[(u128, Option<u128>)]) {
        let digests: Vec<(u128, Option<u64>)> = changes
            .iter()
            .map(|&(hash, fp)| (hash, fp.map(digest)))
            .collect();
        self.table.apply_many(&digests);
    }

    /// Makes room for `additional` more keys without growing on the way.
    pub fn reserve(&mut self, additional: usize) {
        self.table.reserve(additional);
    }

    /// Records that `key` now holds content `fp`.
    pub fn insert(&mut self, key: &RecordKey, fp: Fingerprint) {
        self.insert_hashed(key_hash(key), fp);
    }

    /// Records that the key with hash `hash` now holds content `fp`.
    pub fn insert_hashed(&mut self, hash: u128, fp: Fingerprint) {
        self.table.insert(hash, digest(fp.0));
    }

    /// Records that `key` is gone.
    pub fn remove(&mut self, key: &RecordKey) {
        self.table.remove(key_hash(key));
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// The key hashes held.
    pub fn hashes(&self) -> impl Iterator<Item = u128> + '_ {
        self.table.hashes()
    }
}

/// Entries for one page of a shadow. Stored sorted by key, each key front-coded against the one
/// before it (keys of one entity share long prefixes), then 64 bits of its fingerprint (see
/// [`Held`]): about 15 bytes a stock position. The key hash is not stored: it is the key's XXH3,
/// recomputed on load.
///
/// A page's first four bytes are its entry count, with [`DIGEST_PAGE`] set. Pages of schema 2,
/// without it, hold whole 16-byte fingerprints: they are read as they are, and rewritten in
/// this layout when the shadow is next compacted.
#[derive(Clone, Debug, Default)]
pub struct ShadowPage {
    /// Every entry's key, back to back: one buffer, not one allocation a key.
    keys: Vec<u8>,
    /// Each entry's key (start and length in `keys`) and digest, in the order recorded.
    entries: Vec<(u32, u32, u64)>,
}

/// The digest that marks a deleted key (no fingerprint's digest is zero).
const TOMBSTONE: u64 = 0;

/// Set in a page's entry count when its entries hold 8-byte digests rather than schema 2's
/// 16-byte fingerprints.
const DIGEST_PAGE: u32 = 1 << 31;

fn put_varint(out: &mut Vec<u8>, mut v: usize) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> Option<usize> {
    let mut v = 0usize;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        v |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

impl ShadowPage {
    /// Records that the target holds `key` with content `fp`.
    pub fn upsert(&mut self, key: &RecordKey, fp: Fingerprint) {
        self.upsert_with(|out| out.extend_from_slice(key.as_str().as_bytes()), fp);
    }

    /// Records that the target holds the record `write_key` appends the key of, with content
    /// `fp` (the key goes straight into the page's buffer).
    pub fn upsert_with(&mut self, write_key: impl FnOnce(&mut Vec<u8>), fp: Fingerprint) {
        self.push_with(write_key, digest(fp.0));
    }

    /// Records that the target no longer holds `key`.
    pub fn delete(&mut self, key: &RecordKey) {
        self.push_with(
            |out| out.extend_from_slice(key.as_str().as_bytes()),
            TOMBSTONE,
        );
    }

    fn push_with(&mut self, write_key: impl FnOnce(&mut Vec<u8>), fp: u64) {
        let start = self.keys.len();
        write_key(&mut self.keys);
        let len = self.keys.len() - start;
        self.entries.push((
            u32::try_from(start).expect("a page's keys fit in 4 GiB"),
            u32::try_from(len).expect("a key fits in 4 GiB"),
            fp,
        ));
    }

    /// Moves `other`'s entries to the end of this page (they win over this page's).
    pub fn append(&mut self, other: ShadowPage) {
        let base = u32::try_from(self.keys.len()).expect("a page's keys fit in 4 GiB");
        self.keys.extend_from_slice(&other.keys);
        self.entries.extend(
            other
                .entries
                .into_iter()
                .map(|(start, len, fp)| (start + base, len, fp)),
        );
    }

    /// How many entries the page holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the page holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The packed bytes, as stored.
    pub fn into_bytes(self) -> Vec<u8> {
        let ShadowPage { keys, mut entries } = self;
        let key = |e: &(u32, u32, u64)| &keys[e.0 as usize..(e.0 + e.1) as usize];
        // Stable: of two entries for one key, the later one stays later and wins on load.
        entries.sort_by(|a, b| key(a).cmp(key(b)));
        let mut out = Vec::with_capacity(4 + entries.len() * 16);
        // The count first: a reader sizes its index before it decodes anything.
        let count = u32::try_from(entries.len())
            .ok()
            .filter(|n| n & DIGEST_PAGE == 0)
            .expect("a page holds fewer than 2^31 entries");
        out.extend_from_slice(&(count | DIGEST_PAGE).to_le_bytes());
        let mut previous: &[u8] = &[];
        for entry in &entries {
            let key = key(entry);
            let shared = previous.iter().zip(key).take_while(|(a, b)| a == b).count();
            put_varint(&mut out, shared);
            put_varint(&mut out, key.len() - shared);
            out.extend_from_slice(&key[shared..]);
            out.extend_from_slice(&entry.2.to_le_bytes());
            previous = key;
        }
        out
    }
}

/// A stored page's entry count word, if it has one.
fn count_word(bytes: &[u8]) -> Option<u32> {
    bytes
        .get(..4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
}

/// How many entries a stored page says it holds.
fn entry_count(bytes: &[u8]) -> usize {
    count_word(bytes).map_or(0, |w| (w & !DIGEST_PAGE) as usize)
}

/// One decoded entry of a page.
struct Entry<'a> {
    hash: u128,
    /// The fingerprint's digest; `None` for a tombstone.
    fp: Option<u64>,
    key: &'a [u8],
}

/// Decodes a page, handing each entry to `visit` in stored order.
fn for_each_entry(
    page_key: &[u8],
    bytes: &[u8],
    mut visit: impl FnMut(Entry<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let damaged = || corrupt(page_key, "page ends inside an entry");
    let mut key: Vec<u8> = Vec::with_capacity(64);
    let mut at = 4;
    let count = count_word(bytes).ok_or_else(|| corrupt(page_key, "page has no entry count"))?;
    let width = match count & DIGEST_PAGE {
        0 => 16,
        _ => 8,
    };
    while at < bytes.len() {
        let shared = get_varint(bytes, &mut at).ok_or_else(damaged)?;
        let suffix = get_varint(bytes, &mut at).ok_or_else(damaged)?;
        if shared > key.len() {
            return Err(corrupt(
                page_key,
                "an entry shares more than the key before it",
            ));
        }
        key.truncate(shared);
        key.extend_from_slice(bytes.get(at..at + suffix).ok_or_else(damaged)?);
        at += suffix;
        let stored = bytes.get(at..at + width).ok_or_else(damaged)?;
        at += width;
        let fp = match width {
            8 => u64::from_le_bytes(stored.try_into().expect("8 bytes")),
            // Schema 2: a whole fingerprint, zero for a tombstone.
            _ => match u128::from_le_bytes(stored.try_into().expect("16 bytes")) {
                0 => TOMBSTONE,
                fp => digest(fp),
            },
        };
        visit(Entry {
            hash: xxhash_rust::xxh3::xxh3_128(&key),
            fp: (fp != TOMBSTONE).then_some(fp),
            key: &key,
        })?;
    }
    Ok(())
}

fn base(connector: &str, entity: EntityKind) -> Vec<u8> {
    keys::prefix(&[connector.as_bytes(), entity.as_str().as_bytes()])
}

fn page_key(connector: &str, entity: EntityKind, seq: u64) -> Vec<u8> {
    let mut k = base(connector, entity);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Pending markers live apart from pages, under a prefix no connector name can start with.
fn pending_base(connector: &str, entity: EntityKind) -> Vec<u8> {
    keys::prefix(&[
        b"\x01pending",
        connector.as_bytes(),
        entity.as_str().as_bytes(),
    ])
}

fn pending_key(connector: &str, entity: EntityKind, seq: u64) -> Vec<u8> {
    let mut k = pending_base(connector, entity);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn seq_of(k: &[u8], prefix: &[u8]) -> Result<u64, StoreError> {
    k.strip_prefix(prefix)
        .and_then(|rest| <[u8; 8]>::try_from(rest).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| corrupt(k, "not a shadow page key"))
}

fn corrupt(key: &[u8], message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        tree: Tree::Shadow.name(),
        key: keys::printable(key),
        message: message.into(),
    }
}

fn pending(
    store: &dyn StateStore,
    connector: &str,
    entity: EntityKind,
) -> Result<HashSet<u64>, StoreError> {
    let prefix = pending_base(connector, entity);
    store
        .scan_prefix(Tree::Shadow, &prefix)
        .map(|pair| seq_of(&pair?.0, &prefix))
        .collect()
}

/// Visits every live page of a shadow in the order it was written, lent by the store rather
/// than copied out (the pages a staging sink has not finished are not live yet).
fn for_each_page(
    store: &dyn StateStore,
    connector: &str,
    entity: EntityKind,
    mut visit: impl FnMut(&[u8], &[u8]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let skip = pending(store, connector, entity)?;
    let prefix = base(connector, entity);
    store.visit_prefix(Tree::Shadow, &prefix, &mut |k, v| {
        if skip.contains(&seq_of(k, &prefix)?) {
            return Ok(());
        }
        visit(k, v)
    })
}

/// Loads every fingerprint of `connector`'s `entity` shadow.
pub fn load_index(
    store: &dyn StateStore,
    connector: &str,
    entity: EntityKind,
) -> Result<ShadowIndex, StoreError> {
    load_index_and_size(store, connector, entity).map(|(index, _)| index)
}

/// [`load_index`], and the size of what it read: what [`compact`] decides on, without reading
/// the shadow again.
pub fn load_index_and_size(
    store: &dyn StateStore,
    connector: &str,
    entity: EntityKind,
) -> Result<(ShadowIndex, ShadowSize), StoreError> {
    // Sized first, from the pages' entry counts, so that the table is allocated once.
    let (mut pages, mut stored) = (0, 0);
    for_each_page(store, connector, entity, |_, v| {
        pages += 1;
        stored += entry_count(v);
        Ok(())
    })?;
    let mut index = ShadowIndex::with_capacity(stored);
    // Decoding (front coding, key hashes) on one thread, inserting on this one: the two halves of
    // loading take about as long as each other.
    let (decoded, decoded_rx) = std::sync::mpsc::sync_channel::<Vec<(u128, Option<u64>)>>(4);
    let (spare, spare_rx) = std::sync::mpsc::channel::<Vec<(u128, Option<u64>)>>();
    std::thread::scope(|scope| {
        let decoder = scope.spawn(move || -> Result<(), StoreError> {
            for_each_page(store, connector, entity, |k, v| {
                let mut changes = spare_rx
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(PAGE_ENTRIES));
                changes.clear();
                for_each_entry(k, v, |entry| {
                    changes.push((entry.hash, entry.fp));
                    Ok(())
                })?;
                // The inserter only hangs up when it panicked, which the join below reports.
                let _ = decoded.send(changes);
                Ok(())
            })
        });
        for changes in decoded_rx {
            index.table.apply_many(&changes);
            let _ = spare.send(changes);
        }
        decoder
            .join()
            .expect("decoding a shadow page does not panic")
    })?;
    let size = ShadowSize {
        pages,
        stored,
        held: index.len(),
    };
    Ok((index, size))
}

/// What `connector` holds for `record_key`, if anything (a scan: for a few look-ups, load the
/// index for many).
pub fn get(
    store: &dyn StateStore,
    connector: &str,
    entity: EntityKind,
    record_key: &RecordKey,
) -> Result<Option<Held>, StoreError> {
    let wanted = key_hash(record_key);
    let mut found = None;
    for_each_page(store, connector, entity, |k, v| {
        for_each_entry(k, v, |entry| {
            if entry.hash == wanted {
                found = entry.fp.map(Held);
            }
            Ok(())
        })
    })?;
    Ok(found)
}

/// The keys of `connector`'s `entity` shadow whose hashes are in `wanted`, sorted.
pub fn keys_for_hashes(
    store: &dyn StateStore,
    connector: &str,
    entity: EntityKind,
    wanted: &HashSet<u128>,
) -> Result<Vec<RecordKey>, StoreError> {
    let mut held: HashKeyed<Option<String>> = HashKeyed::default();
    for_each_page(store, connector, entity, |k, v| {
        for_each_entry(k, v, |entry| {
            if wanted.contains(&entry.hash) {
                let key =
                    std::str::from_utf8(entry.key).map_err(|_| corrupt(k, "key is not UTF-8"))?;
                held.insert(entry.hash, entry.fp.map(|_| key.to_string()));
            }
            Ok(())
        })
    })?;
    let mut keys: Vec<RecordKey> = held
        .into_values()
        .flatten()
        .map(RecordKey::from_raw)
        .collect();
    keys.sort();
    Ok(keys)
}

/// Appends `page` to `connector`'s `entity` shadow in `batch`; nothing when it is empty.
pub fn append(
    store: &dyn StateStore,
    batch: &mut WriteBatch,
    connector: &str,
    entity: EntityKind,
    page: ShadowPage,
) -> Result<(), StoreError> {
    put_page(store, batch, connector, entity, page, false)
}

/// Appends `page` as pending: ignored until [`promote_pending`].
pub fn append_pending(
    store: &dyn StateStore,
    batch: &mut WriteBatch,
    connector: &str,
    entity: EntityKind,
    page: ShadowPage,
) -> Result<(), StoreError> {
    put_page(store, batch, connector, entity, page, true)
}

fn put_page(
    store: &dyn StateStore,
    batch: &mut WriteBatch,
    connector: &str,
    entity: EntityKind,
    page: ShadowPage,
    pending: bool,
) -> Result<(), StoreError> {
    if page.is_empty() {
        return Ok(());
    }
    let seq = store.next_id()?;
    if pending {
        batch.put(
            Tree::Shadow,
            pending_key(connector, entity, seq),
            Vec::new(),
        );
    }
    batch.put(
        Tree::Shadow,
        page_key(connector, entity, seq),
        page.into_bytes(),
    );
    Ok(())
}

/// Makes every pending page of the shadow live, in `batch`.
pub fn promote_pending(
    store: &dyn StateStore,
    batch: &mut WriteBatch,
    connector: &str,
    entity: EntityKind,
) -> Result<(), StoreError> {
    for seq in pending(store, connector, entity)? {
        batch.delete(Tree::Shadow, pending_key(connector, entity, seq));
    }
    Ok(())
}

/// Drops every pending page of the shadow (what a staged run that never finished left), in
/// `batch`.
pub fn discard_pending(
    store: &dyn StateStore,
    batch: &mut WriteBatch,
    connector: &str,
    entity: EntityKind,
) -> Result<(), StoreError> {
    for seq in pending(store, connector, entity)? {
        batch.delete(Tree::Shadow, pending_key(connector, entity, seq));
        batch.delete(Tree::Shadow, page_key(connector, entity, seq));
    }
    Ok(())
}

/// Page and entry counts of a shadow, to decide on compaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShadowSize {
    /// Live pages.
    pub pages: usize,
    /// Entries stored across them, superseded ones included.
    pub stored: usize,
    /// Keys held.
    pub held: usize,
}

impl ShadowSize {
    /// Counts one more page of `entries` appended.
    pub fn grown(&mut self, entries: usize) {
        if entries > 0 {
            self.pages += 1;
            self.stored += entries;
        }
    }

    /// True when rewriting would save enough to be worth it: many small pages, or a third of
    /// the entries superseded.
    pub fn worth_compacting(&self) -> bool {
        let ideal_pages = self.held.div_ceil(PAGE_ENTRIES).max(1);
        self.pages > ideal_pages + 64 || self.stored > self.held + self.held / 2 + 1024
    }
}

/// Rewrites the shadow as the fewest pages that hold what it holds, in `batch` (one atomic
/// commit), when `size` (kept up to date by the caller since [`load_index_and_size`]) says it
/// is [`ShadowSize::worth_compacting`]; otherwise reads nothing. True when it rewrote.
pub fn compact(
    store: &dyn StateStore,
    batch: &mut WriteBatch,
    connector: &str,
    entity: EntityKind,
    size: ShadowSize,
) -> Result<bool, StoreError> {
    if !size.worth_compacting() {
        return Ok(false);
    }
    // Keep the last entry per hash, in one pass that holds only live keys.
    let mut live: HashKeyed<(u64, Box<str>)> = HashKeyed::default();
    live.reserve(size.held);
    let mut superseded = Vec::with_capacity(size.pages);
    for_each_page(store, connector, entity, |k, v| {
        superseded.push(k.to_vec());
        for_each_entry(k, v, |entry| {
            match entry.fp {
                Some(fp) => {
                    let key = std::str::from_utf8(entry.key)
                        .map_err(|_| corrupt(k, "key is not UTF-8"))?;
                    live.insert(entry.hash, (fp, key.into()));
                }
                None => {
                    live.remove(&entry.hash);
                }
            }
            Ok(())
        })
    })?;
    for k in superseded {
        batch.delete(Tree::Shadow, k);
    }
    // Key order across pages too: front coding then shares the most.
    let mut held: Vec<(Box<str>, u64)> = live.into_values().map(|(fp, key)| (key, fp)).collect();
    held.sort_unstable();
    let mut page = ShadowPage::default();
    for (key, fp) in held {
        page.push_with(|out| out.extend_from_slice(key.as_bytes()), fp);
        if page.len() == PAGE_ENTRIES {
            append(store, batch, connector, entity, std::mem::take(&mut page))?;
        }
    }
    append(store, batch, connector, entity, page)?;
    Ok(true)
}
