//! Salesforce end to end through the real binary and the Salesforce simulator: Source Items
//! read by poll (deletes included) and by the managed package's pushes into file targets,
//! quantities from the file ledger written back in one Collections call per 200 records, and a
//! kill in the middle of either path converging with nothing lost or doubled.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Map, Value};
use support::{until, Daemon};
use syncd_adapter_salesforce::client::{ClientSettings, Grant, SalesforceClient};
use syncd_core::Secret;
use syncd_sandbox::salesforce::{
    soql, SalesforceSim, SalesforceSimConfig, SANDBOX_JWT_PRIVATE_KEY,
};

const PUSH_SECRET: &str = "push-secret-0123456789abcdef";
const UPDATE: &str = "PATCH /services/data/{version}/composite/sobjects";
const CREATE: &str = "POST /services/data/{version}/composite/sobjects";

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

/// An org with `products` products (`P-000`…) and the sources `src1` and `src2`.
async fn org(products: usize) -> SalesforceSim {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    {
        let mut store = sim.store();
        for i in 0..products {
            let sku = format!("P-{i:03}");
            store
                .insert("Product2", fields(json!({"Name": sku, "ProductCode": sku})))
                .unwrap();
        }
        for code in ["src1", "src2"] {
            store
                .insert(
                    "Inventory_Source__c",
                    fields(json!({"Name": code, "Source_Code__c": code, "Enabled__c": "1"})),
                )
                .unwrap();
        }
    }
    sim
}

/// A client of the org, as any integration would hold one.
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

/// The id of the record of `object` whose `field` is `value`.
fn id_of(sim: &SalesforceSim, object: &str, field: &str, value: &str) -> String {
    let query = soql::parse(&format!(
        "SELECT Id FROM {object} WHERE {field} = '{value}'"
    ))
    .unwrap();
    let rows = sim.store().run(&query, false, "62.0").unwrap();
    rows[0]["Id"].as_str().unwrap().to_string()
}

