//! The Salesforce simulator answers as the reference's contract for clients like jsforce says:
//! the token grants, the versions list, records created and read over REST, SOQL with parent
//! paths and locators, queryAll for deletes, Salesforce's error shapes and the API budget.

use serde_json::{json, Value};
use syncd_sandbox::salesforce::{SalesforceSim, SalesforceSimConfig};

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

const V: &str = "/services/data/v50.0";

impl Client {
    async fn password_grant(sim: &SalesforceSim) -> (u16, Value) {
        let c = sim.config();
        let password = format!("{}{}", c.password, c.security_token);
        let answer = reqwest::Client::new()
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
            .unwrap();
        (answer.status().as_u16(), answer.json().await.unwrap())
    }

    async fn login(sim: &SalesforceSim) -> Self {
        let (status, answer) = Self::password_grant(sim).await;
        assert_eq!(status, 200, "{answer}");
        Client {
            http: reqwest::Client::new(),
            base: answer["instance_url"].as_str().unwrap().to_string(),
            token: answer["access_token"].as_str().unwrap().to_string(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        batch: Option<usize>,
    ) -> (u16, Value, Option<String>) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(n) = batch {
            request = request.header("Sforce-Query-Options", format!("batchSize={n}"));
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        let limit = answer
            .headers()
            .get("sforce-limit-info")
            .map(|v| v.to_str().unwrap().to_string());
        let text = answer.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            limit,
        )
    }

    async fn create(&self, object: &str, fields: Value) -> String {
        let (status, answer, _) = self
            .call(
                reqwest::Method::POST,
                &format!("{V}/sobjects/{object}"),
                Some(fields),
                None,
            )
            .await;
        assert_eq!(status, 201, "{answer}");
        assert_eq!(answer["success"], true);
        answer["id"].as_str().unwrap().to_string()
    }

    async fn query(&self, endpoint: &str, soql: &str, batch: Option<usize>) -> (u16, Value) {
        let path = format!(
            "{V}/{endpoint}?q={}",
            soql.replace(' ', "+").replace('\'', "%27")
        );
        let (status, answer, _) = self.call(reqwest::Method::GET, &path, None, batch).await;
        (status, answer)
    }
}

#[tokio::test]
async fn the_token_grants_answer_as_salesforce_does() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let (status, answer) = Client::password_grant(&sim).await;
    assert_eq!(status, 200);
    for field in [
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
    ] {
        assert!(answer.get(field).is_some(), "{field} missing: {answer}");
    }
    assert!(
        answer.get("expires_in").is_none(),
        "Salesforce gives no expiry: refresh on 401"
    );
    let c = sim.config();
    let http = reqwest::Client::new();
    let token = |form: Vec<(&'static str, String)>| {
        let http = http.clone();
        let url = format!("{}/services/oauth2/token", sim.url());
        async move {
            let r = http.post(url).form(&form).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = token(vec![
        ("grant_type", "password".into()),
        ("client_id", c.client_id.clone()),
        ("client_secret", c.client_secret.clone()),
        ("username", c.username.clone()),
        ("password", c.password.clone()),
    ])
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "no security token"
    );
    let (status, _) = token(vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", c.client_id.clone()),
        ("client_secret", c.client_secret.clone()),
    ])
    .await;
    assert_eq!(status, 200);
    let refresh = sim.refresh_token();
    let (status, body) = token(vec![
        ("grant_type", "refresh_token".into()),
        ("client_id", c.client_id.clone()),
        ("refresh_token", refresh),
    ])
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["instance_url"].is_string() && body["id"].is_string(),
        "jsforce needs both: {body}"
    );
    let (status, body) = token(vec![
        ("grant_type", "authorization_code".into()),
        ("client_id", c.client_id.clone()),
    ])
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
}

