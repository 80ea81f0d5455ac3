//! Every example body of seed 000 (`fixtures/seeds/000`, copied verbatim): read into sObject
//! trees and written back unchanged, and read as the canonical records the seed's values say.

use proptest::prelude::*;
use syncd_adapter_salesforce::{Body, Names, Unit};
use syncd_core::model::{
    InventorySource, InventoryStock, SourceStockLink, StockPosition, StockSalesChannel,
};
use syncd_core::Record;

const BODIES: [&str; 5] = [
    "inventory_source.sf.json",
    "inventory_source_item.sf.json",
    "inventory_stock.sf.json",
    "inventory_stock_sales_channel.sf.json",
    "inventory_source_stock_link.sf.json",
];

fn body(name: &str) -> String {
    syncd_testkit::seed_example("000", name)
}

fn records(name: &str) -> Vec<Record> {
    let body = Body::parse(body(name).as_bytes()).unwrap();
    let names = Names::default();
    body.records
        .into_iter()
        .flat_map(|r| {
            Unit::of(r, &names)
                .unwrap_or_else(|| panic!("{name}: no unit"))
                .records(&names)
        })
        .map(|r| r.unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect()
}

#[test]
fn every_seed_body_is_read_and_written_back_the_same_modulo_key_order() {
    for name in BODIES {
        let text = body(name);
        let original: serde_json::Value = serde_json::from_str(&text).unwrap();
        let parsed = Body::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(parsed.render(), original, "{name}");
        let again = Body::parse(parsed.render().to_string().as_bytes()).unwrap();
        assert_eq!(again, parsed, "{name}: parse ∘ render is the identity");
    }
}

#[test]
fn inventory_source_synchronization_queues_the_source_alone() {
    // "Inventory Source synchronization: add Inventory Source data to the queue."
    assert_eq!(
        records("inventory_source.sf.json"),
        [Record::InventorySource(InventorySource {
            code: "source6".into(),
            name: "Source 6 Name".into(),
            enabled: true,
            description: Some("Some Description".into()),
            country: Some("AZ".into()),
            postcode: Some("123456".into()),
            frontend_name: Some("Source 6 Frontend Name".into()),
            use_default_carrier_config: true,
        })]
    );
}

#[test]
fn a_source_item_is_its_products_sku_at_its_sources_code() {
    // The item's `Quantity__c` "27" and `Status__c` "1", its Product2's `ProductCode`
    // "vebkotwi", its Source's `Source_Code__c` "source6".
    assert_eq!(
        records("inventory_source_item.sf.json"),
        [Record::StockPosition(StockPosition::new(
            "vebkotwi", "source6", 27
        ))]
    );
}

#[test]
fn a_stock_carries_its_links_and_channels_with_their_source_and_website() {
    // "Inventory Stock Sales Channel data and Inventory Source Stock Link should be nested into
    // Inventory Stock data. Website data should be nested into Inventory Stock Sales Channel
    // data. Inventory Source data should be nested into Inventory Source Stock Link data."
    assert_eq!(
        records("inventory_stock.sf.json"),
        [
            Record::InventoryStock(InventoryStock {
                stock_id: "10".into(),
                name: "Stock 10 Name".into(),
            }),
            Record::SourceStockLink(SourceStockLink {
                stock_id: "10".into(),
                source_code: "source15code".into(),
                priority: 5,
            }),
            Record::StockSalesChannel(StockSalesChannel {
                stock_id: "10".into(),
                channel_type: "website".into(),
                code: "cw".into(),
                website_name: Some("Custom Website".into()),
            }),
        ]
    );
}

#[test]
fn a_channel_or_a_link_alone_reads_its_stock_from_what_is_nested() {
    assert_eq!(
        records("inventory_stock_sales_channel.sf.json"),
        [Record::StockSalesChannel(StockSalesChannel {
            stock_id: "11".into(),
            channel_type: "website".into(),
            code: "cw".into(),
            website_name: Some("Custom Website".into()),
        })]
    );
    assert_eq!(
        records("inventory_source_stock_link.sf.json"),
        [Record::SourceStockLink(SourceStockLink {
            stock_id: "10".into(),
            source_code: "source15code".into(),
            priority: 5,
        })]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(syncd_testkit::fuzz_cases()))]

    /// Any bytes are a body or an error naming where, never a panic.
    #[test]
    fn any_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Body::parse(&bytes);
    }

    /// A seed body with any one field's value replaced still parses, and every unit record is
    /// a canonical record or an error naming its field.
    #[test]
    fn a_seed_body_with_any_value_changed_reads_or_names_the_field(
        which in 0..BODIES.len(),
        field in 0usize..64,
        value in prop_oneof![
            Just(serde_json::Value::Null),
            any::<i64>().prop_map(serde_json::Value::from),
            ".{0,8}".prop_map(serde_json::Value::from),
            any::<bool>().prop_map(serde_json::Value::from),
        ],
    ) {
        let mut original: serde_json::Value = serde_json::from_str(&body(BODIES[which])).unwrap();
        let record = original["sf"][0].as_object_mut().unwrap();
        let keys: Vec<String> = record.keys().filter(|k| *k != "attributes").cloned().collect();
        let key = &keys[field % keys.len()];
        record.insert(key.clone(), value);
        let names = Names::default();
        if let Ok(parsed) = Body::parse(original.to_string().as_bytes()) {
            for r in parsed.records {
                if let Some(unit) = Unit::of(r, &names) {
                    for read in unit.records(&names) {
                        if let Err(e) = read {
                            prop_assert!(!e.field.is_empty());
                        }
                    }
                }
            }
        }
    }
}
