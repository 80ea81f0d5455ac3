//! The run's view of its outbox: which writes each pending call holds. A write call's entry is
//! written, flushed, just before the call (its intent), and shrinks as the call's writes are
//! acknowledged or refused; a write retried in the same call keeps its entry. Writes not yet
//! sent are in no entry: the cursor has not moved past them, so a crash re-plans them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use syncd_store::{outbox, OutboxEntry, StateStore, StoreError, WriteBatch};

use crate::planner::{Call, Planned};

/// Pending calls of one pipeline, as far as this run knows them.
#[derive(Default)]
pub struct OutboxBook {
    pipeline: String,
    calls: HashMap<u64, BTreeMap<u64, OutboxEntry>>,
    changed: BTreeSet<u64>,
    next_uid: u64,
}

fn entry(planned: &Planned) -> OutboxEntry {
    OutboxEntry {
        op: planned.op.clone(),
        link_base: planned.link_base.clone(),
    }
}

impl OutboxBook {
    /// An empty book for `pipeline`.
    pub fn new(pipeline: &str) -> Self {
        OutboxBook {
            pipeline: pipeline.to_string(),
            ..OutboxBook::default()
        }
    }

    /// Takes the calls an earlier run left into the book and returns their writes, oldest first.
    pub fn adopt(&mut self, left: Vec<(u64, Vec<OutboxEntry>)>) -> Vec<Planned> {
        let mut planned = Vec::new();
        for (id, entries) in left {
            let held = self.calls.entry(id).or_default();
            for e in entries {
                let uid = self.next_uid;
                self.next_uid += 1;
                held.insert(uid, e.clone());
                let mut p = Planned::unattached(e.op);
                p.link_base = e.link_base;
                p.call = Some(Call { id, uid });
                planned.push(p);
            }
        }
        planned
    }

    /// Makes sure `chunk` is in the outbox as one call before it goes out: returns what to
    /// commit (flushed) first, empty when one entry already holds exactly these writes.
    pub fn claim(
        &mut self,
        store: &dyn StateStore,
        chunk: &mut [Planned],
    ) -> Result<WriteBatch, StoreError> {
        let mut batch = WriteBatch::new();
        if let Some(Some(first)) = chunk.first().map(|p| p.call) {
            let same = chunk.iter().all(|p| p.call.map(|c| c.id) == Some(first.id));
            if same && self.calls.get(&first.id).map(BTreeMap::len) == Some(chunk.len()) {
                return Ok(batch);
            }
        }
        let id = outbox::new_call(store)?;
        let mut held = BTreeMap::new();
        for planned in chunk.iter_mut() {
            let uid = match planned.call.take() {
                Some(old) => {
                    if let Some(entries) = self.calls.get_mut(&old.id) {
                        entries.remove(&old.uid);
                    }
                    self.changed.insert(old.id);
                    old.uid
                }
                None => {
                    self.next_uid += 1;
                    self.next_uid - 1
                }
            };
            held.insert(uid, entry(planned));
            planned.call = Some(Call { id, uid });
        }
        outbox::put_call(
            &mut batch,
            &self.pipeline,
            id,
            &held.values().cloned().collect::<Vec<_>>(),
        );
        self.calls.insert(id, held);
        self.write_changed(&mut batch);
        Ok(batch)
    }

    /// Drops `planned` from its call (it was acknowledged or refused); the entry is rewritten by
    /// the next [`OutboxBook::write_changed`].
    pub fn settle(&mut self, planned: &Planned) {
        if let Some(call) = planned.call {
            if let Some(entries) = self.calls.get_mut(&call.id) {
                entries.remove(&call.uid);
                self.changed.insert(call.id);
            }
        }
    }

    /// Puts every changed call's remaining writes in `batch` (dropping the empty ones).
    pub fn write_changed(&mut self, batch: &mut WriteBatch) {
        for id in std::mem::take(&mut self.changed) {
            let left: Vec<OutboxEntry> = self
                .calls
                .get(&id)
                .map(|e| e.values().cloned().collect())
                .unwrap_or_default();
            outbox::put_call(batch, &self.pipeline, id, &left);
            if left.is_empty() {
                self.calls.remove(&id);
            }
        }
    }
}
