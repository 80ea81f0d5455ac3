//! The PIM app end to end through the real binary, called as Ergonode calls it (a real HTTP
//! client, tokens signed HS256 with the installation's secret): the handshake, every seed 002
//! example accepted verbatim, a body that breaks a schema refused by pointer, bad tokens refused
//! with nothing stored, a full synchronization that only counts once it ends, and the catalog
//! guard holding back stock of an unknown SKU until its product arrives.

mod support;

use std::path::Path;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use support::{until, Daemon};

const SECRET: &str = "ergonode-shared-secret-0123456789";
const INSTALLATION: &str = "6c0e2f39-4d2b-4a5e-9a51-0f7f1f0c1a11";
const KEY: &str = "catalog-encryption-key-0123456789";

fn write_config(dir: &Path) {
    std::fs::create_dir_all(dir.join("counts")).unwrap();
    std::fs::write(
        dir.join("adapters.toml"),
        r#"[daemon]
state_dir = "state"
admin_listen = "127.0.0.1:0"
public_listen = "127.0.0.1:0"
admin_token = { env = "SYNCD_TEST_ADMIN_TOKEN" }

[connectors.pim]
kind = "pim"
encryption_key = { env = "PIM_KEY" }

[connectors.counts]
kind = "file"
read_dir = "counts"

[connectors.erp]
kind = "file"
ledger_path = "ledger.json"

[[pipelines]]
name = "counts-to-erp"
from = "counts"
to = "erp"
entity = "stock_position"
require_catalog = "pim"
"#,
    )
    .unwrap();
}

fn token(secret: &str, installation: &str, sync: Option<&str>, exp_in: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({"app_installation_id": installation, "api_url": "http://ergonode.test/api", "iat": now, "nbf": now - 1, "exp": now + exp_in});
    if let Some(sync) = sync {
        claims["synchronization_id"] = json!(sync);
    }
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Ergonode, as far as the app sees it.
struct Ergonode<'a> {
    d: &'a Daemon,
    http: reqwest::Client,
}