#[tokio::test]
async fn records_created_over_rest_are_queried_with_parent_paths_and_locators() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let client = Client::login(&sim).await;
    let versions: Value = reqwest::get(format!("{}/services/data/", sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        versions
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["version"] == "50.0"),
        "jsforce's default"
    );

    let product = client
        .create(
            "Product2",
            json!({"Name": "mowockag", "ProductCode": "vebkotwi"}),
        )
        .await;
    assert!(
        product.starts_with("01t") && product.len() == 18,
        "{product}"
    );
    let source = client
        .create(
            "Inventory_Source__c",
            json!({"Name": "Source 6", "Source_Code__c": "source6"}),
        )
        .await;
    let mut items = Vec::new();
    for i in 0..450 {
        items.push(client.create("Inventory_Source_Item__c", json!({"Quantity__c": i.to_string(), "Status__c": "1", "Product__c": product, "Inventory_Source_Field__c": source})).await);
    }

    let (status, page) = client
        .query("query", "SELECT Id, Quantity__c, Product__r.ProductCode, Inventory_Source_Field__r.Source_Code__c FROM Inventory_Source_Item__c ORDER BY SystemModstamp, Id", Some(200))
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        (page["totalSize"].as_u64(), page["done"].as_bool()),
        (Some(450), Some(false))
    );
    assert_eq!(page["records"].as_array().unwrap().len(), 200);
    assert_eq!(page["records"][0]["Product__r"]["ProductCode"], "vebkotwi");
    assert_eq!(
        page["records"][0]["Inventory_Source_Field__r"]["Source_Code__c"],
        "source6"
    );
    let mut seen = page["records"].as_array().unwrap().len();
    let mut next = page["nextRecordsUrl"].as_str().map(str::to_string);
    while let Some(url) = next {
        let (status, more, _) = client
            .call(reqwest::Method::GET, &url, None, Some(200))
            .await;
        assert_eq!(status, 200, "{more}");
        seen += more["records"].as_array().unwrap().len();
        next = more["nextRecordsUrl"].as_str().map(str::to_string);
    }
    assert_eq!(seen, 450);

    // A deleted record leaves `query` and stays in `queryAll`, flagged.
    let (status, _, _) = client
        .call(
            reqwest::Method::DELETE,
            &format!("{V}/sobjects/Inventory_Source_Item__c/{}", items[0]),
            None,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let soql = format!(
        "SELECT Id, IsDeleted FROM Inventory_Source_Item__c WHERE Id = '{}'",
        items[0]
    );
    assert_eq!(client.query("query", &soql, None).await.1["totalSize"], 0);
    let all = client.query("queryAll", &soql, None).await.1;
    assert_eq!(all["records"][0]["IsDeleted"], true, "{all}");

    // One record by id, 15 characters or 18.
    let (status, one, limit) = client
        .call(
            reqwest::Method::GET,
            &format!("{V}/sobjects/Product2/{}", &product[..15]),
            None,
            None,
        )
        .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["ProductCode"], "vebkotwi");
    assert!(limit.unwrap().starts_with("api-usage="));
}

#[tokio::test]
async fn errors_come_in_salesforces_shape() {
    let sim = SalesforceSim::start(SalesforceSimConfig {
        daily_api_limit: 3,
        ..SalesforceSimConfig::default()
    })
    .await
    .unwrap();
    let client = Client::login(&sim).await;
    let (status, body) = client.query("query", "SELECT Id FROM", None).await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "MALFORMED_QUERY", "{body}");
    assert!(body[0]["fields"].is_array());
    let (status, body) = client
        .query("query", "SELECT Id, Nope__r.Name FROM Product2", None)
        .await;
    assert_eq!(
        (status, body[0]["errorCode"].as_str()),
        (400, Some("INVALID_FIELD")),
        "{body}"
    );
    let (status, body, _) = client
        .call(
            reqwest::Method::GET,
            &format!("{V}/sobjects/Product2/01t5f0000000000AAA"),
            None,
            None,
        )
        .await;
    assert_eq!(
        (status, body[0]["errorCode"].as_str()),
        (404, Some("NOT_FOUND")),
        "{body}"
    );
    // The fourth call of a day budgeted at three.
    let (status, body) = client.query("query", "SELECT Id FROM Product2", None).await;
    assert_eq!(
        (status, body[0]["errorCode"].as_str()),
        (403, Some("REQUEST_LIMIT_EXCEEDED")),
        "{body}"
    );
    sim.expire_sessions();
    let (status, body) = client.query("query", "SELECT Id FROM Product2", None).await;
    assert_eq!(
        (status, body[0]["errorCode"].as_str()),
        (401, Some("INVALID_SESSION_ID")),
        "{body}"
    );
}

fn source(code: &str, name: &str) -> Value {
    json!({"attributes": {"type": "Inventory_Source__c"}, "Source_Code__c": code, "Name": name})
}