/// Every Source Item of the org: (sku, source) → (quantity, status).
fn items(sim: &SalesforceSim) -> BTreeMap<(String, String), (String, String)> {
    let query = soql::parse("SELECT Quantity__c, Status__c, Product__r.ProductCode, Inventory_Source_Field__r.Source_Code__c FROM Inventory_Source_Item__c").unwrap();
    let rows = sim.store().run(&query, false, "62.0").unwrap();
    let mut out = BTreeMap::new();
    for row in rows {
        let key = (
            row["Product__r"]["ProductCode"]
                .as_str()
                .unwrap()
                .to_string(),
            row["Inventory_Source_Field__r"]["Source_Code__c"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        let value = (
            row["Quantity__c"].as_str().unwrap_or("").to_string(),
            row["Status__c"].as_str().unwrap_or("").to_string(),
        );
        assert!(
            out.insert(key.clone(), value).is_none(),
            "two Source Items for {key:?}"
        );
    }
    out
}

fn write_config(dir: &Path, sim: &SalesforceSim) {
    for sub in ["counts", "out"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let c = sim.config();
    let org = format!(
        "kind = \"salesforce\"\nlogin_url = \"{}\"\nclient_id = \"{}\"\nusername = \"{}\"\nprivate_key = {{ env = \"SF_PRIVATE_KEY\" }}",
        sim.url(),
        c.client_id,
        c.username
    );
    std::fs::write(
        dir.join("adapters.toml"),
        format!(
            r#"[daemon]
state_dir = "state"
admin_listen = "127.0.0.1:0"
public_listen = "127.0.0.1:0"
admin_token = {{ env = "SYNCD_TEST_ADMIN_TOKEN" }}

[connectors.sf]
{org}

[connectors.sf_push]
{org}
reads = "push"
push_secret = {{ env = "SF_PUSH_SECRET" }}

[connectors.polled]
kind = "file"
write_path = "out/polled.jsonl"

[connectors.pushed]
kind = "file"
write_path = "out/pushed.jsonl"

[connectors.counts]
kind = "file"
read_dir = "counts"

[connectors.ledger]
kind = "file"
ledger_path = "ledger.json"

[[pipelines]]
name = "sf-to-file"
from = "sf"
to = "polled"
entity = "stock_position"

[[pipelines]]
name = "push-to-file"
from = "sf_push"
to = "pushed"
entity = "stock_position"

[[pipelines]]
name = "counts-to-ledger"
from = "counts"
to = "ledger"
entity = "stock_position"

[[pipelines]]
name = "ledger-to-sf"
from = "ledger"
to = "sf"
entity = "stock_position"
mode = "full"
retry = {{ max_attempts = 6, initial_backoff_ms = 20, max_backoff_ms = 200 }}
"#
        ),
    )
    .unwrap();
}

const ENV: [(&str, &str); 2] = [
    ("SF_PRIVATE_KEY", SANDBOX_JWT_PRIVATE_KEY),
    ("SF_PUSH_SECRET", PUSH_SECRET),
];

/// Runs `pipeline` through `syncd trigger` and returns its report.
async fn run(d: &Daemon, pipeline: &str) -> Value {
    let before = d.runs_of(pipeline).await.len();
    d.trigger(pipeline);
    until(&format!("{pipeline} ran"), || async {
        d.runs_of(pipeline).await.len() > before
    })
    .await;
    let report = d.runs_of(pipeline).await.pop().unwrap();
    assert_eq!(
        report["outcome"]["result"],
        "succeeded",
        "{report}\n{}",
        d.log()
    );
    report
}

/// What a file target holds: key → on hand.
fn held(d: &Daemon, file: &str) -> BTreeMap<String, i64> {
    let path = d.path(&format!("out/{file}"));
    if !path.exists() {
        return BTreeMap::new();
    }
    syncd_adapter_file::read_snapshot(&path)
        .unwrap()
        .into_iter()
        .map(|(k, p)| (k.to_string(), p.on_hand))
        .collect()
}

async fn create_item(
    client: &SalesforceClient,
    sim: &SalesforceSim,
    sku: &str,
    source: &str,
    quantity: i64,
) -> String {
    let body = json!({
        "Product__c": id_of(sim, "Product2", "ProductCode", sku),
        "Inventory_Source_Field__c": id_of(sim, "Inventory_Source__c", "Source_Code__c", source),
        "Quantity__c": quantity.to_string(),
        "Status__c": "1",
    });
    let answer: Value = client
        .call(
            Method::POST,
            "/sobjects/Inventory_Source_Item__c",
            Some(&body),
        )
        .await
        .unwrap();
    answer["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn source_items_changed_in_salesforce_reach_a_file_target_by_poll_deletes_included() {
    let sim = org(150).await;
    let client = client(&sim);
    let mut ids = Vec::new();
    for i in 0..150 {
        ids.push(
            create_item(
                &client,
                &sim,
                &format!("P-{i:03}"),
                ["src1", "src2"][i % 2],
                i as i64,
            )
            .await,
        );
    }
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim);
    let d = Daemon::start_at(dir.path(), &ENV).await;

    let first = run(&d, "sf-to-file").await;
    assert_eq!(first["written"], 150, "{first}");
    let file = held(&d, "polled.jsonl");
    assert_eq!(file.len(), 150);
    assert_eq!(file["P-007|src2"], 7);

    // Three quantities change and one item is deleted, a minute later.
    sim.store().advance(chrono::Duration::seconds(60));
    for (i, quantity) in [(3, 300), (4, 400), (5, 500)] {
        let _: Value = client
            .call(
                Method::PATCH,
                &format!("/sobjects/Inventory_Source_Item__c/{}", ids[i]),
                Some(&json!({"Quantity__c": quantity.to_string()})),
            )
            .await
            .unwrap();
    }
    let _: Value = client
        .call::<(), _>(
            Method::DELETE,
            &format!("/sobjects/Inventory_Source_Item__c/{}", ids[9]),
            None,
        )
        .await
        .unwrap();
    let second = run(&d, "sf-to-file").await;
    assert_eq!(
        (second["written"].as_u64(), second["deleted"].as_u64()),
        (Some(3), Some(1)),
        "{second}"
    );
    let file = held(&d, "polled.jsonl");
    assert_eq!(file.len(), 149);
    assert_eq!(
        (file["P-003|src2"], file["P-004|src1"], file["P-005|src2"]),
        (300, 400, 500)
    );
    assert!(!file.contains_key("P-009|src2"));

    // Nothing changed: the overlap window is read again and costs no write.
    let third = run(&d, "sf-to-file").await;
    assert_eq!(
        (third["written"].as_u64(), third["deleted"].as_u64()),
        (Some(0), Some(0)),
        "{third}"
    );

    // The org's daily usage, as `Sforce-Limit-Info` said it, is a metric.
    let (_, metrics) = d.get("/metrics").await;
    let used = metrics
        .lines()
        .find(|l| l.starts_with("syncd_vendor_api_used{connector=\"sf\"}"))
        .unwrap_or_else(|| panic!("{metrics}"));
    let used: f64 = used.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(used >= 3.0, "{used}");
    assert!(
        metrics.contains("syncd_vendor_api_limit{connector=\"sf\"} 100000"),
        "{metrics}"
    );
}

/// A unit as the package pushes it on a Source Item change: the product, its items nested,
/// each with its source, all stamped `stamp`.
fn product_unit(sim: &SalesforceSim, sku: &str, items: &[(&str, &str, i64)], stamp: &str) -> Value {
    let nested: Vec<Value> = items
        .iter()
        .map(|(id, source, quantity)| {
            json!({
                "attributes": {"type": "Inventory_Source_Item__c"},
                "Id": id, "Quantity__c": quantity.to_string(), "Status__c": "1", "SystemModstamp": stamp,
                "Inventory_Source__c": {"totalSize": 1, "done": true, "records": [{
                    "attributes": {"type": "Inventory_Source__c"},
                    "Id": id_of(sim, "Inventory_Source__c", "Source_Code__c", source),
                    "Name": source, "Source_Code__c": source, "Enabled__c": "1", "SystemModstamp": stamp
                }]}
            })
        })
        .collect();
    json!({"sf": [{
        "attributes": {"type": "Product2"},
        "Id": id_of(sim, "Product2", "ProductCode", sku),
        "ProductCode": sku, "Name": sku, "SystemModstamp": stamp,
        "Inventory_Source_Item__c": {"totalSize": nested.len(), "done": true, "records": nested}
    }]})
}

async fn push(d: &Daemon, body: &Value, secret: &str) -> u16 {
    d.http
        .post(format!("{}/hooks/sf_push", d.public()))
        .bearer_auth(secret)
        .json(body)
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

#[tokio::test]
async fn pushed_units_reach_a_file_target_and_duplicates_and_late_pushes_change_nothing() {
    let sim = org(10).await;
    let client = client(&sim);
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim);
    let d = Daemon::start_at(dir.path(), &ENV).await;

    // The package pushes every change it sees, on its own, once pointed at the daemon (by the
    // sandbox's control, as `syncd sandbox` prints it).
    let pointed = d
        .http
        .put(format!("{}/_sandbox/push_to", sim.url()))
        .json(&json!({"url": format!("{}/hooks/sf_push", d.public()), "secret": PUSH_SECRET}))
        .send()
        .await
        .unwrap();
    assert_eq!(pointed.status().as_u16(), 204);
    create_item(&client, &sim, "P-001", "src1", 5).await;
    create_item(&client, &sim, "P-001", "src2", 6).await;
    create_item(&client, &sim, "P-002", "src1", 7).await;
    until("the package's three pushes are answered", || async {
        sim.push_answers().len() == 3
    })
    .await;
    assert_eq!(sim.push_answers(), vec![200, 200, 200]);
    let first = run(&d, "push-to-file").await;
    assert_eq!(first["dead_lettered"], 0, "{first}");
    assert_eq!(
        held(&d, "pushed.jsonl"),
        BTreeMap::from([
            ("P-001|src1".to_string(), 5),
            ("P-001|src2".to_string(), 6),
            ("P-002|src1".to_string(), 7)
        ])
    );

    // A wrong secret is refused before anything is kept.
    let newer = product_unit(
        &sim,
        "P-003",
        &[("a00000000000001AAA", "src1", 9)],
        "2031-01-01T00:00:01.000+0000",
    );
    assert_eq!(push(&d, &newer, "wrong-secret").await, 401);

    // The same unit twice, then an older one for the same item: delivered at least once and
    // in no promised order, the item ends at the newest quantity.
    assert_eq!(push(&d, &newer, PUSH_SECRET).await, 200);
    assert_eq!(push(&d, &newer, PUSH_SECRET).await, 200);
    let older = product_unit(
        &sim,
        "P-003",
        &[("a00000000000001AAA", "src1", 4)],
        "2031-01-01T00:00:00.000+0000",
    );
    assert_eq!(push(&d, &older, PUSH_SECRET).await, 200);
    let second = run(&d, "push-to-file").await;
    assert_eq!(
        second["written"], 1,
        "the duplicate is unchanged, the late unit dropped: {second}"
    );
    assert_eq!(held(&d, "pushed.jsonl")["P-003|src1"], 9);

    // A body that is no reverse-sync body is refused, naming where.
    let status = d
        .http
        .post(format!("{}/hooks/sf_push", d.public()))
        .bearer_auth(PUSH_SECRET)
        .body(r#"{"sf": [{"Id": "x"}]}"#)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 400);
    // A quantity that is no whole number is a dead letter naming the field.
    let bad = product_unit(
        &sim,
        "P-004",
        &[("a00000000000002AAA", "src1", 1)],
        "2031-01-01T00:00:02.000+0000",
    )
    .to_string()
    .replace("\"Quantity__c\":\"1\"", "\"Quantity__c\":\"1.5\"");
    let status = d
        .http
        .post(format!("{}/hooks/sf_push", d.public()))
        .bearer_auth(PUSH_SECRET)
        .header("content-type", "application/json")
        .body(bad)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(status, 200);
    let third = run(&d, "push-to-file").await;
    assert_eq!(third["dead_lettered"], 1, "{third}");
    let (_, letters) = d.get("/dlq/push-to-file").await;
    assert!(letters.contains("Quantity__c"), "{letters}");
}

#[tokio::test]
async fn a_kill_after_a_push_is_aged_and_before_it_is_kept_loses_nothing_when_the_package_sends_again(
) {
    let sim = org(3).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim);
    let mut env = ENV.to_vec();
    env.push(("SYNCD_CRASH_AT", "push_aged"));
    let mut d = Daemon::start_at(dir.path(), &env).await;
    let unit = product_unit(
        &sim,
        "P-001",
        &[("a00000000000003AAA", "src1", 11)],
        "2031-02-01T00:00:00.000+0000",
    );
    assert_eq!(
        push(&d, &unit, PUSH_SECRET).await,
        0,
        "the daemon died before it answered"
    );
    let (status, _) = d.exit().await;
    assert!(!status.success());

    // The package had no answer: it sends the unit again, to a daemon that came back.
    let d = Daemon::start_at(dir.path(), &ENV).await;
    assert_eq!(push(&d, &unit, PUSH_SECRET).await, 200);
    run(&d, "push-to-file").await;
    assert_eq!(held(&d, "pushed.jsonl")["P-001|src1"], 11);
}

/// Drops a count of every `P-nnn` at `src1` with `quantity(i)`.
fn count(dir: &Path, n: usize, quantity: impl Fn(usize) -> i64) {
    let files = std::fs::read_dir(dir.join("counts")).unwrap().count();
    let mut csv = String::from("sku,location,on_hand\n");
    for i in 0..n {
        csv.push_str(&format!("P-{i:03},src1,{}\n", quantity(i)));
    }
    std::fs::write(dir.join(format!("counts/{files:03}.csv")), csv).unwrap();
}

#[tokio::test]
async fn ledger_quantities_reach_salesforce_in_one_collections_call_per_200_and_none_when_unchanged(
) {
    let sim = org(450).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim);
    let d = Daemon::start_at(dir.path(), &ENV).await;

    // 450 new positions: their Source Items are created, 200 a call.
    count(dir.path(), 450, |i| i as i64);
    run(&d, "counts-to-ledger").await;
    let first = run(&d, "ledger-to-sf").await;
    assert_eq!(first["written"], 450, "{first}");
    assert_eq!(sim.log().calls(CREATE), 3, "{:?}", sim.log().snapshot());
    assert_eq!(sim.log().calls(UPDATE), 0);
    let held = items(&sim);
    assert_eq!(held.len(), 450);
    assert_eq!(
        held[&("P-123".to_string(), "src1".to_string())],
        ("123".to_string(), "1".to_string())
    );

    // Every quantity changes: 450 updates in ⌈450/200⌉ = 3 calls.
    sim.log().reset();
    count(dir.path(), 450, |i| i as i64 + 1000);
    run(&d, "counts-to-ledger").await;
    let second = run(&d, "ledger-to-sf").await;
    assert_eq!(second["written"], 450, "{second}");
    assert_eq!((sim.log().calls(UPDATE), sim.log().calls(CREATE)), (3, 0));
    assert_eq!(
        items(&sim)[&("P-449".to_string(), "src1".to_string())].0,
        "1449"
    );

    // Nothing changed: no call at all.
    sim.log().reset();
    let third = run(&d, "ledger-to-sf").await;
    assert_eq!(third["written"], 0, "{third}");
    assert_eq!((sim.log().calls(UPDATE), sim.log().calls(CREATE)), (0, 0));

    // A locked row is retried; an unknown product is a dead letter naming it.
    sim.log().reset();
    sim.lock_rows(1);
    count(dir.path(), 451, |i| i as i64 + 2000);
    run(&d, "counts-to-ledger").await;
    let fourth = run(&d, "ledger-to-sf").await;
    assert_eq!(
        (fourth["written"].as_u64(), fourth["dead_lettered"].as_u64()),
        (Some(450), Some(1)),
        "{fourth}"
    );
    let (_, letters) = d.get("/dlq/ledger-to-sf").await;
    assert!(letters.contains("P-450"), "{letters}");
    assert!(items(&sim)
        .values()
        .all(|(q, _)| q.parse::<i64>().unwrap() >= 2000));
}

/// `syncd once --json PIPELINES` with more environment, whatever its end.
async fn once(dir: &Path, pipelines: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_syncd"));
    command
        .args(["once", "--json", "--config"])
        .arg(dir.join("adapters.toml"))
        .args(pipelines)
        .env_remove("RUST_LOG")
        .env("SYNCD_TEST_ADMIN_TOKEN", support::ADMIN_TOKEN);
    for (k, v) in ENV.iter().chain(env) {
        command.env(k, v);
    }
    command.output().await.unwrap()
}

#[tokio::test]
async fn a_kill_after_salesforce_answered_a_create_converges_without_a_doubled_source_item() {
    let sim = org(450).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim);
    count(dir.path(), 450, |i| i as i64 + 7);
    let counted = once(dir.path(), &["counts-to-ledger"], &[]).await;
    assert!(
        counted.status.success(),
        "{}",
        String::from_utf8_lossy(&counted.stderr)
    );

    // The second of three create calls is answered, then the process dies before it
    // acknowledges it: 400 Source Items exist, the daemon knows of 200.
    let crashed = once(
        dir.path(),
        &["ledger-to-sf"],
        &[("SYNCD_CRASH_AT", "after_call:2")],
    )
    .await;
    assert!(!crashed.status.success());
    assert_eq!(sim.log().calls(CREATE), 2);
    assert_eq!(items(&sim).len(), 400);

    let rerun = once(dir.path(), &["ledger-to-sf"], &[]).await;
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let held = items(&sim);
    assert_eq!(held.len(), 450, "no Source Item was created twice");
    assert!(
        held.iter().all(|((sku, _), (q, _))| {
            let i: i64 = sku.trim_start_matches("P-").parse().unwrap();
            q.parse::<i64>().unwrap() == i + 7
        }),
        "every quantity is the count's"
    );
    let again = once(dir.path(), &["ledger-to-sf"], &[]).await;
    assert!(again.status.success());
    let reports: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(reports[0]["written"], 0, "{reports}");
}

#[tokio::test]
async fn every_seed_000_body_posted_verbatim_is_taken_and_the_source_item_reaches_the_target() {
    let sim = org(0).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim);
    let d = Daemon::start_at(dir.path(), &ENV).await;
    for name in [
        "inventory_source.sf.json",
        "inventory_source_item.sf.json",
        "inventory_stock.sf.json",
        "inventory_stock_sales_channel.sf.json",
        "inventory_source_stock_link.sf.json",
    ] {
        // The bytes of the seed's example, as the package sends them.
        let body = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/seeds/000")
                .join(name),
        )
        .unwrap();
        let status = d
            .http
            .post(format!("{}/hooks/sf_push", d.public()))
            .bearer_auth(PUSH_SECRET)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, 200, "{name}");
    }
    let report = run(&d, "push-to-file").await;
    assert_eq!(report["dead_lettered"], 0, "{report}");
    // "Inventory_Source_Item__c … "Quantity__c": "27", "Status__c": "1" … "ProductCode":
    // "vebkotwi" … "Source_Code__c": "source6""
    assert_eq!(
        held(&d, "pushed.jsonl"),
        BTreeMap::from([("vebkotwi|source6".to_string(), 27)])
    );
}

