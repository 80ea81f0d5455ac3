//! The Salesforce simulator's Bulk API 2.0 (ingest and query jobs), version root and
//! Collections retrieve, called over HTTP as a client would, each test quoting the sentence of
//! the reference (`vendors-salesforce-shiphero.md`, Part A) it pins down.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use syncd_sandbox::salesforce::{SalesforceSim, SalesforceSimConfig};

const V: &str = "/services/data/v62.0";

/// How long a job may take before a test gives up on it.
const DEADLINE: Duration = Duration::from_secs(20);

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn login(sim: &SalesforceSim) -> Self {
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
        Client {
            http: reqwest::Client::new(),
            base: answer["instance_url"].as_str().unwrap().to_string(),
            token: answer["access_token"].as_str().unwrap().to_string(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let answer = request.bearer_auth(&self.token).send().await.unwrap();
        Answer {
            status: answer.status().as_u16(),
            headers: answer.headers().clone(),
            text: answer.text().await.unwrap(),
        }
    }

    async fn json(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.json(reqwest::Method::GET, path, None).await
    }

    async fn put_csv(&self, path: &str, csv: &str) -> Answer {
        let request = self
            .http
            .put(format!("{}{path}", self.base))
            .header("Content-Type", "text/csv")
            .body(csv.to_string());
        self.send(request).await
    }

    async fn create(&self, object: &str, fields: Value) -> String {
        let answer = self
            .json(
                reqwest::Method::POST,
                &format!("{V}/sobjects/{object}"),
                Some(fields),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        answer.json()["id"].as_str().unwrap().to_string()
    }

    /// Creates an ingest job, uploads `csv` and closes the upload: the job's id.
    async fn ingest(&self, job: Value, csv: &str) -> String {
        let created = self
            .json(
                reqwest::Method::POST,
                &format!("{V}/jobs/ingest"),
                Some(job),
            )
            .await;
        assert_eq!(created.status, 200, "{}", created.text);
        let info = created.json();
        assert_eq!(info["state"], "Open");
        let id = info["id"].as_str().unwrap().to_string();
        assert_eq!(
            info["contentUrl"],
            format!("services/data/v62.0/jobs/ingest/{id}/batches")
        );
        let uploaded = self
            .put_csv(&format!("/{}", info["contentUrl"].as_str().unwrap()), csv)
            .await;
        assert_eq!(uploaded.status, 201, "{}", uploaded.text);
        let closed = self
            .json(
                reqwest::Method::PATCH,
                &format!("{V}/jobs/ingest/{id}"),
                Some(json!({"state": "UploadComplete"})),
            )
            .await;
        assert_eq!(closed.status, 200, "{}", closed.text);
        assert_eq!(closed.json()["state"], "UploadComplete");
        id
    }

    /// Polls `path` (a job) every 50 ms until it is over or the deadline passes: the last job
    /// info and every state seen, in order.
    async fn poll(&self, path: &str) -> (Value, Vec<String>) {
        let started = Instant::now();
        let mut seen: Vec<String> = Vec::new();
        loop {
            let answer = self.get(path).await;
            assert_eq!(answer.status, 200, "{}", answer.text);
            assert!(answer.header("sforce-limit-info").is_some());
            let info = answer.json();
            let state = info["state"].as_str().unwrap().to_string();
            if seen.last() != Some(&state) {
                seen.push(state.clone());
            }
            if matches!(state.as_str(), "JobComplete" | "Failed" | "Aborted") {
                return (info, seen);
            }
            assert!(
                started.elapsed() < DEADLINE,
                "{path} still {state} after {DEADLINE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A CSV answer's rows, header first (the simulator quotes no cell these tests use).
fn rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

async fn start() -> (SalesforceSim, Client) {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let client = Client::login(&sim).await;
    (sim, client)
}

/// "Result CSVs: `…/successfulResults` (`sf__Id,sf__Created,…`), `…/failedResults`
/// (`sf__Id,sf__Error,…`), `…/unprocessedrecords`." An upsert whose second row names a parent
/// that does not exist: one row succeeds, one fails, each in its CSV.
#[tokio::test]
async fn an_upsert_job_with_a_missing_lookup_reports_one_success_and_one_failure() {
    let (_sim, client) = start().await;
    let product = client
        .create(
            "Product2",
            json!({"Name": "mowockag", "ProductCode": "vebkotwi", "tnw_mage_basic__Magento_ID__c": "p-1"}),
        )
        .await;
    let csv = "Magento_ID__c,Quantity__c,Product__r.tnw_mage_basic__Magento_ID__c\n\
               isi-1,27,p-1\n\
               isi-2,3,p-missing\n";
    let id = client
        .ingest(
            json!({"object": "Inventory_Source_Item__c", "externalIdFieldName": "Magento_ID__c",
                   "contentType": "CSV", "operation": "upsert", "lineEnding": "LF"}),
            csv,
        )
        .await;
    let (info, _) = client.poll(&format!("{V}/jobs/ingest/{id}")).await;
    assert_eq!(info["state"], "JobComplete", "{info}");
    assert_eq!(info["numberRecordsProcessed"], 2);
    assert_eq!(info["numberRecordsFailed"], 1);
    assert_eq!(info["externalIdFieldName"], "Magento_ID__c");

    let ok = client
        .get(&format!("{V}/jobs/ingest/{id}/successfulResults/"))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert!(ok.header("content-type").unwrap().starts_with("text/csv"));
    let ok = rows(&ok.text);
    assert_eq!(
        ok[0],
        [
            "sf__Id",
            "sf__Created",
            "Magento_ID__c",
            "Quantity__c",
            "Product__r.tnw_mage_basic__Magento_ID__c"
        ]
    );
    assert_eq!(ok.len(), 2, "{ok:?}");
    assert_eq!(&ok[1][1..], ["true", "isi-1", "27", "p-1"]);
    let created = ok[1][0].clone();

    let failed = client
        .get(&format!("{V}/jobs/ingest/{id}/failedResults/"))
        .await;
    assert_eq!(failed.status, 200);
    let failed = rows(&failed.text);
    assert_eq!(&failed[0][..2], ["sf__Id", "sf__Error"]);
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert_eq!(failed[1][0], "", "nothing was created");
    assert!(
        failed[1][1].starts_with("INVALID_FIELD:Foreign key external ID: p-missing not found"),
        "{:?}",
        failed[1]
    );
    assert_eq!(&failed[1][2..], ["isi-2", "3", "p-missing"]);

    let unprocessed = client
        .get(&format!("{V}/jobs/ingest/{id}/unprocessedrecords/"))
        .await;
    assert_eq!(unprocessed.status, 200);
    assert_eq!(rows(&unprocessed.text).len(), 1, "only the header");

    // The row went through the store: REST sees it, its lookup resolved to the product.
    let record = client
        .get(&format!("{V}/sobjects/Inventory_Source_Item__c/{created}"))
        .await;
    assert_eq!(record.status, 200, "{}", record.text);
    assert_eq!(record.json()["Product__c"], product.as_str());

    // The same upsert again updates rather than creates.
    let again = client
        .ingest(
            json!({"object": "Inventory_Source_Item__c", "externalIdFieldName": "Magento_ID__c",
                   "contentType": "CSV", "operation": "upsert"}),
            "Magento_ID__c,Quantity__c\nisi-1,30\n",
        )
        .await;
    client.poll(&format!("{V}/jobs/ingest/{again}")).await;
    let ok = client
        .get(&format!("{V}/jobs/ingest/{again}/successfulResults"))
        .await;
    assert_eq!(
        rows(&ok.text)[1],
        [created.as_str(), "false", "isi-1", "30"]
    );
}

/// "`DUPLICATE_VALUE`/`DUPLICATES_DETECTED` (re-resolve by external id)", and Bulk's
/// `REQUIRED_FIELD_MISSING` for an upsert row without its external id; the job list and
/// `DELETE` of a finished job.
#[tokio::test]
async fn insert_and_upsert_rows_fail_with_duplicate_value_and_required_field_missing() {
    let (_sim, client) = start().await;
    client
        .create(
            "Inventory_Source__c",
            json!({"Name": "Source 6", "Source_Code__c": "source6"}),
        )
        .await;
    let insert = client
        .ingest(
            json!({"object": "Inventory_Source__c", "contentType": "CSV", "operation": "insert"}),
            "Name,Source_Code__c\nSource 7,source7\nSource 6 again,source6\n",
        )
        .await;
    let (info, _) = client.poll(&format!("{V}/jobs/ingest/{insert}")).await;
    assert_eq!(
        (
            &info["numberRecordsProcessed"],
            &info["numberRecordsFailed"]
        ),
        (&json!(2), &json!(1))
    );
    let failed = client
        .get(&format!("{V}/jobs/ingest/{insert}/failedResults"))
        .await;
    let failed = rows(&failed.text);
    assert!(
        failed[1][1].starts_with("DUPLICATE_VALUE:duplicate value found: Source_Code__c"),
        "{failed:?}"
    );

    let upsert = client
        .ingest(
            json!({"object": "Inventory_Source__c", "externalIdFieldName": "Source_Code__c",
                   "contentType": "CSV", "operation": "upsert"}),
            "Name,Source_Code__c\nSource 8,source8\nNo code,\n",
        )
        .await;
    client.poll(&format!("{V}/jobs/ingest/{upsert}")).await;
    let failed = client
        .get(&format!("{V}/jobs/ingest/{upsert}/failedResults"))
        .await;
    let failed = rows(&failed.text);
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(
        failed[1][1].starts_with("REQUIRED_FIELD_MISSING:"),
        "{failed:?}"
    );

    let list = client.get(&format!("{V}/jobs/ingest")).await;
    assert_eq!(list.status, 200);
    let listed = list.json()["records"].as_array().unwrap().len();
    assert_eq!(listed, 2);
    let deleted = client
        .json(
            reqwest::Method::DELETE,
            &format!("{V}/jobs/ingest/{insert}"),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let gone = client.get(&format!("{V}/jobs/ingest/{insert}")).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json()[0]["errorCode"], "NOT_FOUND");
}

/// "poll `GET …/{id}`: `Open → UploadComplete → InProgress → JobComplete | Failed |
/// Aborted`": the org runs a job on its own time, so its rows land whether or not anyone
/// polls, and its results wait for it.
#[tokio::test]
async fn an_ingest_job_runs_on_the_orgs_own_time_and_an_aborted_one_leaves_rows_unprocessed() {
    let (sim, client) = start().await;
    let products = || {
        sim.store()
            .run(
                &syncd_sandbox::salesforce::soql::parse("SELECT Id FROM Product2").unwrap(),
                false,
                "62.0",
            )
            .unwrap()
            .len()
    };
    let id = client
        .ingest(
            json!({"object": "Product2", "contentType": "CSV", "operation": "insert"}),
            "Name,ProductCode\nOne,sku-1\nTwo,sku-2\n",
        )
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while products() < 2 {
        assert!(std::time::Instant::now() < deadline, "the job never ran");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (info, _) = client.poll(&format!("{V}/jobs/ingest/{id}")).await;
    assert_eq!(info["state"], "JobComplete");
    assert_eq!(info["numberRecordsProcessed"], 2);
    assert_eq!(products(), 2);

    let aborted = client
        .ingest(
            json!({"object": "Product2", "contentType": "CSV", "operation": "insert"}),
            "Name,ProductCode\nThree,sku-3\n",
        )
        .await;
    let answer = client
        .json(
            reqwest::Method::PATCH,
            &format!("{V}/jobs/ingest/{aborted}"),
            Some(json!({"state": "Aborted"})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let (info, _) = client.poll(&format!("{V}/jobs/ingest/{aborted}")).await;
    assert_eq!(info["state"], "Aborted");
    let unprocessed = client
        .get(&format!("{V}/jobs/ingest/{aborted}/unprocessedrecords"))
        .await;
    assert_eq!(
        rows(&unprocessed.text),
        [["Name", "ProductCode"], ["Three", "sku-3"]]
    );

    // A second upload to one job is refused, as Salesforce refuses it.
    let created = client
        .json(
            reqwest::Method::POST,
            &format!("{V}/jobs/ingest"),
            Some(json!({"object": "Product2", "contentType": "CSV", "operation": "insert"})),
        )
        .await;
    let twice = created.json()["id"].as_str().unwrap().to_string();
    let path = format!("{V}/jobs/ingest/{twice}/batches");
    assert_eq!(client.put_csv(&path, "Name\nA\n").await.status, 201);
    let again = client.put_csv(&path, "Name\nB\n").await;
    assert_eq!(again.status, 400);
    assert_eq!(again.json()[0]["errorCode"], "BULK_API_ERROR");
}

/// "Page with response header **`Sforce-Locator`**; the last page sends the literal
/// **`null`** (jsforce loops until it sees it)." Five rows read two at a time, parent paths as
/// dotted columns.
#[tokio::test]
async fn a_query_job_pages_its_csv_by_sforce_locator_ending_with_null() {
    let (_sim, client) = start().await;
    let product = client
        .create(
            "Product2",
            json!({"Name": "mowockag", "ProductCode": "vebkotwi"}),
        )
        .await;
    for qty in 1..=5 {
        client
            .create(
                "Inventory_Source_Item__c",
                json!({"Quantity__c": qty.to_string(), "Product__c": product}),
            )
            .await;
    }
    let bad = client
        .json(
            reqwest::Method::POST,
            &format!("{V}/jobs/query"),
            Some(json!({"operation": "query", "query": "SELECT Id FROM"})),
        )
        .await;
    assert_eq!(bad.status, 400, "Bad SOQL → 400 MALFORMED_QUERY");
    assert_eq!(bad.json()[0]["errorCode"], "MALFORMED_QUERY");

    let created = client
        .json(
            reqwest::Method::POST,
            &format!("{V}/jobs/query"),
            Some(json!({"operation": "query",
                        "query": "SELECT Id, Quantity__c, Product__r.ProductCode FROM Inventory_Source_Item__c ORDER BY Quantity__c"})),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let info = created.json();
    assert_eq!(info["object"], "Inventory_Source_Item__c");
    let id = info["id"].as_str().unwrap().to_string();
    let (info, _) = client.poll(&format!("{V}/jobs/query/{id}")).await;
    assert_eq!(info["state"], "JobComplete", "{info}");
    assert_eq!(info["numberRecordsProcessed"], 5);

    let mut locator: Option<String> = None;
    let mut quantities = Vec::new();
    let mut pages = 0;
    loop {
        let path = match &locator {
            None => format!("{V}/jobs/query/{id}/results?maxRecords=2"),
            Some(l) => format!("{V}/jobs/query/{id}/results?maxRecords=2&locator={l}"),
        };
        let page = client.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.text);
        pages += 1;
        assert!(pages <= 5, "the locator never said null");
        let csv = rows(&page.text);
        assert_eq!(csv[0], ["Id", "Quantity__c", "Product__r.ProductCode"]);
        assert_eq!(
            page.header("sforce-numberofrecords").unwrap(),
            (csv.len() - 1).to_string()
        );
        for row in &csv[1..] {
            assert_eq!(row[2], "vebkotwi");
            quantities.push(row[1].clone());
        }
        let next = page.header("sforce-locator").expect("Sforce-Locator");
        if next == "null" {
            break;
        }
        locator = Some(next);
    }
    assert_eq!(pages, 3);
    assert_eq!(quantities, ["1", "2", "3", "4", "5"]);

    let list = client.get(&format!("{V}/jobs/query")).await;
    assert_eq!(list.json()["records"].as_array().unwrap().len(), 1);
}

/// "`GET /services/data/vXX.X/` → resource → URL map [U keys]", authenticated like every other
/// call and counted in `Sforce-Limit-Info`.
#[tokio::test]
async fn the_version_root_maps_resources_to_their_urls() {
    let (sim, client) = start().await;
    let root = client.get(&format!("{V}/")).await;
    assert_eq!(root.status, 200, "{}", root.text);
    assert!(root.header("sforce-limit-info").is_some());
    let map = root.json();
    for (name, url) in [
        ("sobjects", "/services/data/v62.0/sobjects"),
        ("query", "/services/data/v62.0/query"),
        ("queryAll", "/services/data/v62.0/queryAll"),
        ("limits", "/services/data/v62.0/limits"),
        ("composite", "/services/data/v62.0/composite"),
        ("jobs", "/services/data/v62.0/jobs"),
    ] {
        assert_eq!(map[name], url, "{map}");
    }
    assert_eq!(client.get(V).await.status, 200, "without the slash too");
    let anonymous = reqwest::get(format!("{}{V}/", sim.url())).await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "INVALID_SESSION_ID");
}

/// "retrieve | `GET /sobjects/T/{id}[?fields=a,b]`; many → `POST /composite/sobjects/T`
/// `{"ids","fields"}`": the records in the order of the ids, `null` for one not found.
#[tokio::test]
async fn collections_retrieve_answers_in_the_order_of_ids_with_null_for_unknown_ones() {
    let (_sim, client) = start().await;
    let a = client
        .create("Product2", json!({"Name": "A", "ProductCode": "sku-a"}))
        .await;
    let b = client
        .create("Product2", json!({"Name": "B", "ProductCode": "sku-b"}))
        .await;
    let unknown = "01t5f0000000099AAA";
    let answer = client
        .json(
            reqwest::Method::POST,
            &format!("{V}/composite/sobjects/Product2"),
            Some(json!({"ids": [b, unknown, &a[..15]], "fields": ["Id", "ProductCode"]})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.header("sforce-limit-info").is_some());
    let records = answer.json();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0]["ProductCode"], "sku-b");
    assert_eq!(records[0]["attributes"]["type"], "Product2");
    assert!(records[1].is_null(), "{records:?}");
    assert_eq!(records[2]["Id"], a.as_str(), "a 15-character id finds it");

    let only_name = client
        .json(
            reqwest::Method::POST,
            &format!("{V}/composite/sobjects/Product2"),
            Some(json!({"ids": [a], "fields": ["Name"]})),
        )
        .await;
    let record = &only_name.json()[0];
    assert_eq!(record["Name"], "A");
    assert!(record.get("Id").is_none(), "only the fields asked for");

    let ids: Vec<String> = (0..2001).map(|_| a.clone()).collect();
    let too_many = client
        .json(
            reqwest::Method::POST,
            &format!("{V}/composite/sobjects/Product2"),
            Some(json!({"ids": ids, "fields": ["Id"]})),
        )
        .await;
    assert_eq!(too_many.status, 400);
    let malformed = client
        .json(
            reqwest::Method::POST,
            &format!("{V}/composite/sobjects/Product2"),
            Some(json!({"records": []})),
        )
        .await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.json()[0]["errorCode"], "JSON_PARSER_ERROR");
}
