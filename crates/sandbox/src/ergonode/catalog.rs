//! The PIM's catalog: attributes with options, categories and products (simple, variable with
//! bindings and variants, grouping with children and quantities), localized in en_GB and
//! de_DE, seeded from a number; and the edits (`Change`) that the scripted deltas are made of.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The catalog's languages.
pub const LANGUAGES: [&str; 2] = ["en_GB", "de_DE"];

/// Translations by language.
pub type Names = BTreeMap<String, String>;

/// One option of a SELECT or MULTI_SELECT attribute; `id` survives a code change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttributeOption {
    /// Stable identity (Ergonode's option id), not sent.
    pub id: u64,
    /// The option code.
    pub code: String,
    /// Its names.
    pub name: Names,
}

/// One attribute.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attribute {
    /// The attribute code.
    pub code: String,
    /// `TEXT`, `TEXT_AREA`, `SELECT`, `MULTI_SELECT`, `NUMERIC`, `PRICE`, …
    pub kind: String,
    /// `local` (translated values) or `global`.
    pub scope: String,
    /// Its names.
    pub name: Names,
    /// Its options (SELECT and MULTI_SELECT).
    pub options: Vec<AttributeOption>,
}

/// One category.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Category {
    /// The category code.
    pub code: String,
    /// Its names.
    pub name: Names,
}

/// A product's value of one attribute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductValue {
    /// A global attribute's value, in its wire form (string, number, array of option codes).
    Global(Value),
    /// A local attribute's value per language.
    Local(BTreeMap<String, Value>),
}

/// One product.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Product {
    /// The SKU.
    pub sku: String,
    /// `SIMPLE-PRODUCT`, `VARIABLE-PRODUCT` or `GROUPING-PRODUCT`.
    pub kind: String,
    /// Category codes it belongs to.
    pub categories: Vec<String>,
    /// Values by attribute code.
    pub values: BTreeMap<String, ProductValue>,
    /// Binding attribute codes (variable products).
    pub bindings: Vec<String>,
    /// Variant SKUs (variable products).
    pub variants: Vec<String>,
    /// Child SKU → quantity (grouping products).
    pub children: BTreeMap<String, u32>,
}

impl Product {
    fn new(sku: &str, kind: &str, categories: Vec<String>) -> Self {
        Product {
            sku: sku.into(),
            kind: kind.into(),
            categories,
            values: BTreeMap::new(),
            bindings: Vec::new(),
            variants: Vec::new(),
            children: BTreeMap::new(),
        }
    }
}

/// The whole catalog.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Catalog {
    /// Attributes by code.
    pub attributes: BTreeMap<String, Attribute>,
    /// Categories by code.
    pub categories: BTreeMap<String, Category>,
    /// Products by SKU.
    pub products: BTreeMap<String, Product>,
    next_option_id: u64,
}

