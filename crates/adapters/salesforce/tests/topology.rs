//! The MSI topology read by poll gives the very records the package's pushes give: an org
//! holding seed 000's Sources, Stock, Website, link and channel, read object by object through
//! the connector, against the seed's own bodies read as pushed.

mod common;

use serde_json::{json, Map, Value};
use syncd_adapter_salesforce::{Body, Names, Unit};
use syncd_core::{EntityKind, ReadMode, ReadRequest, Record};
use syncd_sandbox::salesforce::{SalesforceSim, SalesforceSimConfig};

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

/// The records seed 000's body `name` carries, as the push path reads them.
fn pushed(name: &str) -> Vec<Record> {
    let names = Names::default();
    Body::parse(syncd_testkit::seed_example("000", name).as_bytes())
        .unwrap()
        .records
        .into_iter()
        .flat_map(|r| Unit::of(r, &names).unwrap().records(&names))
        .map(Result::unwrap)
        .collect()
}

async fn polled(sim: &SalesforceSim, entity: EntityKind) -> Vec<Record> {
    let dir = tempfile::tempdir().unwrap();
    let connector = common::connector(sim, dir.path(), "");
    let page = connector
        .source()
        .unwrap()
        .read_page(ReadRequest {
            entity,
            mode: ReadMode::Incremental,
            cursor: None,
            max_records: 2000,
        })
        .await
        .unwrap();
    assert!(page.done);
    page.items
        .into_iter()
        .map(|i| i.record.unwrap_or_else(|e| panic!("{entity}: {e:?}")))
        .collect()
}

#[tokio::test]
async fn sources_stocks_links_and_channels_read_by_poll_are_the_records_the_pushes_carry() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    {
        let mut store = sim.store();
        // The values of seed 000's examples.
        store
            .insert(
                "Inventory_Source__c",
                fields(json!({
                    "Name": "Source 6 Name", "Source_Code__c": "source6", "Enabled__c": "1",
                    "Description__c": "Some Description", "Postcode__c": "123456",
                    "Use_Default_Carrier_Config__c": "1", "Country_Id__c": "AZ",
                    "Frontend_Name__c": "Source 6 Frontend Name"
                })),
            )
            .unwrap();
        let source15 = store
            .insert(
                "Inventory_Source__c",
                fields(json!({
                    "Name": "Source 15 Name", "Source_Code__c": "source15code", "Enabled__c": "1",
                    "Description__c": "Some Description", "Postcode__c": "12345678",
                    "Use_Default_Carrier_Config__c": "0", "Country_Id__c": "AN",
                    "Frontend_Name__c": "Source 15 Frontend Name"
                })),
            )
            .unwrap();
        let stock = store
            .insert(
                "Inventory_Stock__c",
                fields(json!({"Name": "Stock 10 Name", "Magento_ID__c": "10"})),
            )
            .unwrap();
        let website = store
            .insert(
                "tnw_mage_basic__Magento_Website__c",
                fields(json!({
                    "Name": "Custom Website", "tnw_mage_basic__Code__c": "cw",
                    "tnw_mage_basic__Website_ID__c": 11
                })),
            )
            .unwrap();
        store
            .insert(
                "Inventory_Stock_Source_Link__c",
                fields(json!({
                    "Name": "Stock 10 Name:source15code", "Magento_ID__c": "30", "Priority__c": "5",
                    "Inventory_Stock_Lookup__c": stock, "Inventory_Source_Lookup__c": source15
                })),
            )
            .unwrap();
        store
            .insert("Inventory_Stock_Sales_Channel__c", fields(json!({
                "Name": "website:custom", "Magento_ID__c": "website_custom", "Type__c": "website",
                "Inventory_Stock_Lookup__c": stock, "Magento_Website_Lookup__c": website
            })))
            .unwrap();
    }
    // "Inventory Source synchronization: add Inventory Source data to the queue."
    let sources = polled(&sim, EntityKind::InventorySource).await;
    for record in pushed("inventory_source.sf.json") {
        assert!(sources.contains(&record), "{record:?} not in {sources:?}");
    }
    assert_eq!(sources.len(), 2);
    // "Inventory Stock synchronization: … Inventory Stock Sales Channel data and Inventory
    // Source Stock Link should be nested into Inventory Stock data."
    let stock = pushed("inventory_stock.sf.json");
    for entity in [
        EntityKind::InventoryStock,
        EntityKind::SourceStockLink,
        EntityKind::StockSalesChannel,
    ] {
        let expected: Vec<Record> = stock
            .iter()
            .filter(|r| r.entity() == entity)
            .cloned()
            .collect();
        assert_eq!(expected.len(), 1, "{entity}");
        assert_eq!(polled(&sim, entity).await, expected, "{entity}");
    }
}

#[tokio::test]
async fn sources_and_stocks_are_upserted_by_their_codes_and_read_back_the_same() {
    use syncd_core::model::{InventorySource, InventoryStock};
    use syncd_core::{WriteOp, WriteOutcome};
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let connector = common::connector(&sim, dir.path(), "");
    let source = InventorySource {
        code: "source6".into(),
        name: "Source 6 Name".into(),
        enabled: true,
        description: Some("Some Description".into()),
        country: Some("AZ".into()),
        postcode: Some("123456".into()),
        frontend_name: Some("Source 6 Frontend Name".into()),
        use_default_carrier_config: true,
    };
    let stock = InventoryStock {
        stock_id: "10".into(),
        name: "Stock 10 Name".into(),
    };
    let sink = connector.sink().unwrap();
    for _ in 0..2 {
        // Twice: the second is an update of the same records, not a second pair.
        let outcomes = sink
            .write_batch(
                EntityKind::InventorySource,
                &[WriteOp::Upsert {
                    record: Record::InventorySource(source.clone()),
                }],
            )
            .await
            .unwrap();
        assert!(matches!(outcomes[0], WriteOutcome::Applied), "{outcomes:?}");
        let outcomes = sink
            .write_batch(
                EntityKind::InventoryStock,
                &[WriteOp::Upsert {
                    record: Record::InventoryStock(stock.clone()),
                }],
            )
            .await
            .unwrap();
        assert!(matches!(outcomes[0], WriteOutcome::Applied), "{outcomes:?}");
    }
    assert_eq!(
        polled(&sim, EntityKind::InventorySource).await,
        vec![Record::InventorySource(source)]
    );
    assert_eq!(
        polled(&sim, EntityKind::InventoryStock).await,
        vec![Record::InventoryStock(stock)]
    );
    // The same as the seed's body carries: "Inventory Source synchronization: add Inventory
    // Source data to the queue."
    assert_eq!(
        polled(&sim, EntityKind::InventorySource).await,
        pushed("inventory_source.sf.json")
    );
}
