//! Magento Multi-Source Inventory topology: sources, stocks, the links between them and the
//! sales channels assigned to stocks. Source items are [`crate::model::StockPosition`]s whose
//! location is the source code.

use serde::{Deserialize, Serialize};

/// An inventory source: a physical place that holds stock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventorySource {
    /// The source code (`Source_Code__c`).
    pub code: String,
    /// The display name.
    pub name: String,
    /// Whether the source is enabled.
    pub enabled: bool,
    /// A description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// ISO country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    /// The name shown on the storefront.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontend_name: Option<String>,
    /// Whether the default carrier configuration applies.
    #[serde(default)]
    pub use_default_carrier_config: bool,
}

/// An inventory stock: a virtual aggregation of sources sold through sales channels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryStock {
    /// The Magento stock id.
    pub stock_id: String,
    /// The display name.
    pub name: String,
}

/// A source assigned to a stock, with its priority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStockLink {
    /// The stock.
    pub stock_id: String,
    /// The source.
    pub source_code: String,
    /// Lower numbers are used first.
    pub priority: u32,
}

/// A sales channel (typically a website) assigned to a stock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockSalesChannel {
    /// The stock.
    pub stock_id: String,
    /// The channel type (`website`).
    pub channel_type: String,
    /// The channel code (the website code).
    pub code: String,
    /// The website's display name, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_name: Option<String>,
}