/// One edit of the catalog; each maps to the synchronization event type(s) it causes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A new attribute → `attribute_created` (+ `attribute_option_created` per option).
    AddAttribute {
        /// Code.
        code: String,
        /// Type (`TEXT`, `SELECT`, …).
        kind: String,
        /// `local` or `global`.
        scope: String,
        /// Names by language.
        name: Names,
        /// Option codes (names = the code).
        #[serde(default)]
        options: Vec<String>,
    },
    /// → `attribute_name_changed`.
    RenameAttribute {
        /// Attribute code.
        code: String,
        /// Language.
        language: String,
        /// New name.
        name: String,
    },
    /// → `attribute_deleted` (products lose their values of it).
    DeleteAttribute {
        /// Attribute code.
        code: String,
    },
    /// → `attribute_option_created`.
    AddOption {
        /// Attribute code.
        attribute: String,
        /// Option code.
        code: String,
        /// Names by language.
        name: Names,
    },
    /// → `attribute_option_code_changed` (products' values follow the new code).
    ChangeOptionCode {
        /// Attribute code.
        attribute: String,
        /// Current option code.
        from: String,
        /// New option code.
        to: String,
    },
    /// → `attribute_option_name_changed`.
    RenameOption {
        /// Attribute code.
        attribute: String,
        /// Option code.
        code: String,
        /// Language.
        language: String,
        /// New name.
        name: String,
    },
    /// → `attribute_option_deleted` (products lose that option).
    DeleteOption {
        /// Attribute code.
        attribute: String,
        /// Option code.
        code: String,
    },
    /// → `category_created`.
    AddCategory {
        /// Code.
        code: String,
        /// Names by language.
        name: Names,
    },
    /// → `category_name_changed`.
    RenameCategory {
        /// Category code.
        code: String,
        /// Language.
        language: String,
        /// New name.
        name: String,
    },
    /// → `category_deleted` (products leave it).
    DeleteCategory {
        /// Category code.
        code: String,
    },
    /// → `product_created`.
    AddProduct {
        /// SKU.
        sku: String,
        /// `SIMPLE-PRODUCT`, `VARIABLE-PRODUCT` or `GROUPING-PRODUCT`.
        kind: String,
        /// Category codes.
        #[serde(default)]
        categories: Vec<String>,
    },
    /// → `product_value_added` (no value yet) or `product_value_changed`.
    SetValue {
        /// SKU.
        sku: String,
        /// Attribute code.
        attribute: String,
        /// The language, for a local attribute.
        #[serde(default)]
        language: Option<String>,
        /// The value in its wire form (string, number, option code(s)).
        value: Value,
    },
    /// → `product_value_removed`.
    RemoveValue {
        /// SKU.
        sku: String,
        /// Attribute code.
        attribute: String,
    },
    /// → `product_added_to_category`.
    AddToCategory {
        /// SKU.
        sku: String,
        /// Category code.
        category: String,
    },
    /// → `product_removed_from_category`.
    RemoveFromCategory {
        /// SKU.
        sku: String,
        /// Category code.
        category: String,
    },
    /// → `product_binding_added`.
    AddBinding {
        /// Variable product SKU.
        sku: String,
        /// SELECT attribute code.
        attribute: String,
    },
    /// → `product_binding_removed`.
    RemoveBinding {
        /// Variable product SKU.
        sku: String,
        /// Attribute code.
        attribute: String,
    },
    /// → `product_variant_added` (relations phase).
    AddVariant {
        /// Variable product SKU.
        sku: String,
        /// Variant SKU (an existing product).
        variant: String,
    },
    /// → `product_variant_removed` (relations phase).
    RemoveVariant {
        /// Variable product SKU.
        sku: String,
        /// Variant SKU.
        variant: String,
    },
    /// → `product_child_added` (relations phase).
    AddChild {
        /// Grouping product SKU.
        sku: String,
        /// Child SKU (an existing product).
        child: String,
        /// Quantity.
        quantity: u32,
    },
    /// → `product_child_quantity_changed` (relations phase).
    SetChildQuantity {
        /// Grouping product SKU.
        sku: String,
        /// Child SKU.
        child: String,
        /// New quantity.
        quantity: u32,
    },
    /// → `product_child_removed` (relations phase).
    RemoveChild {
        /// Grouping product SKU.
        sku: String,
        /// Child SKU.
        child: String,
    },
    /// → `product_deleted` (and its removal from parents, relations phase).
    DeleteProduct {
        /// SKU.
        sku: String,
    },
}

fn names(en: &str, de: &str) -> Names {
    BTreeMap::from([("en_GB".into(), en.into()), ("de_DE".into(), de.into())])
}

/// A SELECT attribute's options: (code, en_GB, de_DE).
const COLORS: [(&str, &str, &str); 4] = [
    ("red", "Red", "Rot"),
    ("blue", "Blue", "Blau"),
    ("green", "Green", "Grün"),
    ("black", "Black", "Schwarz"),
];
const SIZES: [(&str, &str, &str); 4] = [
    ("s", "Small", "Klein"),
    ("m", "Medium", "Mittel"),
    ("l", "Large", "Groß"),
    ("xl", "Extra large", "Extra groß"),
];
const CATEGORIES: [(&str, &str, &str); 5] = [
    ("shirts", "Shirts", "Hemden"),
    ("trousers", "Trousers", "Hosen"),
    ("shoes", "Shoes", "Schuhe"),
    ("accessories", "Accessories", "Zubehör"),
    ("sale", "Sale", "Angebote"),
];

