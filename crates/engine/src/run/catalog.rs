//! The catalog guard's other half: before a guarded pipeline reads, the stock it held back
//! for SKUs the catalog did not know goes back into its outbox once the catalog knows them.

use syncd_store::{dead_letters, Stage};

use crate::error::RunError;
use crate::mapping::{self, Mapped};
use crate::planner::UNKNOWN_SKU;

use super::RunCtx;

impl RunCtx<'_> {
    /// Requeues this pipeline's "unknown sku" dead letters whose product has since arrived.
    pub async fn release_known_skus(&mut self) -> Result<(), RunError> {
        let p = self.p;
        let Some((name, catalog)) = p.catalog() else {
            return Ok(());
        };
        let mut known = Vec::new();
        for letter in dead_letters::list(self.store.as_ref(), Some(p.name()))? {
            if letter.stage != Stage::Map || !letter.error.starts_with(UNKNOWN_SKU) {
                continue;
            }
            let Some(record) = letter.record.clone() else {
                continue;
            };
            // The SKU as written: the letter keeps the record as read.
            let mapped = match mapping::apply(&p.config().maps, record) {
                Mapped::Record(r) => r,
                Mapped::Skipped | Mapped::Unmapped(_) => continue,
            };
            let Some(sku) = mapped.sku() else { continue };
            let here = catalog.knows_sku(sku).map_err(|message| {
                RunError::Store(syncd_store::StoreError::Backend {
                    dir: format!("catalog `{name}`"),
                    message,
                })
            })?;
            if here {
                known.push(letter.id.clone());
            }
        }
        if known.is_empty() {
            return Ok(());
        }
        let requeued = p.requeue_dead_letters(&self.store, Some(&known)).await?;
        tracing::info!(
            pipeline = %p.name(),
            catalog = name,
            released = requeued.requeued.len(),
            "stock held back for unknown SKUs goes out: the catalog knows them now"
        );
        Ok(())
    }
}