#[tokio::test]
async fn collections_upsert_by_external_id_and_answer_each_record_in_order() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let client = Client::login(&sim).await;
    let upsert = format!("{V}/composite/sobjects/Inventory_Source__c/Source_Code__c");
    let patch = reqwest::Method::PATCH;
    let body = |records: Vec<Value>, all_or_none: bool| {
        Some(json!({"allOrNone": all_or_none, "records": records}))
    };

    let (status, results, _) = client
        .call(
            patch.clone(),
            &upsert,
            body(vec![source("s1", "One"), source("s2", "Two")], false),
            None,
        )
        .await;
    assert_eq!(status, 200, "{results}");
    assert_eq!(results[0]["created"], true);
    assert_eq!(results[1]["created"], true);
    let (_, results, _) = client
        .call(
            patch.clone(),
            &upsert,
            body(vec![source("s1", "One, renamed")], false),
            None,
        )
        .await;
    assert_eq!(
        (
            results[0]["success"].as_bool(),
            results[0]["created"].as_bool()
        ),
        (Some(true), Some(false))
    );
    let (_, found) = client
        .query(
            "query",
            "SELECT Name FROM Inventory_Source__c WHERE Source_Code__c = 's1'",
            None,
        )
        .await;
    assert_eq!(found["records"][0]["Name"], "One, renamed");

    // Contention fails a record alone; the next goes through.
    sim.lock_rows(1);
    let (_, results, _) = client
        .call(
            patch.clone(),
            &upsert,
            body(vec![source("s3", "Three"), source("s4", "Four")], false),
            None,
        )
        .await;
    assert_eq!(
        results[0]["errors"][0]["statusCode"], "UNABLE_TO_LOCK_ROW",
        "{results}"
    );
    assert_eq!(results[1]["success"], true);

    // A duplicate external id on create is the record's error, with the field; with allOrNone
    // the others are rolled back.
    let (_, results, _) = client
        .call(
            reqwest::Method::POST,
            &format!("{V}/composite/sobjects"),
            body(vec![source("s5", "Five"), source("s1", "Again")], true),
            None,
        )
        .await;
    assert_eq!(
        results[1]["errors"][0]["statusCode"], "DUPLICATE_VALUE",
        "{results}"
    );
    assert_eq!(results[1]["errors"][0]["fields"], json!(["Source_Code__c"]));
    assert_eq!(
        results[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    let (_, five) = client
        .query(
            "query",
            "SELECT Id FROM Inventory_Source__c WHERE Source_Code__c = 's5'",
            None,
        )
        .await;
    assert_eq!(five["totalSize"], 0, "rolled back");

    // At most 200 records a call.
    let many: Vec<Value> = (0..201).map(|i| source(&format!("m{i}"), "M")).collect();
    let (status, body_, _) = client.call(patch, &upsert, body(many, false), None).await;
    assert_eq!(
        (status, body_[0]["errorCode"].as_str()),
        (400, Some("EXCEEDED_ID_LIMIT")),
        "{body_}"
    );
}

#[tokio::test]
async fn a_single_upsert_answers_by_version_and_describe_names_the_relationships() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let client = Client::login(&sim).await;
    let (status, created, _) = client
        .call(
            reqwest::Method::PATCH,
            &format!("{V}/sobjects/Inventory_Source__c/Source_Code__c/s9"),
            Some(json!({"Name": "Nine"})),
            None,
        )
        .await;
    assert_eq!(
        (status, created["created"].as_bool()),
        (201, Some(true)),
        "{created}"
    );
    let (status, _, _) = client
        .call(
            reqwest::Method::PATCH,
            "/services/data/v45.0/sobjects/Inventory_Source__c/Source_Code__c/s9",
            Some(json!({"Name": "Nine!"})),
            None,
        )
        .await;
    assert_eq!(status, 204, "an update before API 46.0");
    let (status, updated, _) = client
        .call(
            reqwest::Method::PATCH,
            "/services/data/v62.0/sobjects/Inventory_Source__c/Source_Code__c/s9",
            Some(json!({"Name": "Nine!!"})),
            None,
        )
        .await;
    assert_eq!(
        (status, updated["created"].as_bool()),
        (200, Some(false)),
        "{updated}"
    );

    let (status, item, _) = client
        .call(
            reqwest::Method::GET,
            &format!("{V}/sobjects/Inventory_Source_Item__c/describe"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 200, "{item}");
    let product = item["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Product__c")
        .unwrap();
    assert_eq!(
        (
            product["type"].as_str(),
            product["relationshipName"].as_str()
        ),
        (Some("reference"), Some("Product__r"))
    );
    assert_eq!(product["referenceTo"], json!(["Product2"]));
    let (_, product2, _) = client
        .call(
            reqwest::Method::GET,
            &format!("{V}/sobjects/Product2/describe"),
            None,
            None,
        )
        .await;
    assert!(
        product2["childRelationships"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["relationshipName"] == "Inventory_Source_Items__r"),
        "{product2}"
    );
    let (_, all, _) = client
        .call(reqwest::Method::GET, &format!("{V}/sobjects"), None, None)
        .await;
    assert_eq!(all["maxBatchSize"], 200);
}

#[tokio::test]
async fn updated_and_deleted_list_changes_in_a_window_on_the_orgs_clock() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let client = Client::login(&sim).await;
    let start = syncd_sandbox::salesforce::store::stamp(sim.store().now());
    let one = client
        .create(
            "Inventory_Source__c",
            json!({"Name": "One", "Source_Code__c": "s1"}),
        )
        .await;
    sim.store().advance(chrono::Duration::hours(2));
    let two = client
        .create(
            "Inventory_Source__c",
            json!({"Name": "Two", "Source_Code__c": "s2"}),
        )
        .await;
    let (status, _, _) = client
        .call(
            reqwest::Method::DELETE,
            &format!("{V}/sobjects/Inventory_Source__c/{one}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let end =
        syncd_sandbox::salesforce::store::stamp(sim.store().now() + chrono::Duration::seconds(1));
    let encode = |t: &str| t.replace('+', "%2B");
    // jsforce's spelling (no trailing slash) and the documented one.
    for path in ["updated", "updated/"] {
        let (status, updated, _) = client
            .call(
                reqwest::Method::GET,
                &format!(
                    "{V}/sobjects/Inventory_Source__c/{path}?start={}&end={}",
                    encode(&start),
                    encode(&end)
                ),
                None,
                None,
            )
            .await;
        assert_eq!(status, 200, "{updated}");
        assert_eq!(updated["ids"], json!([two]), "{path}");
        assert!(updated["latestDateCovered"].is_string());
    }
    let (_, deleted, _) = client
        .call(
            reqwest::Method::GET,
            &format!(
                "{V}/sobjects/Inventory_Source__c/deleted?start={}&end={}",
                encode(&start),
                encode(&end)
            ),
            None,
            None,
        )
        .await;
    assert_eq!(
        deleted["deletedRecords"][0]["id"],
        one.as_str(),
        "{deleted}"
    );
}

#[tokio::test]
async fn a_jwt_bearer_assertion_signed_with_the_apps_key_gets_a_session() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let c = sim.config();
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(
        syncd_sandbox::salesforce::SANDBOX_JWT_PRIVATE_KEY.as_bytes(),
    )
    .unwrap();
    let grant = |sub: &str, exp_in: i64| {
        let claims = json!({
            "iss": c.client_id, "sub": sub, "aud": "https://login.salesforce.com",
            "exp": chrono::Utc::now().timestamp() + exp_in,
        });
        let assertion = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &key,
        )
        .unwrap();
        let url = format!("{}/services/oauth2/token", sim.url());
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .form(&[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("assertion", assertion.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = grant(&c.username, 180).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string() && body.get("refresh_token").is_none());
    let (status, body) = grant("someone@else.example", 180).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (status, body) = grant(&c.username, -600).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

#[tokio::test]
async fn describing_an_unknown_object_answers_not_found() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let client = Client::login(&sim).await;
    let (status, body, _) = client
        .call(
            reqwest::Method::GET,
            &format!("{V}/sobjects/Nope__c/describe"),
            None,
            None,
        )
        .await;
    assert_eq!(
        (status, body[0]["errorCode"].as_str()),
        (404, Some("NOT_FOUND")),
        "{body}"
    );
}

#[tokio::test]
async fn the_soap_login_jsforce_falls_back_to_gives_a_session_the_rest_api_takes() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let c = sim.config();
    let envelope = |password: &str| {
        format!(
            r#"<?xml version="1.0" encoding="utf-8" ?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><login xmlns="urn:partner.soap.sforce.com"><username>{}</username><password>{password}</password></login></soapenv:Body></soapenv:Envelope>"#,
            c.username
        )
    };
    let http = reqwest::Client::new();
    let url = format!("{}/services/Soap/u/50.0", sim.url());
    let answer = http
        .post(&url)
        .header("Content-Type", "text/xml")
        .header("SOAPAction", "\"\"")
        .body(envelope(&format!("{}{}", c.password, c.security_token)))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let text = answer.text().await.unwrap();
    let between = |tag: &str| {
        let start = text.find(&format!("<{tag}>")).unwrap() + tag.len() + 2;
        let end = text[start..].find(&format!("</{tag}>")).unwrap() + start;
        text[start..end].to_string()
    };
    for tag in ["serverUrl", "sessionId", "userId", "organizationId"] {
        assert!(!between(tag).is_empty(), "{tag} in {text}");
    }
    assert_eq!(between("passwordExpired"), "false");
    let session = between("sessionId");
    let query = http
        .get(format!(
            "{}/services/data/v50.0/query?q=SELECT+Id+FROM+Product2",
            sim.url()
        ))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(query.status(), 200, "the SOAP session works on REST");

    let refused = http
        .post(&url)
        .body(envelope("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 500);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("<faultstring>INVALID_LOGIN"));
}
