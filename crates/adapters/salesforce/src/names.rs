//! The names an org gives the MSI objects: object API names, the field of each logical
//! attribute, the labels related lists are nested under, and each object's external id. The
//! defaults are seed 000's; an org whose package prefixes its objects (`tnw_mage_basic__`,
//! `tnw_mage_enterp__`) sets `namespace`, and any single name can be overridden.

use serde::Deserialize;

/// One object's names.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectNames {
    /// The object's API name (`Inventory_Source__c`).
    pub object: String,
    /// The field that identifies a record across systems (upserts go by it).
    pub external_id: String,
}

/// Every name the connector reads and writes.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Names {
    /// The package prefix of the MSI objects and their custom fields (none by default, as in
    /// the seed's examples).
    pub namespace: String,
    /// Inventory Source.
    pub source: ObjectNames,
    /// Inventory Source Item.
    pub source_item: ObjectNames,
    /// Inventory Stock.
    pub stock: ObjectNames,
    /// Inventory Stock Sales Channel.
    pub sales_channel: ObjectNames,
    /// Inventory Source Stock Link.
    pub source_stock_link: ObjectNames,
    /// The Magento Website.
    pub website: ObjectNames,
    /// The product.
    pub product: ObjectNames,
    /// Source: its code.
    pub source_code: String,
    /// Source: whether it is enabled ("1"/"0").
    pub source_enabled: String,
    /// Source: description, postcode, country and storefront name.
    pub source_description: String,
    /// See `source_description`.
    pub source_postcode: String,
    /// See `source_description`.
    pub source_country: String,
    /// See `source_description`.
    pub source_frontend_name: String,
    /// Source Item: the quantity on hand.
    pub quantity: String,
    /// Source Item: its status ("1" in stock / "0").
    pub status: String,
    /// Source Item: the lookup to its Source, and the label its Source is nested under.
    pub item_source_lookup: String,
    /// Source Item: the lookup to its product.
    pub item_product_lookup: String,
    /// Product: the SKU.
    pub product_sku: String,
    /// Stock, Link, Channel: the Magento id (the stock id of a Stock).
    pub magento_id: String,
    /// Link: its priority.
    pub priority: String,
    /// Link: the lookup to its Stock.
    pub link_stock_lookup: String,
    /// Link: the lookup to its Source.
    pub link_source_lookup: String,
    /// Channel: the lookup to its Stock.
    pub channel_stock_lookup: String,
    /// Channel: the lookup to its Website.
    pub channel_website_lookup: String,
    /// Channel: its type (`website`).
    pub channel_type: String,
    /// Website: its code.
    pub website_code: String,
}

impl Default for Names {
    fn default() -> Self {
        let object = |object: &str, external_id: &str| ObjectNames {
            object: object.into(),
            external_id: external_id.into(),
        };
        Names {
            namespace: String::new(),
            source: object("Inventory_Source__c", "Source_Code__c"),
            source_item: object("Inventory_Source_Item__c", "Magento_ID__c"),
            stock: object("Inventory_Stock__c", "Magento_ID__c"),
            sales_channel: object("Inventory_Stock_Sales_Channel__c", "Magento_ID__c"),
            source_stock_link: object("Inventory_Stock_Source_Link__c", "Magento_ID__c"),
            website: object(
                "tnw_mage_basic__Magento_Website__c",
                "tnw_mage_basic__Website_ID__c",
            ),
            product: object("Product2", "tnw_mage_basic__Magento_ID__c"),
            source_code: "Source_Code__c".into(),
            source_enabled: "Enabled__c".into(),
            source_description: "Description__c".into(),
            source_postcode: "Postcode__c".into(),
            source_country: "Country_Id__c".into(),
            source_frontend_name: "Frontend_Name__c".into(),
            quantity: "Quantity__c".into(),
            status: "Status__c".into(),
            item_source_lookup: "Inventory_Source_Field__c".into(),
            item_product_lookup: "Product__c".into(),
            product_sku: "ProductCode".into(),
            magento_id: "Magento_ID__c".into(),
            priority: "Priority__c".into(),
            link_stock_lookup: "Inventory_Stock_Lookup__c".into(),
            link_source_lookup: "Inventory_Source_Lookup__c".into(),
            channel_stock_lookup: "Inventory_Stock_Lookup__c".into(),
            channel_website_lookup: "Magento_Website_Lookup__c".into(),
            channel_type: "Type__c".into(),
            website_code: "tnw_mage_basic__Code__c".into(),
        }
    }
}

impl Names {
    /// `name` as the org spells it: with the namespace prefix, for custom (`__c`) names that
    /// carry none yet.
    pub fn custom(&self, name: &str) -> String {
        let prefixed = name.contains("__") && name.find("__") != name.rfind("__");
        match self.namespace.is_empty() || !name.ends_with("__c") || prefixed {
            true => name.to_string(),
            false => format!("{}{name}", self.namespace),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_prefixes_custom_names_that_have_none() {
        let names = Names {
            namespace: "tnw_mage_enterp__".into(),
            ..Names::default()
        };
        assert_eq!(
            names.custom("Inventory_Source__c"),
            "tnw_mage_enterp__Inventory_Source__c"
        );
        assert_eq!(
            names.custom("tnw_mage_basic__Code__c"),
            "tnw_mage_basic__Code__c"
        );
        assert_eq!(names.custom("ProductCode"), "ProductCode");
        assert_eq!(Names::default().custom("Quantity__c"), "Quantity__c");
    }
}