impl Catalog {
    /// A catalog of exactly `products` products drawn from `seed`: from 10 products up, one
    /// variable product per ten (bound to `color` and `size`, three variants each) and one
    /// grouping product with three children; the rest simple.
    pub fn seeded(products: usize, seed: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut c = Catalog::default();
        let attribute = |c: &mut Catalog, code: &str, kind: &str, scope: &str, n: Names| {
            c.attributes.insert(
                code.into(),
                Attribute {
                    code: code.into(),
                    kind: kind.into(),
                    scope: scope.into(),
                    name: n,
                    options: Vec::new(),
                },
            );
        };
        attribute(&mut c, "name", "TEXT", "local", names("Name", "Name"));
        attribute(
            &mut c,
            "description",
            "TEXT_AREA",
            "local",
            names("Description", "Beschreibung"),
        );
        attribute(&mut c, "color", "SELECT", "global", names("Color", "Farbe"));
        attribute(&mut c, "size", "SELECT", "global", names("Size", "Größe"));
        attribute(&mut c, "fit", "SELECT", "global", names("Fit", "Passform"));
        attribute(
            &mut c,
            "material",
            "MULTI_SELECT",
            "global",
            names("Material", "Material"),
        );
        attribute(&mut c, "price", "PRICE", "global", names("Price", "Preis"));
        attribute(
            &mut c,
            "weight",
            "NUMERIC",
            "global",
            names("Weight", "Gewicht"),
        );
        attribute(&mut c, "ean", "TEXT", "global", names("EAN", "EAN"));
        for (attr, opts) in [
            ("color", &COLORS[..]),
            ("size", &SIZES[..]),
            (
                "fit",
                &[("regular", "Regular", "Normal"), ("slim", "Slim", "Schmal")][..],
            ),
            (
                "material",
                &[
                    ("cotton", "Cotton", "Baumwolle"),
                    ("wool", "Wool", "Wolle"),
                    ("leather", "Leather", "Leder"),
                ][..],
            ),
        ] {
            for (code, en, de) in opts {
                c.next_option_id += 1;
                let id = c.next_option_id;
                c.attributes
                    .get_mut(attr)
                    .expect("seeded attribute")
                    .options
                    .push(AttributeOption {
                        id,
                        code: (*code).into(),
                        name: names(en, de),
                    });
            }
        }
        for (code, en, de) in CATEGORIES {
            c.categories.insert(
                code.into(),
                Category {
                    code: code.into(),
                    name: names(en, de),
                },
            );
        }
        let variables = if products >= 10 { products / 10 } else { 0 };
        let groupings = usize::from(products >= 10);
        let simples = products - variables * 4 - groupings;
        let category = |rng: &mut fastrand::Rng| {
            let first = CATEGORIES[rng.usize(..4)].0.to_string();
            if rng.bool() {
                vec![first]
            } else {
                vec![first, "sale".into()]
            }
        };
        let add = |c: &mut Catalog, rng: &mut fastrand::Rng, sku: String, kind: &str, n: usize| {
            let mut p = Product::new(&sku, kind, category(rng));
            let local = |en: String, de: String| {
                ProductValue::Local(BTreeMap::from([
                    ("en_GB".into(), Value::from(en)),
                    ("de_DE".into(), Value::from(de)),
                ]))
            };
            p.values.insert(
                "name".into(),
                local(format!("Product {n}"), format!("Produkt {n}")),
            );
            if rng.bool() {
                p.values.insert(
                    "description".into(),
                    local(format!("About product {n}"), format!("Über Produkt {n}")),
                );
            }
            let cents = rng.u32(500..20_000);
            p.values.insert(
                "price".into(),
                ProductValue::Global(json!(f64::from(cents) / 100.0)),
            );
            p.values.insert(
                "weight".into(),
                ProductValue::Global(json!(rng.u32(100..3000))),
            );
            if rng.bool() {
                p.values
                    .insert("material".into(), ProductValue::Global(json!(["cotton"])));
            }
            c.products.insert(sku, p);
        };
        let mut n = 0;
        for _ in 0..simples {
            n += 1;
            add(&mut c, &mut rng, format!("SKU-{n:04}"), "SIMPLE-PRODUCT", n);
        }
        for v in 1..=variables {
            n += 1;
            let sku = format!("VAR-{v:04}");
            add(&mut c, &mut rng, sku.clone(), "VARIABLE-PRODUCT", n);
            let parent = c.products.get_mut(&sku).expect("just added");
            parent.bindings = vec!["color".into(), "size".into()];
            for (k, size) in SIZES.iter().take(3).enumerate() {
                n += 1;
                let variant = format!("{sku}-{k}");
                add(&mut c, &mut rng, variant.clone(), "SIMPLE-PRODUCT", n);
                let p = c.products.get_mut(&variant).expect("just added");
                let color = COLORS[rng.usize(..COLORS.len())].0;
                // Sizes s, m, l only: `xl` stays unused, for the scripted option deletion.
                p.values
                    .insert("color".into(), ProductValue::Global(json!(color)));
                p.values
                    .insert("size".into(), ProductValue::Global(json!(size.0)));
                c.products
                    .get_mut(&sku)
                    .expect("parent")
                    .variants
                    .push(variant);
            }
        }
        if groupings == 1 {
            n += 1;
            let sku = "BUNDLE-0001".to_string();
            add(&mut c, &mut rng, sku.clone(), "GROUPING-PRODUCT", n);
            let children = (1..=3)
                .map(|k| (format!("SKU-{k:04}"), rng.u32(1..4)))
                .collect();
            c.products.get_mut(&sku).expect("just added").children = children;
        }
        c
    }

