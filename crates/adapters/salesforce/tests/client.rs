//! The org client against the Salesforce simulator: each OAuth grant, one re-authentication when
//! the session ends, and the daily API budget read from `Sforce-Limit-Info` and kept to.

mod common;

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use syncd_adapter_salesforce::client::{ClientSettings, Grant, SalesforceClient};
use syncd_core::{ErrorClass, Secret};
use syncd_sandbox::salesforce::{SalesforceSim, SalesforceSimConfig, SANDBOX_JWT_PRIVATE_KEY};

fn settings(sim: &SalesforceSim, grant: Grant, budget_share: f64) -> ClientSettings {
    ClientSettings {
        login_url: sim.url(),
        api_version: "62.0".into(),
        client_id: sim.config().client_id.clone(),
        grant,
        budget_share,
        request_timeout: Duration::from_secs(30),
    }
}

fn jwt(sim: &SalesforceSim) -> Grant {
    Grant::Jwt {
        username: sim.config().username.clone(),
        private_key: Secret::new(SANDBOX_JWT_PRIVATE_KEY),
    }
}

const QUERY: &str = "/query?q=SELECT+Id+FROM+Product2";

#[tokio::test]
async fn every_grant_opens_a_session_the_api_takes() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let grants = [
        jwt(&sim),
        Grant::ClientCredentials {
            client_secret: Secret::new(sim.config().client_secret.clone()),
        },
        Grant::RefreshToken {
            refresh_token: Secret::new(sim.refresh_token()),
            client_secret: None,
        },
    ];
    for grant in grants {
        let client = SalesforceClient::new(settings(&sim, grant.clone(), 1.0)).unwrap();
        let answer: Value = client
            .call::<(), _>(Method::GET, QUERY, None)
            .await
            .unwrap();
        assert_eq!(answer["totalSize"], 0, "{grant:?}");
    }
    let refused = SalesforceClient::new(settings(
        &sim,
        Grant::ClientCredentials {
            client_secret: Secret::new("wrong"),
        },
        1.0,
    ))
    .unwrap();
    let e = refused
        .call::<(), Value>(Method::GET, QUERY, None)
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Auth, "{e}");
}

#[tokio::test]
async fn an_ended_session_is_opened_again_once_and_the_call_goes_through() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let client = SalesforceClient::new(settings(&sim, jwt(&sim), 1.0)).unwrap();
    client
        .call::<(), Value>(Method::GET, QUERY, None)
        .await
        .unwrap();
    sim.expire_sessions();
    client
        .call::<(), Value>(Method::GET, QUERY, None)
        .await
        .unwrap();
    assert_eq!(sim.log().calls("POST /services/oauth2/token"), 2);
}

#[tokio::test]
async fn the_connectors_share_of_the_daily_budget_is_kept_to() {
    let sim = SalesforceSim::start(SalesforceSimConfig {
        daily_api_limit: 10,
        ..SalesforceSimConfig::default()
    })
    .await
    .unwrap();
    let client = SalesforceClient::new(settings(&sim, jwt(&sim), 0.5)).unwrap();
    for _ in 0..5 {
        client
            .call::<(), Value>(Method::GET, QUERY, None)
            .await
            .unwrap();
    }
    assert_eq!(client.usage().used, 5);
    assert_eq!(client.usage().allocation, 10);
    let e = client
        .call::<(), Value>(Method::GET, QUERY, None)
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::RateLimited, "{e}");
    assert_eq!(
        sim.log().calls("GET /services/data/{version}/query"),
        5,
        "refused before it reached the org"
    );
}

#[tokio::test]
async fn a_run_is_refused_at_its_start_once_the_share_of_the_budget_is_used_naming_the_key() {
    use syncd_core::{EntityKind, ReadMode, ReadRequest};
    let sim = SalesforceSim::start(SalesforceSimConfig {
        daily_api_limit: 4,
        ..SalesforceSimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let connector = common::connector(&sim, dir.path(), "budget_share = 0.5");
    let read = || async {
        connector
            .source()
            .unwrap()
            .read_page(ReadRequest {
                entity: EntityKind::StockPosition,
                mode: ReadMode::Incremental,
                cursor: None,
                max_records: 200,
            })
            .await
    };
    read().await.unwrap();
    read().await.unwrap();
    let e = read().await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Config, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("connectors.sf.budget_share") && text.contains("2 of its 4"),
        "{text}"
    );
    let stopped = connector.check().await.unwrap_err();
    assert!(stopped.to_string().contains("budget_share"), "{stopped}");
}