impl Ergonode<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/hooks/pim{path}", self.d.public())
    }

    async fn handshake(&self) -> u16 {
        self.http
            .post(self.url("/handshake"))
            .header("X-APP-TOKEN", token(SECRET, INSTALLATION, None, 300))
            .json(&json!({ "shared_secret": SECRET }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn consume_as(
        &self,
        endpoint: &str,
        body: &Value,
        token: Option<String>,
    ) -> (u16, String) {
        let mut request = self
            .http
            .put(self.url(&format!("/consume/{endpoint}")))
            .json(body);
        if let Some(token) = token {
            request = request.header("X-APP-TOKEN", token);
        }
        let answer = request.send().await.unwrap();
        (
            answer.status().as_u16(),
            answer.text().await.unwrap_or_default(),
        )
    }

    async fn consume(&self, endpoint: &str, body: &Value, sync: Option<&str>) -> (u16, String) {
        self.consume_as(endpoint, body, Some(token(SECRET, INSTALLATION, sync, 300)))
            .await
    }
}

fn body(endpoint: &str, id: &str, id_type: &str, events: Vec<Value>) -> Value {
    json!({"name": endpoint, "resource_id": {"id": id, "type": id_type}, "synchronization": {"resource_customs": null, "events": events}})
}

fn seed_event(name: &str) -> Value {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("fixtures/seeds/002/events/{name}.json")),
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn product(sku: &str) -> Value {
    json!({"type": "product_created", "payload": {"sku": sku, "type": "SIMPLE-PRODUCT", "category_codes": []}})
}

async fn start(dir: &Path) -> Daemon {
    Daemon::start_at(dir, &[("PIM_KEY", KEY)]).await
}

#[tokio::test]
async fn the_manifest_and_handshake_then_every_seed_example_verbatim_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let d = start(dir.path()).await;
    let e = Ergonode {
        d: &d,
        http: reqwest::Client::new(),
    };
    let manifest: Value = e
        .http
        .get(e.url("/manifest"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        manifest["features"],
        json!(["synchronization", "synchronization_full"])
    );
    assert!(
        manifest["url"].as_str().unwrap().ends_with("/hooks/pim"),
        "{manifest}"
    );
    assert_eq!(e.handshake().await, 200);

    // "attribute_created … attribute_option_*, category_created, product_created,
    // product_value_*, product_*_category, product_binding_*, product_child_*,
    // product_variant_*": each example, as the seed prints it, inside the call that carries it.
    let calls: [(&str, &str, &str, &[&str]); 3] = [
        (
            "attribute_created",
            "attribute_code",
            "attribute_code",
            &[
                "attribute_created",
                "attribute_name_changed",
                "attribute_option_created",
                "attribute_option_name_changed",
                "attribute_option_code_changed",
                "attribute_option_deleted",
            ],
        ),
        (
            "category_created",
            "category_code",
            "category_code",
            &["category_created", "category_name_changed"],
        ),
        (
            "product_created",
            "Product SKU",
            "sku",
            &[
                "product_created",
                "product_value_added",
                "product_value_changed",
                "product_value_removed",
                "product_added_to_category",
                "product_removed_from_category",
                "product_binding_added",
                "product_binding_removed",
                "product_child_added",
                "product_child_quantity_changed",
                "product_child_removed",
                "product_variant_added",
                "product_variant_removed",
            ],
        ),
    ];
    let mut total = 0;
    for (endpoint, id, id_type, names) in calls {
        let events: Vec<Value> = names.iter().map(|n| seed_event(n)).collect();
        total += events.len();
        let (status, answer) = e
            .consume(endpoint, &body(endpoint, id, id_type, events), None)
            .await;
        assert_eq!(status, 200, "{endpoint}: {answer}");
    }
    assert_eq!(total, 21);

    // A body whose event breaks its schema is refused, naming the type, pointer and rule.
    let mut broken = seed_event("product_child_added");
    broken["payload"]["child_quantity"] = json!("two");
    let (status, answer) = e
        .consume(
            "product_updated",
            &body(
                "product_updated",
                "Product SKU",
                "sku",
                vec![product("Product SKU"), broken],
            ),
            None,
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.contains("product_child_added")
            && answer.contains("/synchronization/events/1/payload/child_quantity")
            && answer.contains("type"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_wrong_secret_an_expired_token_an_unknown_installation_or_no_token_gets_401_and_nothing_is_kept(
) {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let d = start(dir.path()).await;
    let e = Ergonode {
        d: &d,
        http: reqwest::Client::new(),
    };
    assert_eq!(e.handshake().await, 200);
    let call = body("product_created", "P-1", "sku", vec![product("P-1")]);
    for (why, token) in [
        (
            "bad signature",
            Some(token("not-the-secret", INSTALLATION, None, 300)),
        ),
        (
            "expired token",
            Some(token(SECRET, INSTALLATION, None, -120)),
        ),
        (
            "unknown installation",
            Some(token(
                SECRET,
                "00000000-0000-0000-0000-000000000000",
                None,
                300,
            )),
        ),
        ("missing X-APP-TOKEN", None),
    ] {
        let (status, answer) = e.consume_as("product_created", &call, token).await;
        assert_eq!(status, 401, "{why}: {answer}");
        assert!(answer.contains(why), "{why}: {answer}");
    }
    // Nothing reached the catalog: a position of P-1 is still held back.
    std::fs::write(d.path("counts/1.csv"), "sku,location,on_hand\nP-1,WH,5\n").unwrap();
    let report = run(&d, "counts-to-erp").await;
    assert_eq!(report["dead_lettered"], 1, "{report}");
}

async fn run(d: &Daemon, pipeline: &str) -> Value {
    let before = d.runs_of(pipeline).await.len();
    d.trigger(pipeline);
    until(&format!("{pipeline} ran"), || async {
        d.runs_of(pipeline).await.len() > before
    })
    .await;
    d.runs_of(pipeline).await.pop().unwrap()
}

fn ledger(d: &Daemon) -> Vec<(String, i64)> {
    let Ok(bytes) = std::fs::read(d.path("ledger.json")) else {
        return Vec::new();
    };
    let ledger: Value = serde_json::from_slice(&bytes).unwrap();
    let mut out: Vec<(String, i64)> = ledger["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["sku"].as_str().unwrap().to_string(),
                p["on_hand"].as_i64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn stock_of_an_unknown_sku_waits_as_a_dead_letter_and_goes_out_once_the_product_arrives() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let d = start(dir.path()).await;
    let e = Ergonode {
        d: &d,
        http: reqwest::Client::new(),
    };
    assert_eq!(e.handshake().await, 200);
    let (status, _) = e
        .consume(
            "product_created",
            &body("product_created", "KNOWN", "sku", vec![product("KNOWN")]),
            None,
        )
        .await;
    assert_eq!(status, 200);

    std::fs::write(
        d.path("counts/1.csv"),
        "sku,location,on_hand\nKNOWN,WH,5\nLATER,WH,7\n",
    )
    .unwrap();
    let first = run(&d, "counts-to-erp").await;
    assert_eq!(
        (first["written"].as_u64(), first["dead_lettered"].as_u64()),
        (Some(1), Some(1)),
        "{first}"
    );
    assert_eq!(ledger(&d), vec![("KNOWN".to_string(), 5)]);
    let (_, letters) = d.get("/dlq/counts-to-erp").await;
    assert!(letters.contains("unknown sku `LATER`"), "{letters}");

    // The product arrives; the next run sends the held stock without being asked.
    let (status, _) = e
        .consume(
            "product_created",
            &body("product_created", "LATER", "sku", vec![product("LATER")]),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let second = run(&d, "counts-to-erp").await;
    assert_eq!(second["replayed"], 1, "{second}");
    assert_eq!(
        ledger(&d),
        vec![("KNOWN".to_string(), 5), ("LATER".to_string(), 7)]
    );
    let (_, letters) = d.get("/dlq/counts-to-erp").await;
    assert!(!letters.contains("LATER"), "{letters}");
}

#[tokio::test]
async fn an_interrupted_full_synchronization_changes_nothing_and_a_finished_one_replaces_the_catalog(
) {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let d = start(dir.path()).await;
    let e = Ergonode {
        d: &d,
        http: reqwest::Client::new(),
    };
    assert_eq!(e.handshake().await, 200);
    for sku in ["OLD", "KEPT"] {
        e.consume(
            "product_created",
            &body("product_created", sku, "sku", vec![product(sku)]),
            None,
        )
        .await;
    }
    let full = json!({"name": "synchronization_started", "type": "full"});
    // A full synchronization that never ends.
    assert_eq!(
        e.consume("synchronization_started", &full, Some("sync-1"))
            .await
            .0,
        200
    );
    for sku in ["KEPT", "NEW"] {
        assert_eq!(
            e.consume(
                "product_created",
                &body("product_created", sku, "sku", vec![product(sku)]),
                Some("sync-1")
            )
            .await
            .0,
            200
        );
    }
    std::fs::write(
        d.path("counts/1.csv"),
        "sku,location,on_hand\nOLD,WH,1\nNEW,WH,2\n",
    )
    .unwrap();
    let held = run(&d, "counts-to-erp").await;
    assert_eq!(
        (held["written"].as_u64(), held["dead_lettered"].as_u64()),
        (Some(1), Some(1)),
        "OLD still known, NEW not yet: {held}"
    );

    // The next full synchronization ends: the catalog is what it sent.
    assert_eq!(
        e.consume("synchronization_started", &full, Some("sync-2"))
            .await
            .0,
        200
    );
    for sku in ["KEPT", "NEW"] {
        assert_eq!(
            e.consume(
                "product_created",
                &body("product_created", sku, "sku", vec![product(sku)]),
                Some("sync-2")
            )
            .await
            .0,
            200
        );
    }
    assert_eq!(
        e.consume(
            "synchronization_ended",
            &json!({"name": "synchronization_ended"}),
            Some("sync-2")
        )
        .await
        .0,
        200
    );
    std::fs::write(d.path("counts/2.csv"), "sku,location,on_hand\nOLD,WH,3\n").unwrap();
    let after = run(&d, "counts-to-erp").await;
    assert_eq!(after["replayed"], 1, "NEW's held stock goes out: {after}");
    assert_eq!(
        after["dead_lettered"], 1,
        "OLD is gone from the catalog: {after}"
    );
}

fn write_config_with_salesforce(dir: &Path, sim: &syncd_sandbox::salesforce::SalesforceSim) {
    write_config(dir);
    let mut config = std::fs::read_to_string(dir.join("adapters.toml")).unwrap();
    config.push_str(&format!(
        r#"
[connectors.sf]
kind = "salesforce"
login_url = "{}"
client_id = "{}"
username = "{}"
private_key = {{ env = "SF_PRIVATE_KEY" }}

[[pipelines]]
name = "catalog-to-salesforce"
from = "pim"
to = "sf"
entity = "product"
"#,
        sim.url(),
        sim.config().client_id,
        sim.config().username
    ));
    std::fs::write(dir.join("adapters.toml"), config).unwrap();
}

fn named(sku: &str, en: &str) -> Vec<Value> {
    vec![
        product(sku),
        json!({"type": "product_value_added", "payload": {"attribute_code": "name", "attribute_type": "TEXT", "attribute_scope": "local", "value": [{"language": "en_GB", "translation": en}, {"language": "de_DE", "translation": format!("{en} (de)")}]}}),
    ]
}

fn product2(sim: &syncd_sandbox::salesforce::SalesforceSim) -> Vec<(String, String)> {
    let query =
        syncd_sandbox::salesforce::soql::parse("SELECT ProductCode, Name FROM Product2").unwrap();
    let mut rows: Vec<(String, String)> = sim
        .store()
        .run(&query, false, "62.0")
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ProductCode"].as_str().unwrap().to_string(),
                r["Name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn a_kill_after_a_call_is_folded_and_before_it_is_answered_loses_nothing_when_ergonode_sends_again(
) {
    let sim = syncd_sandbox::salesforce::SalesforceSim::start(Default::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config_with_salesforce(dir.path(), &sim);
    let key = syncd_sandbox::salesforce::SANDBOX_JWT_PRIVATE_KEY;
    let env = [("PIM_KEY", KEY), ("SF_PRIVATE_KEY", key)];
    let crashing = [
        ("PIM_KEY", KEY),
        ("SF_PRIVATE_KEY", key),
        ("SYNCD_CRASH_AT", "catalog_applied"),
    ];
    let mut d = Daemon::start_at(dir.path(), &crashing).await;
    let e = Ergonode {
        d: &d,
        http: reqwest::Client::new(),
    };
    assert_eq!(e.handshake().await, 200);
    let call = body("product_created", "P-1", "sku", named("P-1", "Boot"));
    let answered = e
        .http
        .put(e.url("/consume/product_created"))
        .header("X-APP-TOKEN", token(SECRET, INSTALLATION, None, 300))
        .json(&call)
        .send()
        .await;
    assert!(answered.is_err(), "the daemon died before it answered");
    let (status, _) = d.exit().await;
    assert!(!status.success());

    // Ergonode had no answer: it sends the call again.
    let d = Daemon::start_at(dir.path(), &env).await;
    let e = Ergonode {
        d: &d,
        http: reqwest::Client::new(),
    };
    assert_eq!(e.consume("product_created", &call, None).await.0, 200);
    let first = run(&d, "catalog-to-salesforce").await;
    assert_eq!(first["written"], 1, "{first}");
    // "Products go to Salesforce Product2: … name in the configured locale".
    assert_eq!(
        product2(&sim),
        vec![("P-1".to_string(), "Boot".to_string())]
    );

    // Delivered a third time: nothing to write.
    assert_eq!(e.consume("product_created", &call, None).await.0, 200);
    let again = run(&d, "catalog-to-salesforce").await;
    assert_eq!(again["written"], 0, "{again}");
    assert_eq!(product2(&sim).len(), 1);
}

use syncd_sandbox::ergonode::{DeliveryFaults, ErgonodeSim, ErgonodeSimConfig, SyncKind};

/// Ergonode's simulator, saying in `synchronization_started` whether a synchronization is full.
async fn ergonode(delivery: DeliveryFaults) -> ErgonodeSim {
    ErgonodeSim::start(ErgonodeSimConfig {
        products: 20,
        announce_kind: true,
        delivery,
        ..ErgonodeSimConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn ergonode_installs_the_app_and_its_synchronizations_reach_salesforce_with_duplicates_and_reordering_harmless(
) {
    let sf = syncd_sandbox::salesforce::SalesforceSim::start(Default::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config_with_salesforce(dir.path(), &sf);
    let key = syncd_sandbox::salesforce::SANDBOX_JWT_PRIVATE_KEY;
    let d = Daemon::start_at(dir.path(), &[("PIM_KEY", KEY), ("SF_PRIVATE_KEY", key)]).await;
    let sim = ergonode(DeliveryFaults {
        duplicate_rate: 0.3,
        reorder: true,
    })
    .await;
    sim.install(&format!("{}/hooks/pim", d.public()))
        .await
        .unwrap();

    let full = sim.synchronize(SyncKind::Full).await.unwrap();
    assert!(full.completed, "{full:?}");
    let first = run(&d, "catalog-to-salesforce").await;
    assert_eq!(first["dead_lettered"], 0, "{first}");
    let skus: Vec<String> = sim.catalog().products.keys().cloned().collect();
    let held: Vec<String> = product2(&sf).into_iter().map(|(code, _)| code).collect();
    assert_eq!(
        held, skus,
        "every product of the full synchronization, once"
    );
    // Each Product2 is named by the catalog's `name` in the configured locale, as Ergonode's
    // own calls carried it (local values as `{"language", "value"}` items, the seed's schema).
    let names: std::collections::BTreeMap<String, String> = product2(&sf).into_iter().collect();
    for (sku, p) in sim.catalog().products {
        if let Some(syncd_sandbox::ergonode::catalog::ProductValue::Local(by_language)) =
            p.values.get("name")
        {
            assert_eq!(
                Some(names[&sku].as_str()),
                by_language["en_GB"].as_str(),
                "{sku}"
            );
        }
    }

    // The script's edits (every event type the seed lists) as a delta.
    sim.script().unwrap();
    let delta = sim.synchronize(SyncKind::Delta).await.unwrap();
    assert!(delta.completed, "{delta:?}");
    let second = run(&d, "catalog-to-salesforce").await;
    assert_eq!(second["dead_lettered"], 0, "{second}");
    let skus: Vec<String> = sim.catalog().products.keys().cloned().collect();
    let held: Vec<String> = product2(&sf).into_iter().map(|(code, _)| code).collect();
    assert_eq!(held, skus, "created and deleted products followed");
    assert!(
        sim.calls().iter().all(|c| c.status == 200),
        "every call answered 200"
    );
}

#[tokio::test]
async fn a_kill_during_a_full_synchronization_converges_once_ergonode_synchronizes_again() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let sim = ergonode(DeliveryFaults::default()).await;
    // Killed after the ninth call is folded, before it is answered.
    let mut d = Daemon::start_at(
        dir.path(),
        &[("PIM_KEY", KEY), ("SYNCD_CRASH_AT", "catalog_applied:9")],
    )
    .await;
    let url = format!("{}/hooks/pim", d.public());
    sim.install(&url).await.unwrap();
    let interrupted = sim.synchronize(SyncKind::Full).await.unwrap();
    assert!(!interrupted.completed, "{interrupted:?}");
    d.exit().await;

    // The same port, so that the installation's URL still reaches it.
    let port = url
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let config = std::fs::read_to_string(dir.path().join("adapters.toml"))
        .unwrap()
        .replace(
            "public_listen = \"127.0.0.1:0\"",
            &format!("public_listen = \"127.0.0.1:{port}\""),
        );
    std::fs::write(dir.path().join("adapters.toml"), config).unwrap();
    let d = Daemon::start_at(dir.path(), &[("PIM_KEY", KEY)]).await;
    let again = sim.synchronize(SyncKind::Full).await.unwrap();
    assert!(again.completed, "{again:?}");
    // Every product is in the catalog: stock of each passes the guard.
    let skus: Vec<String> = sim.catalog().products.keys().cloned().collect();
    let mut csv = String::from("sku,location,on_hand\n");
    for sku in &skus {
        csv.push_str(&format!("{sku},WH,1\n"));
    }
    std::fs::write(d.path("counts/1.csv"), csv).unwrap();
    let report = run(&d, "counts-to-erp").await;
    assert_eq!(
        (report["written"].as_u64(), report["dead_lettered"].as_u64()),
        (Some(skus.len() as u64), Some(0)),
        "{report}"
    );
}

#[tokio::test]
async fn a_reload_that_rebuilds_the_app_keeps_its_installations_and_catalog() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    let d = start(dir.path()).await;
    let e = Ergonode {
        d: &d,
        http: reqwest::Client::new(),
    };
    assert_eq!(e.handshake().await, 200);
    let (status, _) = e
        .consume(
            "product_created",
            &body("product_created", "BEFORE", "sku", vec![product("BEFORE")]),
            None,
        )
        .await;
    assert_eq!(status, 200);
    // A changed key rebuilds the connector; the old one may hold the catalog's files a moment.
    let config = std::fs::read_to_string(dir.path().join("adapters.toml"))
        .unwrap()
        .replace("kind = \"pim\"", "kind = \"pim\"\nleeway_secs = 7");
    std::fs::write(dir.path().join("adapters.toml"), config).unwrap();
    d.signal(libc::SIGHUP);
    until("the reload is accepted", || async {
        d.log().contains("config reloaded")
    })
    .await;
    // Ergonode sends again until it is answered 2xx.
    let call = body("product_created", "AFTER", "sku", vec![product("AFTER")]);
    until("the rebuilt app takes calls", || async {
        e.consume("product_created", &call, None).await.0 == 200
    })
    .await;
    std::fs::write(
        d.path("counts/1.csv"),
        "sku,location,on_hand\nBEFORE,WH,1\nAFTER,WH,2\n",
    )
    .unwrap();
    let report = run(&d, "counts-to-erp").await;
    assert_eq!(
        (report["written"].as_u64(), report["dead_lettered"].as_u64()),
        (Some(2), Some(0)),
        "{report}"
    );
}