    /// The edits that, applied to a freshly seeded catalog (10 products or more), make the next
    /// delta carry every event type the full synchronization does not.
    pub fn script(&self) -> Vec<Change> {
        let s = |v: &str| v.to_string();
        let mut out = vec![
            Change::RenameAttribute {
                code: s("color"),
                language: s("en_GB"),
                name: s("Colour"),
            },
            Change::ChangeOptionCode {
                attribute: s("color"),
                from: s("red"),
                to: s("crimson"),
            },
            Change::AddOption {
                attribute: s("size"),
                code: s("xxl"),
                name: names("Double extra large", "Doppel extra groß"),
            },
            Change::DeleteOption {
                attribute: s("size"),
                code: s("xl"),
            },
            Change::RenameOption {
                attribute: s("color"),
                code: s("blue"),
                language: s("de_DE"),
                name: s("Dunkelblau"),
            },
            Change::AddCategory {
                code: s("new_arrivals"),
                name: names("New arrivals", "Neuheiten"),
            },
            Change::RenameCategory {
                code: s("sale"),
                language: s("en_GB"),
                name: s("Clearance"),
            },
            Change::AddProduct {
                sku: s("SKU-NEW-1"),
                kind: s("SIMPLE-PRODUCT"),
                categories: vec![s("new_arrivals")],
            },
            Change::SetValue {
                sku: s("SKU-NEW-1"),
                attribute: s("name"),
                language: Some(s("en_GB")),
                value: json!("New product"),
            },
        ];
        let simples: Vec<&Product> = self
            .products
            .values()
            .filter(|p| p.sku.starts_with("SKU-") && p.kind == "SIMPLE-PRODUCT")
            .collect();
        if let (Some(first), Some(second), Some(last)) =
            (simples.first(), simples.get(1), simples.last())
        {
            out.push(Change::SetValue {
                sku: first.sku.clone(),
                attribute: s("price"),
                language: None,
                value: json!(1.23),
            });
            out.push(Change::SetValue {
                sku: first.sku.clone(),
                attribute: s("ean"),
                language: None,
                value: json!("4006381333931"),
            });
            out.push(Change::RemoveValue {
                sku: first.sku.clone(),
                attribute: s("weight"),
            });
            let missing = CATEGORIES
                .iter()
                .map(|c| c.0)
                .find(|c| !first.categories.iter().any(|have| have == c))
                .unwrap_or("new_arrivals");
            out.push(Change::AddToCategory {
                sku: first.sku.clone(),
                category: s(missing),
            });
            if let Some(category) = second.categories.first() {
                out.push(Change::RemoveFromCategory {
                    sku: second.sku.clone(),
                    category: category.clone(),
                });
            }
            if last.sku != first.sku && last.sku != second.sku {
                out.push(Change::DeleteProduct {
                    sku: last.sku.clone(),
                });
            }
        }
        if let Some(var) = self
            .products
            .values()
            .find(|p| p.kind == "VARIABLE-PRODUCT")
        {
            out.push(Change::AddBinding {
                sku: var.sku.clone(),
                attribute: s("fit"),
            });
            out.push(Change::RemoveBinding {
                sku: var.sku.clone(),
                attribute: s("size"),
            });
            let new_variant = format!("{}-NEW", var.sku);
            out.push(Change::AddProduct {
                sku: new_variant.clone(),
                kind: s("SIMPLE-PRODUCT"),
                categories: var.categories.clone(),
            });
            out.push(Change::SetValue {
                sku: new_variant.clone(),
                attribute: s("color"),
                language: None,
                value: json!("blue"),
            });
            out.push(Change::AddVariant {
                sku: var.sku.clone(),
                variant: new_variant,
            });
            if let Some(first) = var.variants.first() {
                out.push(Change::RemoveVariant {
                    sku: var.sku.clone(),
                    variant: first.clone(),
                });
            }
        }
        if let Some(bundle) = self
            .products
            .values()
            .find(|p| p.kind == "GROUPING-PRODUCT")
        {
            let mut kids = bundle.children.iter();
            if let Some((child, qty)) = kids.next() {
                out.push(Change::SetChildQuantity {
                    sku: bundle.sku.clone(),
                    child: child.clone(),
                    quantity: qty + 1,
                });
            }
            if let Some((child, _)) = kids.next() {
                out.push(Change::RemoveChild {
                    sku: bundle.sku.clone(),
                    child: child.clone(),
                });
            }
            out.push(Change::AddChild {
                sku: bundle.sku.clone(),
                child: s("SKU-NEW-1"),
                quantity: 2,
            });
        }
        out
    }

