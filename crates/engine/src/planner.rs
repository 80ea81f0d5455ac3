//! Planning one page: map, recognise echoes, merge owned fields, diff, and collect the writes
//! and dead letters it needs. Pure apart from shadow look-ups for link merges.

use std::collections::HashMap;

use syncd_core::{Fingerprint, ReadItem, Record, RecordKey, WriteOp};
use syncd_store::{dead_letters, shadow, DeadLetter, ShadowIndex, StateStore, StoreError};

use crate::config::PipelineConfig;
use crate::diff;
use crate::link::FieldPolicy;
use crate::mapping::{self, Mapped};

/// A write the plan needs, and the page items it accounts for once settled.
#[derive(Clone, Debug)]
pub struct Planned {
    /// The write.
    pub op: WriteOp,
    /// The upserted record's fingerprint (what the target's shadow will hold).
    pub fingerprint: Option<Fingerprint>,
    /// The source record as read, for the source-side shadow of a link.
    pub source_record: Option<Record>,
    /// Indices of the page items this write settles (several when a key repeats in a page).
    pub items: Vec<usize>,
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
    /// Keys the page contained (for deletes after a full snapshot).
    pub seen: Vec<RecordKey>,
    /// Items read.
    pub read: u64,
    /// Items the target already held.
    pub unchanged: u64,
    /// Items that were echoes of our own writes.
    pub echoes: u64,
    /// Items skipped by a map.
    pub skipped: u64,
}

/// Plans pages for one pipeline.
pub struct Planner<'a> {
    /// The pipeline.
    pub config: &'a PipelineConfig,
    /// The link policy, if the pipeline is one direction of a link.
    pub policy: Option<&'a FieldPolicy>,
    /// The state store (for the target's shadowed records when merging owned fields).
    pub store: &'a dyn StateStore,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Planner<'_> {
    /// A dead letter of this pipeline.
    pub fn dead_letter(&self, id: String, error: String) -> DeadLetter {
        DeadLetter {
            id,
            pipeline: self.config.name.clone(),
            key: None,
            origin: None,
            record: None,
            raw: None,
            error,
            attempts: 0,
            at: now(),
        }
    }

    /// Plans one page against the target's (and, on a link, the source's) shadow index.
    pub fn plan_page(
        &self,
        items: &[ReadItem],
        target_index: &ShadowIndex,
        source_index: Option<&ShadowIndex>,
    ) -> Result<PagePlan, StoreError> {
        let mut plan = PagePlan::default();
        let mut by_key: HashMap<RecordKey, usize> = HashMap::new();
        for (index, item) in items.iter().enumerate() {
            plan.read += 1;
            let record = match &item.record {
                Err(row) => {
                    let mut dl =
                        self.dead_letter(dead_letters::row_id(&row.origin), row.error.clone());
                    dl.origin = Some(row.origin.clone());
                    dl.raw = Some(row.raw.clone());
                    plan.dead.push((index, dl));
                    continue;
                }
                Ok(r) if r.entity() != self.config.entity => {
                    let key = r.key();
                    let mut dl = self.dead_letter(
                        dead_letters::record_id(key.as_str()),
                        format!(
                            "source sent a {} where {} was expected",
                            r.entity(),
                            self.config.entity
                        ),
                    );
                    dl.key = Some(key.to_string());
                    dl.record = Some(r.clone());
                    plan.dead.push((index, dl));
                    continue;
                }
                Ok(r) => r.clone(),
            };
            let record = match mapping::apply(&self.config.maps, record.clone()) {
                Mapped::Record(r) => r,
                Mapped::Skipped => {
                    plan.skipped += 1;
                    plan.settled.push(index);
                    continue;
                }
                Mapped::Unmapped(why) => {
                    let key = record.key();
                    let mut dl = self.dead_letter(dead_letters::record_id(key.as_str()), why);
                    dl.key = Some(key.to_string());
                    dl.record = Some(record);
                    plan.dead.push((index, dl));
                    continue;
                }
            };
            let key = record.key();
            plan.seen.push(key.clone());
            let (to_write, source_record) = match (self.policy, source_index) {
                (Some(policy), Some(source_index)) => {
                    if diff::changed(source_index, &key, &record).is_none() {
                        plan.echoes += 1;
                        plan.settled.push(index);
                        continue;
                    }
                    let target =
                        shadow::get(self.store, &self.config.to, self.config.entity, &key)?;
                    (
                        policy.merge(&record, target.as_ref().map(|t| &t.record)),
                        Some(record),
                    )
                }
                _ => (record, None),
            };
            let fingerprint = to_write.fingerprint();
            let planned = Planned {
                op: WriteOp::Upsert { record: to_write },
                fingerprint: Some(fingerprint),
                source_record,
                items: vec![index],
            };
            // A later row for a key already planned in this page wins, even if it equals the
            // shadow: the earlier row's write must not be what the target ends up with.
            if let Some(&at) = by_key.get(&key) {
                let mut items = std::mem::take(&mut plan.writes[at].items);
                items.push(index);
                plan.writes[at] = Planned { items, ..planned };
                continue;
            }
            if target_index.get(&key) == Some(&fingerprint) {
                plan.unchanged += 1;
                plan.settled.push(index);
                continue;
            }
            by_key.insert(key, plan.writes.len());
            plan.writes.push(planned);
        }
        Ok(plan)
    }
}
