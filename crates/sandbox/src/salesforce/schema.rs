//! The simulated org's objects: each with its key prefix, its external-id fields and its lookups
//! (the field holding a parent's id, the parent relationship's name for SOQL paths, and the
//! child relationship's name for sub-queries). The defaults are seed 000's MSI objects, with the
//! names its examples use.

/// A lookup from one object to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    /// The field holding the parent's id (`Product__c`).
    pub field: String,
    /// The parent relationship, for paths (`Product__r.ProductCode`).
    pub relationship: String,
    /// The parent object.
    pub target: String,
    /// The child relationship on the parent, for sub-queries (`Inventory_Source_Items__r`).
    pub child_relationship: String,
}

/// One object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// Its API name.
    pub name: String,
    /// The first three characters of its ids.
    pub key_prefix: String,
    /// Fields upserts may match on.
    pub external_ids: Vec<String>,
    /// Its lookups to parents.
    pub lookups: Vec<Lookup>,
}

/// Every object of the org.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema {
    /// The objects.
    pub objects: Vec<Object>,
}

fn lookup(field: &str, relationship: &str, target: &str, child: &str) -> Lookup {
    Lookup {
        field: field.into(),
        relationship: relationship.into(),
        target: target.into(),
        child_relationship: child.into(),
    }
}

fn object(name: &str, prefix: &str, external_ids: &[&str], lookups: Vec<Lookup>) -> Object {
    Object {
        name: name.into(),
        key_prefix: prefix.into(),
        external_ids: external_ids.iter().map(|s| s.to_string()).collect(),
        lookups,
    }
}

impl Default for Schema {
    fn default() -> Self {
        Schema {
            objects: vec![
                object(
                    "Product2",
                    "01t",
                    &["tnw_mage_basic__Magento_ID__c"],
                    vec![],
                ),
                object(
                    "tnw_mage_basic__Magento_Website__c",
                    "a02",
                    &["tnw_mage_basic__Website_ID__c"],
                    vec![],
                ),
                object("Inventory_Source__c", "a01", &["Source_Code__c"], vec![]),
                object(
                    "Inventory_Source_Item__c",
                    "a00",
                    &["Magento_ID__c"],
                    vec![
                        lookup(
                            "Product__c",
                            "Product__r",
                            "Product2",
                            "Inventory_Source_Items__r",
                        ),
                        lookup(
                            "Inventory_Source_Field__c",
                            "Inventory_Source_Field__r",
                            "Inventory_Source__c",
                            "Inventory_Source_Items__r",
                        ),
                    ],
                ),
                object("Inventory_Stock__c", "a0E", &["Magento_ID__c"], vec![]),
                object(
                    "Inventory_Stock_Sales_Channel__c",
                    "a0G",
                    &["Magento_ID__c"],
                    vec![
                        lookup(
                            "Inventory_Stock_Lookup__c",
                            "Inventory_Stock_Lookup__r",
                            "Inventory_Stock__c",
                            "Inventory_Stock_Sales_Channels__r",
                        ),
                        lookup(
                            "Magento_Website_Lookup__c",
                            "Magento_Website_Lookup__r",
                            "tnw_mage_basic__Magento_Website__c",
                            "Inventory_Stock_Sales_Channels__r",
                        ),
                    ],
                ),
                object(
                    "Inventory_Stock_Source_Link__c",
                    "a0F",
                    &["Magento_ID__c"],
                    vec![
                        lookup(
                            "Inventory_Stock_Lookup__c",
                            "Inventory_Stock_Lookup__r",
                            "Inventory_Stock__c",
                            "Inventory_Stock_Source_Links__r",
                        ),
                        lookup(
                            "Inventory_Source_Lookup__c",
                            "Inventory_Source_Lookup__r",
                            "Inventory_Source__c",
                            "Inventory_Stock_Source_Links__r",
                        ),
                    ],
                ),
            ],
        }
    }
}

impl Schema {
    /// The object named `name` (case-insensitive, as Salesforce reads names).
    pub fn object(&self, name: &str) -> Option<&Object> {
        self.objects
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    }

    /// The lookup of `object` whose parent relationship is `relationship`.
    pub fn parent(&self, object: &str, relationship: &str) -> Option<&Lookup> {
        self.object(object)?
            .lookups
            .iter()
            .find(|l| l.relationship.eq_ignore_ascii_case(relationship))
    }

    /// The child object and its lookup field behind `parent`'s child relationship `name`.
    pub fn child(&self, parent: &str, name: &str) -> Option<(&Object, &Lookup)> {
        self.objects.iter().find_map(|o| {
            o.lookups
                .iter()
                .find(|l| {
                    l.target.eq_ignore_ascii_case(parent)
                        && l.child_relationship.eq_ignore_ascii_case(name)
                })
                .map(|l| (o, l))
        })
    }
}