    fn product(&mut self, sku: &str) -> Result<&mut Product, String> {
        self.products
            .get_mut(sku)
            .ok_or_else(|| format!("no product {sku}"))
    }

    fn attribute(&mut self, code: &str) -> Result<&mut Attribute, String> {
        self.attributes
            .get_mut(code)
            .ok_or_else(|| format!("no attribute {code}"))
    }

    /// Applies one edit.
    pub fn apply(&mut self, change: &Change) -> Result<(), String> {
        match change {
            Change::AddAttribute {
                code,
                kind,
                scope,
                name,
                options,
            } => {
                if self.attributes.contains_key(code) {
                    return Err(format!("attribute {code} exists"));
                }
                let mut opts = Vec::new();
                for o in options {
                    self.next_option_id += 1;
                    opts.push(AttributeOption {
                        id: self.next_option_id,
                        code: o.clone(),
                        name: LANGUAGES
                            .iter()
                            .map(|l| (l.to_string(), o.clone()))
                            .collect(),
                    });
                }
                self.attributes.insert(
                    code.clone(),
                    Attribute {
                        code: code.clone(),
                        kind: kind.clone(),
                        scope: scope.clone(),
                        name: name.clone(),
                        options: opts,
                    },
                );
            }
            Change::RenameAttribute {
                code,
                language,
                name,
            } => {
                self.attribute(code)?
                    .name
                    .insert(language.clone(), name.clone());
            }
            Change::DeleteAttribute { code } => {
                self.attributes
                    .remove(code)
                    .ok_or_else(|| format!("no attribute {code}"))?;
                for p in self.products.values_mut() {
                    p.values.remove(code);
                    p.bindings.retain(|b| b != code);
                }
            }
            Change::AddOption {
                attribute,
                code,
                name,
            } => {
                self.next_option_id += 1;
                let id = self.next_option_id;
                let a = self.attribute(attribute)?;
                if a.options.iter().any(|o| &o.code == code) {
                    return Err(format!("option {attribute}.{code} exists"));
                }
                a.options.push(AttributeOption {
                    id,
                    code: code.clone(),
                    name: name.clone(),
                });
            }
            Change::ChangeOptionCode {
                attribute,
                from,
                to,
            } => {
                let a = self.attribute(attribute)?;
                let o = a
                    .options
                    .iter_mut()
                    .find(|o| &o.code == from)
                    .ok_or_else(|| format!("no option {attribute}.{from}"))?;
                o.code = to.clone();
                self.map_option_values(attribute, from, Some(to));
            }
            Change::RenameOption {
                attribute,
                code,
                language,
                name,
            } => {
                let a = self.attribute(attribute)?;
                let o = a
                    .options
                    .iter_mut()
                    .find(|o| &o.code == code)
                    .ok_or_else(|| format!("no option {attribute}.{code}"))?;
                o.name.insert(language.clone(), name.clone());
            }
            Change::DeleteOption { attribute, code } => {
                let a = self.attribute(attribute)?;
                let before = a.options.len();
                a.options.retain(|o| &o.code != code);
                if a.options.len() == before {
                    return Err(format!("no option {attribute}.{code}"));
                }
                self.map_option_values(attribute, code, None);
            }
            Change::AddCategory { code, name } => {
                if self.categories.contains_key(code) {
                    return Err(format!("category {code} exists"));
                }
                self.categories.insert(
                    code.clone(),
                    Category {
                        code: code.clone(),
                        name: name.clone(),
                    },
                );
            }
            Change::RenameCategory {
                code,
                language,
                name,
            } => {
                self.categories
                    .get_mut(code)
                    .ok_or_else(|| format!("no category {code}"))?
                    .name
                    .insert(language.clone(), name.clone());
            }
            Change::DeleteCategory { code } => {
                self.categories
                    .remove(code)
                    .ok_or_else(|| format!("no category {code}"))?;
                for p in self.products.values_mut() {
                    p.categories.retain(|c| c != code);
                }
            }
            Change::AddProduct {
                sku,
                kind,
                categories,
            } => {
                if self.products.contains_key(sku) {
                    return Err(format!("product {sku} exists"));
                }
                if let Some(c) = categories
                    .iter()
                    .find(|c| !self.categories.contains_key(*c))
                {
                    return Err(format!("no category {c}"));
                }
                self.products
                    .insert(sku.clone(), Product::new(sku, kind, categories.clone()));
            }
            Change::SetValue {
                sku,
                attribute,
                language,
                value,
            } => {
                let local = self.attribute(attribute)?.scope == "local";
                let p = self.product(sku)?;
                match (local, language) {
                    (true, Some(language)) => {
                        let entry = p
                            .values
                            .entry(attribute.clone())
                            .or_insert_with(|| ProductValue::Local(BTreeMap::new()));
                        if let ProductValue::Local(m) = entry {
                            m.insert(language.clone(), value.clone());
                        }
                    }
                    (true, None) => return Err(format!("{attribute} is local: give a language")),
                    (false, _) => {
                        p.values
                            .insert(attribute.clone(), ProductValue::Global(value.clone()));
                    }
                }
            }
            Change::RemoveValue { sku, attribute } => {
                self.product(sku)?
                    .values
                    .remove(attribute)
                    .ok_or_else(|| format!("{sku} has no {attribute}"))?;
            }
            Change::AddToCategory { sku, category } => {
                if !self.categories.contains_key(category) {
                    return Err(format!("no category {category}"));
                }
                let p = self.product(sku)?;
                if !p.categories.contains(category) {
                    p.categories.push(category.clone());
                }
            }
            Change::RemoveFromCategory { sku, category } => {
                self.product(sku)?.categories.retain(|c| c != category);
            }
            Change::AddBinding { sku, attribute } => {
                self.attribute(attribute)?;
                let p = self.product(sku)?;
                if !p.bindings.contains(attribute) {
                    p.bindings.push(attribute.clone());
                }
            }
            Change::RemoveBinding { sku, attribute } => {
                self.product(sku)?.bindings.retain(|b| b != attribute);
            }
            Change::AddVariant { sku, variant } => {
                self.product(variant)?;
                let p = self.product(sku)?;
                if !p.variants.contains(variant) {
                    p.variants.push(variant.clone());
                }
            }
            Change::RemoveVariant { sku, variant } => {
                self.product(sku)?.variants.retain(|v| v != variant);
            }
            Change::AddChild {
                sku,
                child,
                quantity,
            }
            | Change::SetChildQuantity {
                sku,
                child,
                quantity,
            } => {
                self.product(child)?;
                self.product(sku)?.children.insert(child.clone(), *quantity);
            }
            Change::RemoveChild { sku, child } => {
                self.product(sku)?.children.remove(child);
            }
            Change::DeleteProduct { sku } => {
                self.products
                    .remove(sku)
                    .ok_or_else(|| format!("no product {sku}"))?;
                for p in self.products.values_mut() {
                    p.variants.retain(|v| v != sku);
                    p.children.remove(sku);
                }
            }
        }
        Ok(())
    }

    /// Renames (or, with `None`, drops) an option code in every product's value of `attribute`.
    fn map_option_values(&mut self, attribute: &str, from: &str, to: Option<&String>) {
        for p in self.products.values_mut() {
            let Some(ProductValue::Global(v)) = p.values.get_mut(attribute) else {
                continue;
            };
            match v {
                Value::String(s) if s == from => match to {
                    Some(to) => *s = to.clone(),
                    None => {
                        p.values.remove(attribute);
                    }
                },
                Value::Array(items) => {
                    for item in items.iter_mut() {
                        if item.as_str() == Some(from) {
                            *item = to.map_or(Value::Null, |t| Value::from(t.as_str()));
                        }
                    }
                    items.retain(|i| !i.is_null());
                }
                _ => {}
            }
        }
    }
}
