//! The reconciliation read against the Salesforce simulator: Source Items page by page in
//! `SystemModstamp, Id` order, each as the stock position the pushed unit gives, a bad number
//! named, and a late commit caught by the overlap a finished pass rewinds by.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use syncd_adapter_salesforce::client::{ClientSettings, Grant, SalesforceClient};
use syncd_adapter_salesforce::poll::{rewound, source_items, PollCursor};
use syncd_adapter_salesforce::Names;
use syncd_core::model::StockPosition;
use syncd_core::Secret;
use syncd_sandbox::salesforce::{SalesforceSim, SalesforceSimConfig, SANDBOX_JWT_PRIVATE_KEY};

fn client(sim: &SalesforceSim) -> SalesforceClient {
    SalesforceClient::new(ClientSettings {
        login_url: sim.url(),
        api_version: "62.0".into(),
        client_id: sim.config().client_id.clone(),
        grant: Grant::Jwt {
            username: sim.config().username.clone(),
            private_key: Secret::new(SANDBOX_JWT_PRIVATE_KEY),
        },
        budget_share: 1.0,
        request_timeout: Duration::from_secs(30),
    })
    .unwrap()
}

async fn create(client: &SalesforceClient, object: &str, fields: Value) -> String {
    let answer: Value = client
        .call(Method::POST, &format!("/sobjects/{object}"), Some(&fields))
        .await
        .unwrap();
    answer["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn source_items_are_read_page_by_page_as_stock_positions() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let client = client(&sim);
    let names = Names::default();
    let product = create(
        &client,
        "Product2",
        json!({"Name": "P", "ProductCode": "vebkotwi"}),
    )
    .await;
    let source = create(
        &client,
        "Inventory_Source__c",
        json!({"Name": "S", "Source_Code__c": "source6"}),
    )
    .await;
    for i in 0..450 {
        let quantity = if i == 7 {
            "27.5".to_string()
        } else {
            i.to_string()
        };
        create(&client, "Inventory_Source_Item__c", json!({"Product__c": product, "Inventory_Source_Field__c": source, "Quantity__c": quantity, "Status__c": "1"})).await;
    }
    let mut cursor = PollCursor::default();
    let mut read = Vec::new();
    let mut pages = 0;
    loop {
        let page = source_items(&client, &names, &cursor, 200).await.unwrap();
        pages += 1;
        if let Some((_, last)) = page.items.last() {
            cursor = last.clone();
        }
        read.extend(page.items.into_iter().map(|(r, _)| r));
        if page.done {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(read.len(), 450);
    let bad: Vec<_> = read.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].field, "Quantity__c", "{}", bad[0]);
    assert!(read
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .all(|p| p.sku == "vebkotwi" && p.location == "source6"));
    assert_eq!(
        read[0].as_ref().unwrap(),
        &StockPosition::new("vebkotwi", "source6", 0)
    );
}

#[tokio::test]
async fn a_late_commit_is_caught_by_the_overlap_a_finished_pass_rewinds_by() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let client = client(&sim);
    let names = Names::default();
    let product = create(
        &client,
        "Product2",
        json!({"Name": "P", "ProductCode": "sku1"}),
    )
    .await;
    let source = create(
        &client,
        "Inventory_Source__c",
        json!({"Name": "S", "Source_Code__c": "src"}),
    )
    .await;
    let item = create(&client, "Inventory_Source_Item__c", json!({"Product__c": product, "Inventory_Source_Field__c": source, "Quantity__c": "1", "Status__c": "1"})).await;
    sim.store().advance(chrono::Duration::minutes(10));
    create(&client, "Inventory_Source_Item__c", json!({"Product__c": product, "Inventory_Source_Field__c": source, "Quantity__c": "2", "Status__c": "1"})).await;
    let first = source_items(&client, &names, &PollCursor::default(), 200)
        .await
        .unwrap();
    assert!(first.done);
    let last = first.items.last().unwrap().1.clone();

    // A transaction that began two minutes ago commits now: its stamp is behind the cursor.
    sim.store().commit_late(chrono::Duration::minutes(2));
    // An update answers 204 without a body.
    let updated: Value = client
        .call(
            Method::PATCH,
            &format!("/sobjects/Inventory_Source_Item__c/{item}"),
            Some(&json!({"Quantity__c": "9"})),
        )
        .await
        .unwrap();
    assert_eq!(updated, Value::Null);
    let exact = source_items(&client, &names, &last, 200).await.unwrap();
    assert!(
        exact.items.is_empty(),
        "read from the exact cursor, the late row is missed"
    );
    let again = source_items(
        &client,
        &names,
        &rewound(&last, Duration::from_secs(300)),
        200,
    )
    .await
    .unwrap();
    let quantities: Vec<i64> = again
        .items
        .iter()
        .map(|(r, _)| r.as_ref().unwrap().on_hand)
        .collect();
    assert!(
        quantities.contains(&9),
        "the overlap reads it: {quantities:?}"
    );
}
