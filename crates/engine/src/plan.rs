//! Dry runs: the exact writes a run would make now, without making them or changing state.

use std::collections::HashSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use syncd_core::WriteOp;
use syncd_store::{outbox, DeadLetter, StateStore};

use crate::config::Mode;
use crate::diff;
use crate::error::RunError;
use crate::report::RunReport;
use crate::run::{PageReader, Pipeline};
use tokio_util::sync::CancellationToken;

/// What a run would do.
#[derive(Debug, Serialize, Deserialize)]
pub struct Plan {
    /// The pipeline.
    pub pipeline: String,
    /// Writes an interrupted run left in the outbox (replayed first).
    pub replay: Vec<WriteOp>,
    /// Writes the source's data calls for, in order.
    pub writes: Vec<WriteOp>,
    /// Dead letters the read would produce.
    pub dead_letters: Vec<DeadLetter>,
    /// Records read.
    pub read: u64,
    /// Records the target already holds.
    pub unchanged: u64,
}

impl Pipeline {
    /// Plans a run from the saved cursor without writing anything or touching the state.
    pub async fn plan(&self, shared: &Arc<dyn StateStore>) -> Result<Plan, RunError> {
        let store = shared.as_ref();
        let replay = outbox::list(store, self.name())?
            .into_iter()
            .flat_map(|(_, entries)| entries.into_iter().map(|e| e.op))
            .collect();
        let mut scratch = RunReport::start(self.name());
        let never = CancellationToken::new();
        let mut indexes = self.load_indexes(shared, &mut scratch, &never).await?;
        let mut plan = Plan {
            pipeline: self.name().to_string(),
            replay,
            writes: Vec::new(),
            dead_letters: Vec::new(),
            read: 0,
            unchanged: 0,
        };
        let full = self.config().mode == Mode::Full;
        let mut seen: HashSet<u128> = HashSet::new();
        let mut cursor = self.start_cursor(store)?;
        let mut reader = PageReader::new(self, &never);
        loop {
            let page = reader
                .read(self, store, cursor.clone(), &mut scratch)
                .await?;
            let last = page.done || page.items.is_empty();
            let (items, cursors) = page.into_parts();
            let page_plan = self.planner(store).plan_page(
                items,
                &indexes.target,
                self.link_view(&indexes).as_ref(),
            )?;
            plan.read += page_plan.read;
            plan.unchanged += page_plan.unchanged;
            seen.extend(page_plan.seen);
            plan.dead_letters
                .extend(page_plan.dead.into_iter().map(|(_, d)| d));
            for w in page_plan.writes {
                // Later pages diff against what this plan would already have written.
                if let Some(fp) = w.fingerprint {
                    indexes.target.insert(&w.op.key(), fp);
                }
                if let (Some(live), WriteOp::Upsert { record }) = (indexes.live.as_mut(), &w.op) {
                    live.insert(record.key(), record.clone());
                }
                plan.writes.push(w.op);
            }
            if last {
                break;
            }
            cursor = Some(cursors.next);
        }
        if full && self.config().delete_missing {
            let gone = diff::missing(&indexes.target, &seen);
            for key in syncd_store::shadow::keys_for_hashes(
                store,
                self.target_name(),
                self.written_entity(),
                &gone,
            )? {
                plan.writes.push(WriteOp::Delete {
                    key,
                    entity: self.written_entity(),
                });
            }
        }
        Ok(plan)
    }
}