fn write_link_config(dir: &Path, sim: &SalesforceSim) {
    std::fs::create_dir_all(dir.join("counts")).unwrap();
    let c = sim.config();
    std::fs::write(
        dir.join("adapters.toml"),
        format!(
            r#"[daemon]
state_dir = "state"
admin_listen = "127.0.0.1:0"
admin_token = {{ env = "SYNCD_TEST_ADMIN_TOKEN" }}

[connectors.sf]
kind = "salesforce"
login_url = "{url}"
client_id = "{client}"
username = "{user}"
private_key = {{ env = "SF_PRIVATE_KEY" }}

[connectors.counts]
kind = "file"
read_dir = "counts"

[connectors.wms]
kind = "file"
ledger_path = "wms.json"

[[pipelines]]
name = "counts-to-wms"
from = "counts"
to = "wms"
entity = "stock_position"

[[pipelines]]
name = "wms-to-sf"
from = "wms"
to = "sf"
entity = "stock_position"
mode = "full"

[[pipelines]]
name = "sf-to-wms"
from = "sf"
to = "wms"
entity = "stock_position"
mode = "full"

[[links]]
name = "stock"
between = ["wms", "sf"]
entity = "stock_position"
owners = {{ on_hand = "wms", status = "sf" }}
"#,
            url = sim.url(),
            client = c.client_id,
            user = c.username,
        ),
    )
    .unwrap();
}

