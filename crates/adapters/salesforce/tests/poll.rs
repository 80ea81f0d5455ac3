//! The reconciliation read against the Salesforce simulator: Source Items page by page in
//! `SystemModstamp, Id` order, each as the stock position the pushed unit gives, a bad number
//! named, and a late commit caught by the overlap a finished pass rewinds by.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use syncd_adapter_salesforce::client::{ClientSettings, Grant, SalesforceClient};
use syncd_adapter_salesforce::poll::{read, rewound, PollCursor, Polled, Shape};
use syncd_adapter_salesforce::Names;
use syncd_core::model::StockPosition;
use syncd_core::{EntityKind, Record, Secret};
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

/// Reads a whole pass of Source Items from `cursor`, locator after locator: each row's
/// position (or error), and the cursor after the last.
async fn pass(
    client: &SalesforceClient,
    cursor: &PollCursor,
    with_deleted: bool,
) -> (
    Vec<(Result<StockPosition, String>, bool)>,
    PollCursor,
    usize,
) {
    let names = Names::default();
    let shape = Shape::of(&names, EntityKind::StockPosition).unwrap();
    let mut cursor = cursor.clone();
    let mut rows = Vec::new();
    let mut calls = 0;
    loop {
        let Polled { rows: page, next } = read(client, &names, &shape, &cursor, with_deleted, 200)
            .await
            .unwrap();
        calls += 1;
        if let Some(last) = page.last() {
            cursor = last.after.clone();
        }
        cursor.next = next.clone();
        rows.extend(page.into_iter().map(|r| {
            let position = match r.record {
                Ok(Record::StockPosition(p)) => Ok(p),
                Ok(other) => Err(format!("not a position: {other:?}")),
                Err(e) => Err(e.field),
            };
            (position, r.deleted)
        }));
        if next.is_none() {
            return (rows, cursor, calls);
        }
    }
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
    let (rows, _, pages) = pass(&client, &PollCursor::default(), false).await;
    assert_eq!(pages, 3, "450 rows in batches of 200 follow two locators");
    let read: Vec<_> = rows.into_iter().map(|(r, _)| r).collect();
    assert_eq!(read.len(), 450);
    let bad: Vec<_> = read.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(bad, vec!["Quantity__c"]);
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
    let (first, last, _) = pass(&client, &PollCursor::default(), true).await;
    assert_eq!(first.len(), 2);

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
    let (exact, _, _) = pass(&client, &last, true).await;
    assert!(
        exact.is_empty(),
        "read from the exact cursor, the late row is missed"
    );
    let (again, _, _) = pass(&client, &rewound(&last, Duration::from_secs(300)), true).await;
    let quantities: Vec<i64> = again
        .iter()
        .map(|(r, _)| r.as_ref().unwrap().on_hand)
        .collect();
    assert!(
        quantities.contains(&9),
        "the overlap reads it: {quantities:?}"
    );
}

#[tokio::test]
async fn a_deleted_item_comes_back_from_query_all_as_a_tombstone_of_its_position() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let client = client(&sim);
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
    let item = create(&client, "Inventory_Source_Item__c", json!({"Product__c": product, "Inventory_Source_Field__c": source, "Quantity__c": "4", "Status__c": "1"})).await;
    let (_, after_create, _) = pass(&client, &PollCursor::default(), true).await;
    sim.store().advance(chrono::Duration::seconds(5));
    let _: Value = client
        .call::<(), _>(
            Method::DELETE,
            &format!("/sobjects/Inventory_Source_Item__c/{item}"),
            None,
        )
        .await
        .unwrap();
    // "`query` never returns deletes → `queryAll … IsDeleted = true`"
    let (plain, _, _) = pass(&client, &after_create, false).await;
    assert!(plain.is_empty(), "{plain:?}");
    let (all, _, _) = pass(&client, &after_create, true).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let (position, deleted) = &all[0];
    assert!(deleted);
    let position = position.as_ref().unwrap();
    assert_eq!(
        (position.sku.as_str(), position.location.as_str()),
        ("sku1", "src")
    );
}

#[tokio::test]
async fn an_expired_locator_is_read_again_from_the_cursor() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let client = client(&sim);
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
    for i in 0..300 {
        create(&client, "Inventory_Source_Item__c", json!({"Product__c": product, "Inventory_Source_Field__c": source, "Quantity__c": i.to_string(), "Status__c": "1"})).await;
    }
    let names = Names::default();
    let shape = Shape::of(&names, EntityKind::StockPosition).unwrap();
    let first = read(&client, &names, &shape, &PollCursor::default(), true, 200)
        .await
        .unwrap();
    assert_eq!(first.rows.len(), 200);
    let mut cursor = first.rows.last().unwrap().after.clone();
    cursor.next = first.next.clone();
    assert!(cursor.next.is_some());
    // "locator + results live 2 days; expired → `INVALID_QUERY_LOCATOR`"
    sim.store().advance(chrono::Duration::days(3));
    let rest = read(&client, &names, &shape, &cursor, true, 200)
        .await
        .unwrap();
    let quantities: Vec<i64> = rest
        .rows
        .iter()
        .map(|r| match &r.record {
            Ok(Record::StockPosition(p)) => p.on_hand,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(quantities, (200..300).collect::<Vec<i64>>());
}
