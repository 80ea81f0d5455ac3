//! The canonical records every connector reads and writes.

mod adjustment;
mod catalog;
mod fulfillment;
mod msi;
mod stock;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::fingerprint::Fingerprint;
use crate::key::RecordKey;

pub use adjustment::StockAdjustment;
pub use catalog::{
    Attribute, AttributeScope, AttributeType, Category, Localized, Product, ProductValue,
};
pub use fulfillment::{FulfillmentEvent, FulfillmentEventKind, FulfillmentItem};
pub use msi::{InventorySource, InventoryStock, SourceStockLink, StockSalesChannel};
pub use stock::{StockPosition, StockStatus};

/// The kinds of entity that flow through pipelines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// On-hand and allocated quantity of one SKU at one location.
    StockPosition,
    /// A signed change to one SKU's quantity at one location.
    StockAdjustment,
    /// An event in a fulfillment request's life, with its logical timestamp.
    FulfillmentEvent,
    /// A catalog product.
    Product,
    /// A catalog attribute definition.
    Attribute,
    /// A catalog category.
    Category,
    /// An MSI inventory source (a warehouse or store that holds stock).
    InventorySource,
    /// An MSI stock (a virtual aggregation of sources).
    InventoryStock,
    /// An MSI link from a source to a stock, with its priority.
    SourceStockLink,
    /// An MSI sales channel (a website) assigned to a stock.
    StockSalesChannel,
}

impl EntityKind {
    /// Every entity kind, in declaration order.
    pub const ALL: [EntityKind; 10] = [
        EntityKind::StockPosition,
        EntityKind::StockAdjustment,
        EntityKind::FulfillmentEvent,
        EntityKind::Product,
        EntityKind::Attribute,
        EntityKind::Category,
        EntityKind::InventorySource,
        EntityKind::InventoryStock,
        EntityKind::SourceStockLink,
        EntityKind::StockSalesChannel,
    ];

    /// The snake_case name used in config files and store keys.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::StockPosition => "stock_position",
            EntityKind::StockAdjustment => "stock_adjustment",
            EntityKind::FulfillmentEvent => "fulfillment_event",
            EntityKind::Product => "product",
            EntityKind::Attribute => "attribute",
            EntityKind::Category => "category",
            EntityKind::InventorySource => "inventory_source",
            EntityKind::InventoryStock => "inventory_stock",
            EntityKind::SourceStockLink => "source_stock_link",
            EntityKind::StockSalesChannel => "stock_sales_channel",
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntityKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown entity kind `{s}`"))
    }
}

/// One canonical record of any entity kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entity", rename_all = "snake_case")]
pub enum Record {
    /// See [`StockPosition`].
    StockPosition(StockPosition),
    /// See [`StockAdjustment`].
    StockAdjustment(StockAdjustment),
    /// See [`FulfillmentEvent`].
    FulfillmentEvent(FulfillmentEvent),
    /// See [`Product`].
    Product(Product),
    /// See [`Attribute`].
    Attribute(Attribute),
    /// See [`Category`].
    Category(Category),
    /// See [`InventorySource`].
    InventorySource(InventorySource),
    /// See [`InventoryStock`].
    InventoryStock(InventoryStock),
    /// See [`SourceStockLink`].
    SourceStockLink(SourceStockLink),
    /// See [`StockSalesChannel`].
    StockSalesChannel(StockSalesChannel),
}

impl Record {
    /// The entity kind of this record.
    pub fn entity(&self) -> EntityKind {
        match self {
            Record::StockPosition(_) => EntityKind::StockPosition,
            Record::StockAdjustment(_) => EntityKind::StockAdjustment,
            Record::FulfillmentEvent(_) => EntityKind::FulfillmentEvent,
            Record::Product(_) => EntityKind::Product,
            Record::Attribute(_) => EntityKind::Attribute,
            Record::Category(_) => EntityKind::Category,
            Record::InventorySource(_) => EntityKind::InventorySource,
            Record::InventoryStock(_) => EntityKind::InventoryStock,
            Record::SourceStockLink(_) => EntityKind::SourceStockLink,
            Record::StockSalesChannel(_) => EntityKind::StockSalesChannel,
        }
    }

    /// The stable key of this record within its entity kind.
    pub fn key(&self) -> RecordKey {
        let mut out = Vec::with_capacity(32);
        self.key_into(&mut out);
        RecordKey::from_raw(String::from_utf8(out).expect("keys are UTF-8"))
    }

    /// Appends the bytes of [`Record::key`] to `out`, without allocating a key of its own (the
    /// hot paths build thousands of keys into one buffer).
    pub fn key_into(&self, out: &mut Vec<u8>) {
        self.with_key_parts(|parts| RecordKey::compose_into(parts, out));
    }

    /// The 128-bit hash of [`Record::key`], computed without building the key.
    pub fn key_hash(&self) -> u128 {
        self.with_key_parts(RecordKey::hash_parts)
    }

    /// Calls `f` with the parts [`Record::key`] is composed of.
    fn with_key_parts<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R {
        match self {
            Record::StockPosition(r) => f(&[&r.sku, &r.location]),
            Record::StockAdjustment(r) => f(&[&r.id]),
            Record::FulfillmentEvent(r) => {
                f(&[&r.id, r.kind.as_str(), &r.logical_timestamp.to_string()])
            }
            Record::Product(r) => f(&[&r.sku]),
            Record::Attribute(r) => f(&[&r.code]),
            Record::Category(r) => f(&[&r.code]),
            Record::InventorySource(r) => f(&[&r.code]),
            Record::InventoryStock(r) => f(&[&r.stock_id]),
            Record::SourceStockLink(r) => f(&[&r.stock_id, &r.source_code]),
            Record::StockSalesChannel(r) => f(&[&r.stock_id, &r.channel_type, &r.code]),
        }
    }

    /// The content fingerprint: a stable hash of the canonical serialization.
    pub fn fingerprint(&self) -> Fingerprint {
        match self {
            Record::StockPosition(p) => Fingerprint::of_canonical(|out| p.canonical_record(out)),
            other => Fingerprint::of(other),
        }
    }

    /// The SKU this record is about, where it has one.
    pub fn sku(&self) -> Option<&str> {
        match self {
            Record::StockPosition(r) => Some(&r.sku),
            Record::StockAdjustment(r) => Some(&r.sku),
            Record::Product(r) => Some(&r.sku),
            _ => None,
        }
    }

    /// The SKU this record is about, where it has one (used by SKU maps).
    pub fn sku_mut(&mut self) -> Option<&mut String> {
        match self {
            Record::StockPosition(r) => Some(&mut r.sku),
            Record::StockAdjustment(r) => Some(&mut r.sku),
            Record::Product(r) => Some(&mut r.sku),
            _ => None,
        }
    }

    /// The location this record is about, where it has one (used by location maps).
    pub fn location_mut(&mut self) -> Option<&mut String> {
        match self {
            Record::StockPosition(r) => Some(&mut r.location),
            Record::StockAdjustment(r) => Some(&mut r.location),
            Record::FulfillmentEvent(r) => Some(&mut r.location),
            Record::InventorySource(r) => Some(&mut r.code),
            Record::SourceStockLink(r) => Some(&mut r.source_code),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