#[tokio::test]
async fn salesforce_is_a_link_side_that_owns_status_while_the_warehouse_owns_on_hand() {
    let sim = org(4).await;
    let client = client(&sim);
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(create_item(&client, &sim, &format!("P-{i:03}"), "src1", 5).await);
    }
    let dir = tempfile::tempdir().unwrap();
    write_link_config(dir.path(), &sim);
    let d = Daemon::start_at(dir.path(), &ENV).await;
    count(dir.path(), 4, |_| 10);
    run(&d, "counts-to-wms").await;

    // The warehouse's counts reach Salesforce; Salesforce's statuses stay.
    let first = run(&d, "wms-to-sf").await;
    assert_eq!(first["written"], 4, "{first}");
    assert!(items(&sim)
        .values()
        .all(|v| *v == ("10".to_string(), "1".to_string())));

    // In Salesforce a merchandiser takes P-002 out of stock, and someone types a quantity.
    let _: Value = client
        .call(
            Method::PATCH,
            &format!("/sobjects/Inventory_Source_Item__c/{}", ids[2]),
            Some(&json!({"Status__c": "0", "Quantity__c": "99"})),
        )
        .await
        .unwrap();
    let back = run(&d, "sf-to-wms").await;
    assert_eq!(back["written"], 1, "{back}");
    let wms: Value = serde_json::from_slice(&std::fs::read(d.path("wms.json")).unwrap()).unwrap();
    let p2 = wms["positions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sku"] == "P-002")
        .unwrap()
        .clone();
    assert_eq!(
        (p2["on_hand"].as_i64(), p2["status"].as_str()),
        (Some(10), Some("inactive")),
        "status from Salesforce, on hand still the warehouse's: {p2}"
    );

    // The warehouse's on hand wins in Salesforce again; the status Salesforce owns stays.
    let again = run(&d, "wms-to-sf").await;
    assert_eq!(again["written"], 1, "{again}");
    assert_eq!(
        items(&sim)[&("P-002".to_string(), "src1".to_string())],
        ("10".to_string(), "0".to_string())
    );

    // Both sides agree: neither way writes (our own writes come back as echoes).
    for pipeline in ["sf-to-wms", "wms-to-sf"] {
        let quiet = run(&d, pipeline).await;
        assert_eq!(quiet["written"], 0, "{pipeline}: {quiet}");
    }

    // `syncd drift` reads both sides now: in sync, exit 0.
    // (Run without blocking: the simulator answers on this test's runtime.)
    let drift = |json: bool| {
        let mut cmd = support::syncd();
        cmd.args(["drift", "--config"])
            .arg(dir.path().join("adapters.toml"))
            .arg("stock")
            .env("SF_PRIVATE_KEY", SANDBOX_JWT_PRIVATE_KEY);
        if json {
            cmd.arg("--json");
        }
        async move { tokio::process::Command::from(cmd).output().await.unwrap() }
    };
    let calm = drift(false).await;
    assert_eq!(
        calm.status.code(),
        Some(1 - 1),
        "{}",
        String::from_utf8_lossy(&calm.stderr)
    );
    assert!(String::from_utf8_lossy(&calm.stdout).contains("in sync"));
    // Someone edits on-hand in Salesforce: drift names the field and its owner, and exits 1.
    let _: Value = client
        .call(
            Method::PATCH,
            &format!("/sobjects/Inventory_Source_Item__c/{}", ids[1]),
            Some(&json!({"Quantity__c": "3"})),
        )
        .await
        .unwrap();
    let drifted = drift(true).await;
    assert_eq!(drifted.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&drifted.stdout).unwrap();
    assert_eq!(
        report["differences"],
        json!([{"kind": "differs", "key": "P-001|src1", "fields": [
            {"field": "on_hand", "source": 10, "target": 3, "owner": "wms"}
        ]}]),
        "{report}"
    );
    let table = String::from_utf8_lossy(&drift(false).await.stdout).to_string();
    assert!(
        table.contains("on_hand") && table.contains("wms") && table.contains("1 difference"),
        "{table}"
    );
}
