//! The inventory store: inventory positions per (catalogue, location, SKU), each holding its
//! quantities by type (LAST_ON_HAND, FUTURE, SALE, ADJUSTMENT, …). A batch record writes the
//! quantity of its own type and no other: a FUTURE record never touches LAST_ON_HAND.
//!
//! A position's `onHand` is derived, as Fluent's workflows recompute it from LAST_ON_HAND plus
//! other quantities *(reading: which other ones is the account's workflow; here, ADJUSTMENT and
//! DELTA quantities add to it, while FUTURE/EXPECTED stock and transient SALE, RESERVED and
//! CORRECTION quantities do not)*.

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
    /// Its type (`LAST_ON_HAND`, `FUTURE`, …).
    pub kind: String,
    /// Its status (`ACTIVE`).
    pub status: String,
    /// The quantity.
    pub qty: i64,
    /// The outstanding correction.
    pub corrected_qty: i64,
    /// Free attributes.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// When it last changed.
    pub updated_on: String,
}

/// A quantity type and status that, held on a position, keeps Batch Pre-Processing from
/// dropping a record as unchanged (`conditions.hasRelatedInventoryQuantities`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Related {
    /// The quantity type (`SALE`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Its status (`ACTIVE`).
    pub status: String,
}

/// Fluent's default transient quantities (the seed's example lists the same three).
pub fn default_related() -> Vec<Related> {
    [
        ("SALE", "ACTIVE"),
        ("SALE", "CREATED"),
        ("CORRECTION", "ACTIVE"),
    ]
    .into_iter()
    .map(|(kind, status)| Related {
        kind: kind.into(),
        status: status.into(),
    })
    .collect()
}

/// Quantity types that change a position's on-hand besides LAST_ON_HAND.
const ON_HAND_TYPES: [&str; 2] = ["ADJUSTMENT", "DELTA"];

/// One position: its quantities by type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Position {
    /// Quantities by type.
    pub quantities: BTreeMap<String, StoredQuantity>,
}

impl Position {
    /// The derived on-hand: LAST_ON_HAND plus the quantities that adjust it.
    pub fn on_hand(&self) -> i64 {
        let last = self.quantities.get("LAST_ON_HAND").map_or(0, |q| q.qty);
        let adjusted: i64 = ON_HAND_TYPES
            .iter()
            .filter_map(|t| self.quantities.get(*t))
            .filter(|q| q.status == "ACTIVE")
            .map(|q| q.qty)
            .sum();
        last + adjusted
    }

    /// Any quantity: the position's identity (catalogue, location, SKU) and update time.
    pub fn any(&self) -> Option<&StoredQuantity> {
        self.quantities
            .get("LAST_ON_HAND")
            .or_else(|| self.quantities.values().next())
    }

    /// The position's status: its LAST_ON_HAND quantity's, else active.
    pub fn status(&self) -> &str {
        self.quantities
            .get("LAST_ON_HAND")
            .map_or("ACTIVE", |q| q.status.as_str())
    }
}

type Key = (String, String, String);

/// Every position, where each quantity ref sits, and how often each ref was applied.
#[derive(Default)]
pub struct Inventory {
    by_key: BTreeMap<Key, Position>,
    by_ref: std::collections::HashMap<String, (Key, String)>,
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

    /// Stores `q` as its position's quantity of its type, without counting an application.
    pub fn put(&mut self, q: StoredQuantity) {
        self.by_ref
            .insert(q.reference.clone(), (Self::key(&q), q.kind.clone()));
        self.by_key
            .entry(Self::key(&q))
            .or_default()
            .quantities
            .insert(q.kind.clone(), q);
    }

    /// Whether Batch Pre-Processing drops `q` as unchanged: its type's quantity and status as
    /// stored, and no related (transient) quantity held on the position.
    pub fn unchanged(&self, q: &StoredQuantity, related: &[Related]) -> bool {
        self.by_key.get(&Self::key(q)).is_some_and(|position| {
            let same = position
                .quantities
                .get(&q.kind)
                .is_some_and(|old| old.qty == q.qty && old.status == q.status);
            let transient = position.quantities.values().any(|held| {
                related
                    .iter()
                    .any(|r| r.kind == held.kind && r.status == held.status)
            });
            same && !transient
        })
    }

    /// Applies `q` from a batch.
    pub fn apply(&mut self, q: StoredQuantity) {
        *self.applied.entry(q.reference.clone()).or_default() += 1;
        self.put(q);
    }

