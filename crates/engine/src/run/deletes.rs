//! After a complete snapshot: delete from the target what the snapshot no longer holds.

use std::collections::HashSet;

use syncd_core::WriteOp;
use syncd_store::shadow;

use crate::diff;
use crate::error::RunError;
use crate::planner::Planned;

use super::write::Origin;
use super::RunCtx;

impl RunCtx<'_> {
    /// Deletes the keys the target holds that the snapshot (`seen`) did not contain; held back
    /// when the snapshot had dead letters, so that an unreadable row never deletes its record.
    pub async fn delete_missing(&mut self, seen: Option<HashSet<u128>>) -> Result<(), RunError> {
        let Some(seen) = seen else {
            return Ok(());
        };
        let p = self.p;
        if self.report.dead_lettered > 0 {
            tracing::warn!(
                pipeline = %p.config.name,
                dead_lettered = self.report.dead_lettered,
                "snapshot had dead letters: deletes are held back so that an unreadable row never deletes its record"
            );
            return Ok(());
        }
        let gone = diff::missing(&self.indexes.target, &seen);
        drop(seen);
        if gone.is_empty() {
            return Ok(());
        }
        let keys = shadow::keys_for_hashes(
            self.store.as_ref(),
            p.target.name(),
            p.written_entity(),
            &gone,
        )?;
        let deletes: Vec<Planned> = keys
            .into_iter()
            .map(|key| {
                Planned::unattached(WriteOp::Delete {
                    key,
                    entity: p.written_entity(),
                })
            })
            .collect();
        match self.write(deletes, Origin::AfterRead).await? {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
