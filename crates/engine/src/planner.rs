//! Planning one page: map, recognise echoes, merge owned fields, diff, and collect the writes
//! and dead letters it needs. Pure apart from shadow look-ups for link merges.

use rayon::prelude::*;
use std::collections::HashMap;

use syncd_core::{Fingerprint, ReadItem, Record, RecordKey, WriteOp};
use syncd_store::shadow::HashKeyed;
use syncd_store::{
    dead_letters, link_base, DeadLetter, Held, ShadowIndex, Stage, Stamp, StateStore, StoreError,
};

use crate::config::PipelineConfig;
use crate::link::FieldPolicy;
use crate::mapping::{self, Mapped};
use crate::transform;

/// A write the plan needs, and the page items it accounts for once settled.
#[derive(Clone, Debug)]
pub struct Planned {
    /// The write.
    pub op: WriteOp,
    /// The upserted record's fingerprint (what the target's shadow will hold).
    pub fingerprint: Option<Fingerprint>,
    /// For a link: the shadow namespace that records the written record as the new base.
    pub link_base: Option<String>,
    /// The run's sequence number of the page the write comes from.
    pub page: u64,
    /// The 128-bit hash of the written key (what the target's shadow index is keyed by).
    pub key_hash: u128,
    /// Indices of the page items this write settles (several when a key repeats in a page).
    pub items: Items,
    /// The outbox call that holds this write, once it is about to go out.
    pub call: Option<Call>,
}

/// Where a write sits in the outbox: its call, and its number within the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// The outbox call id.
    pub id: u64,
    /// The write's number in this run (unique across calls).
    pub uid: u64,
}

/// The page items one write settles: nearly always one, so the first needs no allocation.
#[derive(Clone, Debug, Default)]
pub struct Items {
    first: Option<usize>,
    more: Vec<usize>,
}

impl Items {
    /// One page item.
    pub fn one(item: usize) -> Self {
        Items {
            first: Some(item),
            more: Vec::new(),
        }
    }

    /// Adds a page item.
    pub fn push(&mut self, item: usize) {
        match self.first {
            None => self.first = Some(item),
            Some(_) => self.more.push(item),
        }
    }

    /// The page items, in the order added.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.first.into_iter().chain(self.more.iter().copied())
    }
}

impl Planned {
    /// A write that settles no page item (replays, deletes, ranges).
    pub fn unattached(op: WriteOp) -> Self {
        let fingerprint = match &op {
            WriteOp::Upsert { record } => Some(record.fingerprint()),
            WriteOp::Delete { .. } | WriteOp::RemoveAllocations { .. } => None,
        };
        Planned {
            key_hash: op.key().hash128(),
            op,
            fingerprint,
            link_base: None,
            page: 0,
            items: Items::default(),
            call: None,
        }
    }
}

/// Everything one page needs.
#[derive(Debug, Default)]
pub struct PagePlan {
    /// Writes to make, one per key.
    pub writes: Vec<Planned>,
    /// Dead letters for unreadable rows and unmappable records, with their page item.
    pub dead: Vec<(usize, DeadLetter)>,
    /// Items settled already (unchanged, echoes, skipped).
    pub settled: Vec<usize>,
    /// Hashes of the keys the page contained, when a full snapshot deletes what it lacks.
    pub seen: Vec<u128>,
    /// Items read.
    pub read: u64,
    /// Items the target already held.
    pub unchanged: u64,
    /// Items that were echoes of our own writes.
    pub echoes: u64,
    /// Items skipped by a map.
    pub skipped: u64,
    /// Unowned fields both sides of a link changed.
    pub conflicts: u64,
    /// The records they were found in, for the conflict log.
    pub conflict_log: Vec<syncd_store::conflicts::Conflict>,
    /// Link bases to bring up to date where both sides already agree.
    pub base_updates: Vec<Record>,
    /// Logical timestamps of fulfillment events seen: (location, timestamp, what it is).
    pub stamps: Vec<(String, u64, Stamp)>,
    /// The lives of the fulfillment items those events named: (item ref, life).
    pub lives: Vec<(String, syncd_store::logical::ItemLife)>,
}