    /// Every stored quantity, by position then type.
    pub fn all(&self) -> Vec<StoredQuantity> {
        self.by_key
            .values()
            .flat_map(|p| p.quantities.values().cloned())
            .collect()
    }

    /// The position of `catalogue` at (location, SKU).
    pub fn position(&self, catalogue: &str, location: &str, sku: &str) -> Option<Position> {
        self.by_key
            .get(&(catalogue.to_string(), location.to_string(), sku.to_string()))
            .cloned()
    }

    /// Positions of `catalogue` after `after` (location, SKU), at most `first`, and whether more
    /// follow.
    pub fn page(
        &self,
        catalogue: &str,
        locations: Option<&[String]>,
        skus: Option<&[String]>,
        after: Option<(String, String)>,
        first: usize,
    ) -> (Vec<Position>, bool) {
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
            .filter(|((_, loc, _), _)| locations.is_none_or(|l| l.contains(loc)))
            .filter(|((_, _, sku), _)| skus.is_none_or(|s| s.contains(sku)))
            .map(|(_, p)| p);
        let page: Vec<Position> = matching.by_ref().take(first).cloned().collect();
        let more = matching.next().is_some();
        (page, more)
    }

    /// Quantities of `catalogue` with one of `refs` (any when `None`) and one of `kinds` (any
    /// when `None`), in position order after the `after`-th match, at most `first`; and whether
    /// more follow.
    pub fn quantities(
        &self,
        catalogue: &str,
        refs: Option<&[String]>,
        kinds: Option<&[String]>,
        after: usize,
        first: usize,
    ) -> (Vec<StoredQuantity>, bool) {
        let wanted = |q: &&StoredQuantity| {
            q.catalogue_ref == catalogue && kinds.is_none_or(|k| k.contains(&q.kind))
        };
        let mut matching: Box<dyn Iterator<Item = &StoredQuantity>> = match refs {
            // By ref, as an index would: in the order asked.
            Some(refs) => Box::new(
                refs.iter()
                    .filter_map(|r| self.by_ref.get(r))
                    .filter_map(|(key, kind)| self.by_key.get(key)?.quantities.get(kind))
                    .filter(wanted),
            ),
            None => Box::new(
                self.by_key
                    .values()
                    .flat_map(|p| p.quantities.values())
                    .filter(wanted),
            ),
        };
        let mut matching = matching.by_ref().skip(after);
        let page: Vec<StoredQuantity> = matching.by_ref().take(first).cloned().collect();
        let more = matching.next().is_some();
        (page, more)
    }

    /// Applications per ref.
    pub fn applications(&self) -> BTreeMap<String, u64> {
        self.applied.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quantity(kind: &str, qty: i64, status: &str) -> StoredQuantity {
        StoredQuantity {
            catalogue_ref: "DEFAULT:1".into(),
            location_ref: "L".into(),
            sku_ref: "S".into(),
            reference: format!("S:L:DEFAULT:{kind}"),
            kind: kind.into(),
            status: status.into(),
            qty,
            corrected_qty: 0,
            attributes: Default::default(),
            updated_on: String::new(),
        }
    }

    #[test]
    fn a_future_quantity_sits_beside_last_on_hand_and_on_hand_is_derived() {
        let mut inventory = Inventory::default();
        inventory.apply(quantity("LAST_ON_HAND", 10, "ACTIVE"));
        inventory.apply(quantity("FUTURE", 350, "ACTIVE"));
        inventory.apply(quantity("ADJUSTMENT", -2, "ACTIVE"));
        let position = inventory.position("DEFAULT:1", "L", "S").unwrap();
        assert_eq!(
            position.quantities["LAST_ON_HAND"].qty, 10,
            "FUTURE left it alone"
        );
        assert_eq!(position.on_hand(), 8);
    }

    #[test]
    fn a_related_transient_quantity_keeps_an_unchanged_record_from_being_dropped() {
        let mut inventory = Inventory::default();
        inventory.apply(quantity("LAST_ON_HAND", 10, "ACTIVE"));
        let same = quantity("LAST_ON_HAND", 10, "ACTIVE");
        assert!(inventory.unchanged(&same, &default_related()));
        inventory.put(quantity("SALE", 1, "CREATED"));
        assert!(!inventory.unchanged(&same, &default_related()));
        assert!(
            inventory.unchanged(&same, &[]),
            "conditions name no related type"
        );
    }
}
