//! Dead letters sent back into their pipeline: a refused write goes to the outbox as it was, an
//! unmapped record is mapped again with the current maps; the next run writes both before it
//! reads anything new. A row that never became a record cannot be replayed: it needs a fix at
//! the source.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use syncd_core::{RecordKey, WriteOp};
use syncd_store::{
    dead_letters, outbox, DeadLetter, Durability, OutboxEntry, Stage, StateStore, WriteBatch,
};

use crate::error::RunError;
use crate::mapping::{self, Mapped};
use crate::run::Pipeline;
use crate::state::commit;

/// What a replay did with each dead letter it was given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requeued {
    /// Ids now in the outbox, written by the next run.
    pub requeued: Vec<String>,
    /// Ids the current maps now skip: dropped, nothing to write.
    pub skipped: Vec<String>,
    /// Ids left as dead letters, each with the reason.
    pub refused: Vec<(String, String)>,
}

impl Pipeline {
    /// Puts the dead letters `ids` (all of this pipeline's when `None`) back in the pipeline's
    /// outbox, in one flushed commit.
    pub async fn requeue_dead_letters(
        &self,
        store: &Arc<dyn StateStore>,
        ids: Option<&[String]>,
    ) -> Result<Requeued, RunError> {
        let name = self.name();
        let letters: Vec<(String, Option<DeadLetter>)> = match ids {
            None => dead_letters::list(store.as_ref(), Some(name))?
                .into_iter()
                .map(|l| (l.id.clone(), Some(l)))
                .collect(),
            Some(ids) => ids
                .iter()
                .map(|id| Ok((id.clone(), dead_letters::get(store.as_ref(), name, id)?)))
                .collect::<Result<_, RunError>>()?,
        };
        let mut result = Requeued::default();
        let mut batch = WriteBatch::new();
        let mut requeued = Vec::new();
        for (id, letter) in letters {
            let Some(letter) = letter else {
                result
                    .refused
                    .push((id, format!("pipeline `{name}` has no such dead letter")));
                continue;
            };
            match self.requeued_op(&letter) {
                Ok(Some(op)) => {
                    requeued.push(OutboxEntry {
                        op,
                        link_base: None,
                    });
                    dead_letters::delete(&mut batch, name, &id);
                    result.requeued.push(id);
                }
                Ok(None) => {
                    dead_letters::delete(&mut batch, name, &id);
                    result.skipped.push(id);
                }
                Err(why) => result.refused.push((id, why)),
            }
        }
        if !requeued.is_empty() {
            let call = outbox::new_call(store.as_ref())?;
            outbox::put_call(&mut batch, name, call, &requeued);
        }
        commit(store, batch, Durability::Flushed).await?;
        Ok(result)
    }

    /// The write a dead letter becomes, `None` when the maps now skip it, or why it cannot be
    /// replayed.
    fn requeued_op(&self, letter: &DeadLetter) -> Result<Option<WriteOp>, String> {
        let entity = self.config().entity;
        if letter
            .key
            .as_deref()
            .is_some_and(|k| k.starts_with("~allocations"))
        {
            return Err(
                "an allocation range is recomputed from the logical timestamps at every run: drop this letter"
                    .into(),
            );
        }
        match (letter.stage, &letter.record) {
            (Stage::Read, _) => Err(format!(
                "the row{} never became a record: fix it at the source",
                letter
                    .origin
                    .as_deref()
                    .map(|o| format!(" at {o}"))
                    .unwrap_or_default()
            )),
            (Stage::Map, Some(record)) => match mapping::apply(&self.config().maps, record.clone())
            {
                Mapped::Record(record) => Ok(Some(WriteOp::Upsert { record })),
                Mapped::Skipped => Ok(None),
                Mapped::Unmapped(why) => Err(format!("still unmapped: {why}")),
            },
            (Stage::Write, Some(record)) => Ok(Some(WriteOp::Upsert {
                record: record.clone(),
            })),
            (Stage::Write, None) => match &letter.key {
                Some(key) => Ok(Some(WriteOp::Delete {
                    key: RecordKey::from_raw(key.clone()),
                    entity,
                })),
                None => Err("the dead letter names no record to write".into()),
            },
            (Stage::Map, None) => Err("the dead letter holds no record to map".into()),
        }
    }
}
