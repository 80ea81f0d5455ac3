//! Catalog entities: products, attributes and categories, with localized names and values
//! (the shapes Ergonode's synchronization events carry).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Text per locale (`en_GB` → "Name").
pub type Localized = BTreeMap<String, String>;

/// The data type of an attribute (Ergonode's attribute types).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AttributeType {
    /// A date.
    Date,
    /// A file reference.
    File,
    /// A list of images.
    Gallery,
    /// One image.
    Image,
    /// Several options.
    MultiSelect,
    /// A number.
    Numeric,
    /// A price.
    Price,
    /// References to other products.
    ProductRelation,
    /// One option.
    Select,
    /// Long text.
    TextArea,
    /// Short text.
    Text,
    /// A number with a unit.
    Unit,
}

/// Whether an attribute's value differs per locale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeScope {
    /// One value per locale.
    Local,
    /// One value for every locale.
    Global,
}

/// A catalog attribute definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// The attribute code.
    pub code: String,
    /// The data type.
    #[serde(rename = "type")]
    pub attribute_type: AttributeType,
    /// Local or global.
    pub scope: AttributeScope,
    /// Name per locale.
    #[serde(default)]
    pub names: Localized,
    /// Options (for select types): option code → name per locale.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, Localized>,
}

/// A catalog category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// The category code.
    pub code: String,
    /// Name per locale.
    #[serde(default)]
    pub names: Localized,
}

/// A product's value for one attribute: one for every locale, or one per locale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductValue {
    /// A global-scope value.
    Global(serde_json::Value),
    /// A local-scope value: locale → value.
    Localized(BTreeMap<String, serde_json::Value>),
}

/// A catalog product.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// The SKU.
    pub sku: String,
    /// The product type (`SIMPLE-PRODUCT`, `VARIABLE-PRODUCT`, `GROUPING-PRODUCT`, ...).
    #[serde(rename = "type")]
    pub product_type: String,
    /// Values by attribute code.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, ProductValue>,
    /// Category codes.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub categories: BTreeSet<String>,
    /// Binding attribute codes (what variants differ by).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub bindings: BTreeSet<String>,
    /// Variant SKUs.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub variants: BTreeSet<String>,
    /// Child SKUs of a grouping product, with their quantity.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub children: BTreeMap<String, u32>,
}