/// What a link pipeline plans against: its merge policy and the target's live records.
pub struct LinkView<'a> {
    /// The merge policy.
    pub policy: &'a FieldPolicy,
    /// The target's records as read at the start of the run.
    pub live: &'a HashMap<RecordKey, Record>,
}

/// Plans pages for one pipeline.
pub struct Planner<'a> {
    /// The pipeline.
    pub config: &'a PipelineConfig,
    /// The state store (for the target's shadowed records when merging owned fields).
    pub store: &'a dyn StateStore,
    /// Per scope, the logical timestamps whose allocations the target removed, read once a
    /// page rather than once an event (see `stamps`).
    pub(crate) removed: std::sync::Mutex<HashMap<String, syncd_store::logical::Ranges>>,
    /// The catalog the pipeline's SKUs must be in (`require_catalog`), with its name.
    pub(crate) catalog: Option<(&'a str, &'a dyn syncd_core::Catalog)>,
}

/// How a catalog-guard dead letter's error begins: the next run looks for these.
pub const UNKNOWN_SKU: &str = "unknown sku";

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl<'a> Planner<'a> {
    /// A planner of `config`'s pages over `store`.
    pub fn new(config: &'a PipelineConfig, store: &'a dyn StateStore) -> Self {
        Planner {
            config,
            store,
            removed: Default::default(),
            catalog: None,
        }
    }
}

