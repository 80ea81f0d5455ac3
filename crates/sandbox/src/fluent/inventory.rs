//! The inventory store: one LAST_ON_HAND quantity per (catalogue, location, SKU), as batches
//! leave it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One stored quantity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredQuantity {
    /// The catalogue (`DEFAULT:1`).
    pub catalogue_ref: String,
    /// The location.
    pub location_ref: String,
    /// The SKU (the position's productRef).
    pub sku_ref: String,
    /// The quantity's ref.
    pub reference: String,
    /// Its type (`LAST_ON_HAND`).
    pub kind: String,
    /// Its status (`ACTIVE`).
    pub status: String,
    /// The on-hand quantity.
    pub qty: i64,
    /// The outstanding correction.
    pub corrected_qty: i64,
    /// Free attributes.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// When it last changed.
    pub updated_on: String,
}

type Key = (String, String, String);

/// Every stored quantity, and how often each ref was applied.
#[derive(Default)]
pub struct Inventory {
    by_key: BTreeMap<Key, StoredQuantity>,
    applied: BTreeMap<String, u64>,
}

impl Inventory {
    fn key(q: &StoredQuantity) -> Key {
        (
            q.catalogue_ref.clone(),
            q.location_ref.clone(),
            q.sku_ref.clone(),
        )
    }

    /// Stores `q` without counting an application (seeding).
    pub fn put(&mut self, q: StoredQuantity) {
        self.by_key.insert(Self::key(&q), q);
    }

    /// Whether Batch Pre-Processing would drop `q` as unchanged: same quantity and status.
    pub fn unchanged(&self, q: &StoredQuantity) -> bool {
        self.by_key
            .get(&Self::key(q))
            .is_some_and(|old| old.qty == q.qty && old.status == q.status)
    }

    /// Applies `q` from a batch.
    pub fn apply(&mut self, q: StoredQuantity) {
        *self.applied.entry(q.reference.clone()).or_default() += 1;
        self.put(q);
    }

    /// Every stored quantity, in key order.
    pub fn all(&self) -> Vec<StoredQuantity> {
        self.by_key.values().cloned().collect()
    }

    /// Quantities of `catalogue` after `after` (a key), at most `first`, and whether more follow.
    pub fn page(
        &self,
        catalogue: &str,
        locations: Option<&[String]>,
        skus: Option<&[String]>,
        after: Option<(String, String)>,
        first: usize,
    ) -> (Vec<StoredQuantity>, bool) {
        let start = match &after {
            Some((loc, sku)) => {
                std::ops::Bound::Excluded((catalogue.to_string(), loc.clone(), sku.clone()))
            }
            None => {
                std::ops::Bound::Included((catalogue.to_string(), String::new(), String::new()))
            }
        };
        let mut matching = self
            .by_key
            .range((start, std::ops::Bound::Unbounded))
            .take_while(|((cat, _, _), _)| cat == catalogue)
            .map(|(_, q)| q)
            .filter(|q| locations.is_none_or(|l| l.contains(&q.location_ref)))
            .filter(|q| skus.is_none_or(|s| s.contains(&q.sku_ref)));
        let page: Vec<StoredQuantity> = matching.by_ref().take(first).cloned().collect();
        let more = matching.next().is_some();
        (page, more)
    }

    /// Applications per ref.
    pub fn applications(&self) -> BTreeMap<String, u64> {
        self.applied.clone()
    }
}
