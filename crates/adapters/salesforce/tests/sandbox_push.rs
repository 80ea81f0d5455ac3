//! The sandbox org plays the managed package: records written over its REST API come back as
//! reverse-sync pushes, and each push reads as the units and canonical records seed 000 says.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use serde_json::{json, Value};
use syncd_adapter_salesforce::{Body, Names, Unit};
use syncd_core::model::{SourceStockLink, StockPosition, StockStatus};
use syncd_core::Record;
use syncd_sandbox::salesforce::{SalesforceSim, SalesforceSimConfig};

type Pushed = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

async fn receiver() -> (String, Pushed) {
    let pushed: Pushed = Arc::default();
    let keep = pushed.clone();
    let app = axum::Router::new().route(
        "/rest/V1/tnw/reverse-sync",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let keep = keep.clone();
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                keep.lock().unwrap().push((auth, body.to_vec()));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/rest/V1/tnw/reverse-sync",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, pushed)
}

async fn session(sim: &SalesforceSim) -> (reqwest::Client, String) {
    let c = sim.config();
    let password = format!("{}{}", c.password, c.security_token);
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", sim.url()))
        .form(&[
            ("grant_type", "password"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
            ("username", c.username.as_str()),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        reqwest::Client::new(),
        answer["access_token"].as_str().unwrap().to_string(),
    )
}

async fn create(
    sim: &SalesforceSim,
    http: &reqwest::Client,
    token: &str,
    object: &str,
    fields: Value,
) -> String {
    let answer: Value = http
        .post(format!(
            "{}/services/data/v54.0/sobjects/{object}",
            sim.url()
        ))
        .bearer_auth(token)
        .json(&fields)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["id"].as_str().unwrap().to_string()
}

async fn pushes(pushed: &Pushed, at_least: usize) -> Vec<(String, Vec<u8>)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = pushed.lock().unwrap().clone();
        if now.len() >= at_least {
            return now;
        }
        assert!(Instant::now() < deadline, "only {} pushes", now.len());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn records(body: &[u8]) -> Vec<Record> {
    let names = Names::default();
    Body::parse(body)
        .unwrap()
        .records
        .into_iter()
        .flat_map(|r| Unit::of(r, &names).unwrap().records(&names))
        .map(Result::unwrap)
        .collect()
}

#[tokio::test]
async fn a_source_item_change_pushes_its_product_with_every_item_and_each_items_source() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let (url, pushed) = receiver().await;
    sim.push_to(&url, "package-secret");
    let (http, token) = session(&sim).await;
    let product = create(
        &sim,
        &http,
        &token,
        "Product2",
        json!({"Name": "mowockag", "ProductCode": "vebkotwi"}),
    )
    .await;
    let a = create(
        &sim,
        &http,
        &token,
        "Inventory_Source__c",
        json!({"Name": "A", "Source_Code__c": "srcA", "Enabled__c": "1"}),
    )
    .await;
    let b = create(
        &sim,
        &http,
        &token,
        "Inventory_Source__c",
        json!({"Name": "B", "Source_Code__c": "srcB", "Enabled__c": "1"}),
    )
    .await;
    create(&sim, &http, &token, "Inventory_Source_Item__c", json!({"Product__c": product, "Inventory_Source_Field__c": a, "Quantity__c": "27", "Status__c": "1"})).await;
    create(&sim, &http, &token, "Inventory_Source_Item__c", json!({"Product__c": product, "Inventory_Source_Field__c": b, "Quantity__c": "3", "Status__c": "0"})).await;
    // Two sources queued alone, then the product's unit after each item.
    let all = pushes(&pushed, 4).await;
    assert!(all.iter().all(|(auth, _)| auth == "Bearer package-secret"));
    // Pushes go out concurrently, in no set order: the unit after the second item is the one
    // holding both.
    let last = all
        .iter()
        .map(|(_, body)| records(body))
        .find(|r| r.len() == 2)
        .unwrap_or_else(|| panic!("no push holds both items"));
    let mut inactive = StockPosition::new("vebkotwi", "srcB", 3);
    inactive.status = StockStatus::Inactive;
    assert_eq!(
        last,
        [
            Record::StockPosition(StockPosition::new("vebkotwi", "srcA", 27)),
            Record::StockPosition(inactive),
        ],
        "the product with both of its items, each with its source"
    );
}

#[tokio::test]
async fn a_link_change_pushes_its_stock_with_links_and_channels() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let (url, pushed) = receiver().await;
    let (http, token) = session(&sim).await;
    let source = create(
        &sim,
        &http,
        &token,
        "Inventory_Source__c",
        json!({"Name": "Source 15", "Source_Code__c": "source15code", "Enabled__c": "1"}),
    )
    .await;
    let stock = create(
        &sim,
        &http,
        &token,
        "Inventory_Stock__c",
        json!({"Name": "Stock 10", "Magento_ID__c": "10"}),
    )
    .await;
    sim.push_to(&url, "package-secret");
    create(&sim, &http, &token, "Inventory_Stock_Source_Link__c", json!({"Name": "Stock 10:source15code", "Inventory_Stock_Lookup__c": stock, "Inventory_Source_Lookup__c": source, "Magento_ID__c": "30", "Priority__c": "5"})).await;
    let all = pushes(&pushed, 1).await;
    let read = records(&all[0].1);
    assert_eq!(read.len(), 2, "{read:?}");
    assert_eq!(
        read[1],
        Record::SourceStockLink(SourceStockLink {
            stock_id: "10".into(),
            source_code: "source15code".into(),
            priority: 5,
        })
    );
}
