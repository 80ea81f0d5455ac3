//! The account's warehouses, products and per-warehouse inventory (`WarehouseProduct`), and the
//! audit of every on_hand change (`inventory_changes`).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

/// A warehouse of the account.
#[derive(Clone, Debug)]
pub struct Warehouse {
    /// Its legacy id (4350).
    pub legacy_id: u64,
    /// Its identifier ("Primary").
    pub identifier: String,
}

/// One SKU's inventory in one warehouse.
#[derive(Clone, Debug)]
pub struct WarehouseProduct {
    pub legacy_id: u64,
    pub warehouse: u64,
    pub sku: String,
    pub on_hand: i64,
    pub allocated: i64,
    pub backorder: i64,
    pub reserve_inventory: i64,
    pub non_sellable_quantity: i64,
    pub sell_ahead: i64,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WarehouseProduct {
    /// on_hand − allocated − reserve + sell_ahead.
    pub fn available(&self) -> i64 {
        self.on_hand - self.allocated - self.reserve_inventory + self.sell_ahead
    }
}

/// One change of on_hand.
#[derive(Clone, Debug)]
pub struct Change {
    pub sku: String,
    pub warehouse: u64,
    pub location_id: Option<i64>,
    pub previous_on_hand: i64,
    pub change_in_on_hand: i64,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// Everything the account holds.
#[derive(Default)]
pub struct Store {
    pub warehouses: Vec<Warehouse>,
    /// SKU → product legacy id (account-wide `ProductInfo`).
    pub products: BTreeMap<String, u64>,
    /// (warehouse legacy id, SKU) → inventory.
    pub inventory: BTreeMap<(u64, String), WarehouseProduct>,
    pub changes: Vec<Change>,
    /// (warehouse, bin name) → location legacy id, for Dynamic Slotting rows.
    pub locations: HashMap<(u64, String), i64>,
    next_id: u64,
}

impl Store {
    /// A store with these warehouses.
    pub fn new(warehouses: Vec<Warehouse>) -> Self {
        Store {
            warehouses,
            next_id: 1000,
            ..Store::default()
        }
    }

    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The warehouse with this legacy id.
    pub fn warehouse(&self, legacy: u64) -> Option<&Warehouse> {
        self.warehouses.iter().find(|w| w.legacy_id == legacy)
    }

    /// Creates (or sets the on_hand of) a SKU in a warehouse.
    pub fn seed(&mut self, warehouse: u64, sku: &str, on_hand: i64) {
        let now = Utc::now();
        if !self.products.contains_key(sku) {
            let id = self.next();
            self.products.insert(sku.to_string(), id);
        }
        let key = (warehouse, sku.to_string());
        if let Some(wp) = self.inventory.get_mut(&key) {
            wp.on_hand = on_hand;
            wp.updated_at = now;
            return;
        }
        let legacy_id = self.next();
        self.inventory.insert(
            key,
            WarehouseProduct {
                legacy_id,
                warehouse,
                sku: sku.to_string(),
                on_hand,
                allocated: 0,
                backorder: 0,
                reserve_inventory: 0,
                non_sellable_quantity: 0,
                sell_ahead: 0,
                active: true,
                created_at: now,
                updated_at: now,
            },
        );
    }

    /// Sets on_hand of an existing warehouse product, recording the change; the previous
    /// on_hand, or `None` when the SKU is not in that warehouse.
    pub fn set_on_hand(
        &mut self,
        warehouse: u64,
        sku: &str,
        on_hand: i64,
        reason: &str,
        location_id: Option<i64>,
    ) -> Option<i64> {
        let now = Utc::now();
        let wp = self.inventory.get_mut(&(warehouse, sku.to_string()))?;
        let previous = wp.on_hand;
        wp.on_hand = on_hand;
        wp.updated_at = now;
        self.changes.push(Change {
            sku: sku.to_string(),
            warehouse,
            location_id,
            previous_on_hand: previous,
            change_in_on_hand: on_hand - previous,
            reason: reason.to_string(),
            created_at: now,
        });
        Some(previous)
    }

    /// The legacy id of bin `name` in `warehouse`, created on first use.
    pub fn location(&mut self, warehouse: u64, name: &str) -> i64 {
        if let Some(id) = self.locations.get(&(warehouse, name.to_string())) {
            return *id;
        }
        let id = self.next() as i64;
        self.locations.insert((warehouse, name.to_string()), id);
        id
    }

    /// Every warehouse's inventory of `sku`.
    pub fn of_sku(&self, sku: &str) -> Vec<WarehouseProduct> {
        self.inventory
            .values()
            .filter(|wp| wp.sku == sku)
            .cloned()
            .collect()
    }
}