impl Planner<'_> {
    /// A dead letter of this pipeline.
    pub fn dead_letter(&self, stage: Stage, id: String, error: String) -> DeadLetter {
        DeadLetter {
            id,
            pipeline: self.config.name.clone(),
            stage,
            key: None,
            origin: None,
            record: None,
            raw: None,
            error,
            attempts: 0,
            at: now(),
        }
    }

    /// Plans one page against the target's shadow index (or, on a link, its live records).
    pub fn plan_page(
        &self,
        items: Vec<ReadItem>,
        target_index: &ShadowIndex,
        link: Option<&LinkView<'_>>,
    ) -> Result<PagePlan, StoreError> {
        let mut plan = PagePlan::default();
        let mut items = items;
        // A record as read is diffed where it lies in the page (most records of a re-export
        // are unchanged: nothing of them is moved or copied); only records the pipeline maps,
        // expands, guards or deletes are taken out.
        let in_place = self.config.write_as.is_none()
            && self.catalog.is_none()
            && self.config.maps.sku.is_empty()
            && self.config.maps.location.is_empty();
        // 1. In order: unreadable rows, stamps, expansion, maps; what is left is to diff.
        let mut candidates: Vec<Candidate> = Vec::with_capacity(items.len());
        // Page items that are tombstones (rare: a small set beside the hot path).
        let mut tombstones: std::collections::HashSet<usize> = Default::default();
        for (index, item) in items.iter_mut().enumerate() {
            plan.read += 1;
            let deleted = item.deleted;
            if in_place && !deleted {
                if let Ok(r) = &item.record {
                    if r.entity() == self.config.entity {
                        if let Record::FulfillmentEvent(event) = r {
                            self.stamp(&mut plan, event)?;
                        }
                        candidates.push(Candidate::InPlace(index));
                        continue;
                    }
                }
            }
            let record = match std::mem::replace(&mut item.record, Err(taken())) {
                Err(row) => {
                    let mut dl = self.dead_letter(
                        Stage::Read,
                        dead_letters::row_id(&row.origin),
                        row.error.clone(),
                    );
                    dl.origin = Some(row.origin);
                    dl.raw = Some(row.raw);
                    plan.dead.push((index, dl));
                    continue;
                }
                Ok(r) if r.entity() != self.config.entity => {
                    let key = r.key();
                    let mut dl = self.dead_letter(
                        Stage::Read,
                        dead_letters::record_id(key.as_str()),
                        format!(
                            "source sent a {} where {} was expected",
                            r.entity(),
                            self.config.entity
                        ),
                    );
                    dl.key = Some(key.to_string());
                    dl.record = Some(r);
                    plan.dead.push((index, dl));
                    continue;
                }
                Ok(r) => r,
            };
            if deleted {
                // A tombstone deletes the record as it is known to the target: mapped, not
                // expanded (what an expanded record was is not kept) and not stamped.
                if self.config.write_as.is_some() {
                    plan.skipped += 1;
                    plan.settled.push(index);
                } else if let Some(record) = self.map_record(&mut plan, index, record) {
                    tombstones.insert(index);
                    candidates.push(Candidate::Owned(index, record));
                }
                continue;
            }
            if let Record::FulfillmentEvent(event) = &record {
                self.stamp(&mut plan, event)?;
            }
            let Some(kind) = self.config.write_as else {
                let original = self.catalog.is_some().then(|| record.clone());
                if let Some(record) = self.map_record(&mut plan, index, record) {
                    if let Some(record) = self.guard(&mut plan, index, original, record)? {
                        candidates.push(Candidate::Owned(index, record));
                    }
                }
                continue;
            };
            let key = record.key();
            let records = match transform::expand(record, kind) {
                Ok(records) => records,
                Err(why) => {
                    let mut dl =
                        self.dead_letter(Stage::Map, dead_letters::record_id(key.as_str()), why);
                    dl.key = Some(key.to_string());
                    plan.dead.push((index, dl));
                    continue;
                }
            };
            if records.is_empty() {
                plan.settled.push(index);
                continue;
            }
            for record in records {
                if let Some(record) = self.map_record(&mut plan, index, record) {
                    candidates.push(Candidate::Owned(index, record));
                }
            }
        }
        // 2. Key hashes, fingerprints and what the target holds: the costly part, on every
        //    core for a large page.
        let facts = {
            let records: Vec<&Record> = candidates.iter().map(|c| c.record(&items)).collect();
            facts_of(&records, target_index)
        };
        // Room for every write the facts foresee (all of a cold page, few of a re-export):
        // growing the vector would move every write made so far again.
        let foreseen = facts.iter().filter(|f| !f.held_as_is()).count();
        plan.writes.reserve(foreseen);
        let full_deletes =
            self.config.delete_missing && self.config.mode == crate::config::Mode::Full;
        // 3. In order again: a later row of a key wins; diff or merge.
        let mut by_key: HashKeyed<usize> = HashKeyed::default();
        for (candidate, facts) in candidates.into_iter().zip(facts) {
            let (index, record) = match candidate {
                Candidate::InPlace(index) => {
                    // Unchanged, and no earlier row of the page planned a write of its key:
                    // settled where it lies.
                    if link.is_none() && facts.held_as_is() && !by_key.contains_key(&facts.hash) {
                        if full_deletes {
                            plan.seen.push(facts.hash);
                        }
                        plan.unchanged += 1;
                        plan.settled.push(index);
                        continue;
                    }
                    match std::mem::replace(&mut items[index].record, Err(taken())) {
                        Ok(record) => (index, record),
                        Err(_) => unreachable!("an in-place candidate holds its record"),
                    }
                }
                Candidate::Owned(index, record) => (index, record),
            };
            if tombstones.contains(&index) {
                self.plan_tombstone(&mut plan, &mut by_key, index, record, facts, link);
                continue;
            }
            self.plan_record(&mut plan, &mut by_key, index, record, facts, link)?;
        }
        Ok(plan)
    }

    /// Holds back a record of a SKU the required catalog does not know, as a dead letter that
    /// keeps the record as read (`original`); the record otherwise.
    fn guard(
        &self,
        plan: &mut PagePlan,
        index: usize,
        original: Option<Record>,
        record: Record,
    ) -> Result<Option<Record>, StoreError> {
        let Some((name, catalog)) = self.catalog else {
            return Ok(Some(record));
        };
        let Some(sku) = record.sku() else {
            return Ok(Some(record));
        };
        let known = catalog
            .knows_sku(sku)
            .map_err(|message| StoreError::Backend {
                dir: format!("catalog `{name}`"),
                message,
            })?;
        if known {
            return Ok(Some(record));
        }
        let key = record.key();
        let mut dl = self.dead_letter(
            Stage::Map,
            dead_letters::record_id(key.as_str()),
            format!(
                "{UNKNOWN_SKU} `{sku}`: catalog `{name}` has no such product; replayed once it has"
            ),
        );
        dl.key = Some(key.to_string());
        dl.record = Some(original.unwrap_or(record));
        plan.dead.push((index, dl));
        Ok(None)
    }

    /// Applies the maps to one record of page item `index`; `None` when it was skipped or
    /// dead-lettered.
    fn map_record(&self, plan: &mut PagePlan, index: usize, record: Record) -> Option<Record> {
        let maps = &self.config.maps;
        if maps.sku.is_empty() && maps.location.is_empty() {
            return Some(record);
        }
        // The record as read goes into a dead letter if a map refuses it: keep it only then.
        let original = ((!maps.sku.is_empty() || !maps.location.is_empty())
            && maps.unmapped == crate::config::Unmapped::DeadLetter)
            .then(|| record.clone());
        match mapping::apply(maps, record) {
            Mapped::Record(r) => Some(r),
            Mapped::Skipped => {
                plan.skipped += 1;
                plan.settled.push(index);
                None
            }
            Mapped::Unmapped(why) => {
                let record = original.expect("kept when a map can refuse");
                let key = record.key();
                let mut dl =
                    self.dead_letter(Stage::Map, dead_letters::record_id(key.as_str()), why);
                dl.key = Some(key.to_string());
                dl.record = Some(record);
                plan.dead.push((index, dl));
                None
            }
        }
    }

    /// Plans the tombstone of page item `index`: a delete when the target holds the record
    /// (or an earlier row of the page planned a write of it), nothing otherwise.
    fn plan_tombstone(
        &self,
        plan: &mut PagePlan,
        by_key: &mut HashKeyed<usize>,
        index: usize,
        record: Record,
        facts: Facts,
        link: Option<&LinkView<'_>>,
    ) {
        let hash = facts.hash;
        let key = record.key();
        let held = match link {
            Some(view) => view.live.contains_key(&key),
            None => facts.held.is_some(),
        };
        let earlier = by_key.get(&hash).copied();
        if earlier.is_none() && !held {
            plan.unchanged += 1;
            plan.settled.push(index);
            return;
        }
        let planned = Planned {
            op: WriteOp::Delete {
                key,
                entity: self.config.write_as.unwrap_or(self.config.entity),
            },
            fingerprint: None,
            link_base: None,
            page: 0,
            key_hash: hash,
            items: Items::one(index),
            call: None,
        };
        if let Some(at) = earlier {
            let mut items = std::mem::take(&mut plan.writes[at].items);
            items.push(index);
            plan.writes[at] = Planned { items, ..planned };
            return;
        }
        by_key.insert(hash, plan.writes.len());
        plan.writes.push(planned);
    }

    /// Plans one mapped record of page item `index`: merge, diff.
    fn plan_record(
        &self,
        plan: &mut PagePlan,
        by_key: &mut HashKeyed<usize>,
        index: usize,
        record: Record,
        facts: Facts,
        link: Option<&LinkView<'_>>,
    ) -> Result<(), StoreError> {
        let hash = facts.hash;
        if self.config.delete_missing && self.config.mode == crate::config::Mode::Full {
            plan.seen.push(hash);
        }
        let (to_write, link_base) = match link {
            Some(view) => {
                let namespace = view.policy.base_namespace();
                let key = record.key();
                let live = view.live.get(&key);
                let base = link_base::get(self.store, &namespace, self.config.entity, &key)?;
                let merge = view
                    .policy
                    .merge(&record, live, base.as_ref().map(|b| &b.record));
                if !merge.conflicts.is_empty() {
                    plan.conflicts += merge.conflicts.len() as u64;
                    plan.conflict_log.push(syncd_store::conflicts::Conflict {
                        link: view.policy.link.clone(),
                        pipeline: self.config.name.clone(),
                        key: key.to_string(),
                        at: now(),
                        fields: merge.conflicts.clone(),
                    });
                }
                let merged_fp = merge.record.fingerprint();
                if !by_key.contains_key(&hash) && live.map(Record::fingerprint) == Some(merged_fp) {
                    // Both sides agree already; an unchanged source record is an echo of
                    // the last sync (or of our own write).
                    if base.as_ref().map(|b| b.fingerprint) == Some(facts.fingerprint) {
                        plan.echoes += 1;
                    } else {
                        plan.unchanged += 1;
                    }
                    if base.as_ref().map(|b| b.fingerprint) != Some(merged_fp) {
                        plan.base_updates.push(merge.record);
                    }
                    plan.settled.push(index);
                    return Ok(());
                }
                (merge.record, Some(namespace))
            }
            None => (record, None),
        };
        let fingerprint = match link {
            Some(_) => to_write.fingerprint(),
            None => facts.fingerprint,
        };
        let earlier = by_key.get(&hash).copied();
        // Unchanged, and no earlier row of the page planned a write for the key: nothing to
        // build (most records of a re-export end here).
        if earlier.is_none() && link.is_none() && facts.held_as_is() {
            plan.unchanged += 1;
            plan.settled.push(index);
            return Ok(());
        }
        let planned = Planned {
            op: WriteOp::Upsert { record: to_write },
            fingerprint: Some(fingerprint),
            link_base,
            page: 0,
            key_hash: hash,
            items: Items::one(index),
            call: None,
        };
        // A later row for a key already planned in this page wins, even if it equals the
        // shadow: the earlier row's write must not be what the target ends up with.
        if let Some(at) = earlier {
            let mut items = std::mem::take(&mut plan.writes[at].items);
            items.push(index);
            plan.writes[at] = Planned { items, ..planned };
            return Ok(());
        }
        by_key.insert(hash, plan.writes.len());
        plan.writes.push(planned);
        Ok(())
    }
}

/// A record to diff: still in its page item, or taken out (mapped, expanded, a tombstone).
enum Candidate {
    /// The record of page item `0`, as read.
    InPlace(usize),
    /// A record made from page item `0`.
    Owned(usize, Record),
}

impl Candidate {
    fn record<'a>(&'a self, items: &'a [ReadItem]) -> &'a Record {
        match self {
            Candidate::InPlace(i) => match &items[*i].record {
                Ok(r) => r,
                Err(_) => unreachable!("an in-place candidate holds its record"),
            },
            Candidate::Owned(_, r) => r,
        }
    }
}

/// What a page item holds once its record was taken out (allocates nothing).
fn taken() -> syncd_core::RejectedRow {
    syncd_core::RejectedRow {
        origin: String::new(),
        raw: String::new(),
        error: String::new(),
    }
}

/// What diffing one record needs, computed ahead of the in-order pass.
#[derive(Clone, Copy)]
struct Facts {
    hash: u128,
    fingerprint: Fingerprint,
    /// What the target's shadow holds at the key.
    held: Option<Held>,
}

impl Facts {
    /// Whether the target's shadow holds exactly this content at the key.
    fn held_as_is(&self) -> bool {
        self.held.is_some_and(|h| h.is(self.fingerprint))
    }
}

/// Records a thread takes at a time: enough to amortize handing work out, few enough that
/// both cores stay busy to the end of a page.
const FACTS_PER_TASK: usize = 1_024;

fn facts_of(records: &[&Record], index: &ShadowIndex) -> Vec<Facts> {
    let compute = |chunk: &[&Record]| -> Vec<Facts> {
        let hashes: Vec<u128> = chunk.iter().map(|r| r.key_hash()).collect();
        let held = index.get_many(&hashes);
        chunk
            .iter()
            .zip(hashes)
            .zip(held)
            .map(|((r, hash), held)| Facts {
                hash,
                fingerprint: r.fingerprint(),
                held,
            })
            .collect()
    };
    if records.len() <= FACTS_PER_TASK {
        return compute(records);
    }
    records
        .par_chunks(FACTS_PER_TASK)
        .flat_map_iter(compute)
        .collect()
}
