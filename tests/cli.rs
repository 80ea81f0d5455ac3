//! The `syncd` binary's one-shot commands: check, once, plan.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn syncd(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_syncd"));
    cmd.args(args).env_remove("RUST_LOG");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run syncd")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn write_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("adapters.toml");
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn check_lists_every_problem_with_its_key_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("drop")).unwrap();
    let config = write_config(
        dir.path(),
        r#"
colour = "blue"

[daemon]
admin_listen = "everywhere"

[connectors.erp]
kind = "file"
read_dir = "drop"
page = 3

[connectors.crm]
kind = "salesforce-classic"

[[pipelines]]
name = "p1"
from = "erp"
to = "nowhere"
entity = "stock_position"
schedule = "at noon"

[[pipelines]]
name = "p2"
from = "erp"
to = "erp"
entity = "stock"
"#,
    );
    let out = syncd(&["check", "--config", config.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = text(&out);
    for key in [
        "`colour`",
        "`daemon.admin_listen`",
        "`connectors.erp.page`",
        "`connectors.crm.kind`",
        "`pipelines[0].to`",
        "`pipelines[0].schedule`",
        "`pipelines[1].entity`",
    ] {
        assert!(
            stderr.contains(key),
            "no problem reported at {key}:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("adapters.toml"),
        "errors must name the file:\n{stderr}"
    );
}

#[test]
fn check_reports_every_problem_of_one_section_and_every_missing_secret_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("drop")).unwrap();
    let config = write_config(
        dir.path(),
        r#"
[daemon]
max_concurrent_runs = "two"
admin_listen = "everywhere"

[connectors.erp]
kind = "file"
read_dir = "drop"

[connectors.fluent]
kind = "fluent"
base_url = "ftp://fluent.example"
account = "ACME"
retailer_id = "one"
client_id = "syncd"
client_secret = { env = "SYNCD_TEST_UNSET_CLIENT_SECRET" }
username = "api"
password = { env = "SYNCD_TEST_UNSET_PASSWORD" }
preprocessing = "sometimes"
batch_size = 9000
bach_size = 10
rate_limit = { per_second = "fast" }

[[pipelines]]
name = "p"
from = "erp"
to = "fluent"
entity = "stock_position"
"#,
    );
    let out = syncd(
        &["check", "--offline", "--config", config.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = text(&out);
    for (key, about) in [
        ("`daemon.max_concurrent_runs`", "invalid type"),
        ("`daemon.admin_listen`", "everywhere"),
        ("`connectors.fluent.base_url`", "http"),
        ("`connectors.fluent.retailer_id`", "invalid type"),
        (
            "`connectors.fluent.client_secret`",
            "SYNCD_TEST_UNSET_CLIENT_SECRET",
        ),
        ("`connectors.fluent.password`", "SYNCD_TEST_UNSET_PASSWORD"),
        ("`connectors.fluent.preprocessing`", "sometimes"),
        ("`connectors.fluent.batch_size`", "5000"),
        ("`connectors.fluent.bach_size`", "unknown key"),
        ("`connectors.fluent.rate_limit.per_second`", "invalid type"),
    ] {
        assert!(
            stderr
                .lines()
                .any(|line| line.contains(key) && line.contains(about)),
            "no problem at {key} mentioning {about:?}:\n{stderr}"
        );
    }
    assert!(stderr.contains("10 problem(s)"), "{stderr}");
}

#[test]
fn a_bad_value_from_a_syncd_variable_names_the_variable_not_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("drop")).unwrap();
    let config = write_config(
        dir.path(),
        r#"
[connectors.erp]
kind = "file"
read_dir = "drop"

[connectors.out]
kind = "file"
write_path = "out.jsonl"

[[pipelines]]
name = "p"
from = "erp"
to = "out"
entity = "stock_position"
"#,
    );
    let out = syncd(
        &["check", "--offline", "--config", config.to_str().unwrap()],
        &[
            ("SYNCD_DAEMON__MAX_CONCURRENT_RUNS", "many"),
            ("SYNCD_CONNECTORS__ERP__READ_DIRR", "elsewhere"),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = text(&out);
    for (var, key) in [
        (
            "environment variable SYNCD_DAEMON__MAX_CONCURRENT_RUNS",
            "`daemon.max_concurrent_runs`",
        ),
        (
            "environment variable SYNCD_CONNECTORS__ERP__READ_DIRR",
            "`connectors.erp.read_dirr`",
        ),
    ] {
        assert!(
            stderr
                .lines()
                .any(|line| line.contains(var) && line.contains(key)),
            "{key} must be blamed on {var}:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("adapters.toml: `daemon.max_concurrent_runs`"),
        "{stderr}"
    );
}

#[test]
fn a_missing_config_file_is_an_error_not_an_empty_config() {
    let out = syncd(&["check", "--config", "/nonexistent/adapters.toml"], &[]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("/nonexistent/adapters.toml"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_value_given_for_a_bad_key_never_appears_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[connectors.shop]\nkind = \"file\"\nwrite_path = \"out.jsonl\"\n",
    );
    let out = syncd(
        &["check", "--config", config.to_str().unwrap()],
        &[("SYNCD_CONNECTORS__SHOP__API_TOKEN", "hunter2-very-secret")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("connectors.shop.api_token"),
        "{}",
        text(&out)
    );
    assert!(
        !text(&out).contains("hunter2"),
        "a value leaked into the error: {}",
        text(&out)
    );
}

#[test]
fn the_example_config_runs_out_of_the_box_and_a_rerun_finds_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let target = dir.path().join("stock.jsonl");
    let envs = [
        ("SYNCD_DAEMON__STATE_DIR", state.to_str().unwrap()),
        (
            "SYNCD_CONNECTORS__SHOP__WRITE_PATH",
            target.to_str().unwrap(),
        ),
    ];
    let config = repo_root().join("adapters.toml");
    let config = config.to_str().unwrap();
    let check = syncd(&["check", "--config", config], &envs);
    assert!(check.status.success(), "{}", text(&check));

    let plan = syncd(
        &["plan", "--config", config, "erp-to-shop", "--json"],
        &envs,
    );
    assert!(plan.status.success(), "{}", text(&plan));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let planned = plan["writes"].as_array().unwrap().len();
    assert!(planned > 0);
    assert!(!target.exists(), "plan must not write");

    let first = syncd(&["once", "--config", config, "--json"], &envs);
    // The example holds one row the shop refuses: the run ends `partial`, exit status 3.
    assert_eq!(first.status.code(), Some(3), "{}", text(&first));
    let reports: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let r = &reports[0];
    assert_eq!(r["outcome"]["result"], "succeeded");
    assert_eq!(
        r["written"].as_u64().unwrap() + r["dead_lettered"].as_u64().unwrap(),
        planned as u64,
        "the run must make exactly the planned writes"
    );
    assert!(target.exists());
    let written = std::fs::read(&target).unwrap();

    let second = syncd(&["once", "--config", config, "--json"], &envs);
    assert!(second.status.success(), "{}", text(&second));
    let reports: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    let r = &reports[0];
    assert_eq!(r["outcome"]["result"], "succeeded", "{r}");
    assert_eq!(
        (
            r["written"].as_u64(),
            r["deleted"].as_u64(),
            r["dead_lettered"].as_u64(),
            r["write_calls"].as_u64()
        ),
        (Some(0), Some(0), Some(0), Some(0)),
        "nothing new to write: {r}"
    );
    assert_eq!(
        std::fs::read(&target).unwrap(),
        written,
        "the target is untouched"
    );

    let third = syncd(&["once", "--config", config], &envs);
    assert!(third.status.success(), "{}", text(&third));
    let table = String::from_utf8_lossy(&third.stdout);
    assert!(
        table.contains("erp-to-shop") && table.contains("ok"),
        "the table a person reads says the same: {table}"
    );
}

#[test]
fn once_with_an_unknown_pipeline_names_the_configured_ones() {
    let dir = tempfile::tempdir().unwrap();
    let envs = [("SYNCD_DAEMON__STATE_DIR", dir.path().to_str().unwrap())];
    let config = repo_root().join("adapters.toml");
    let out = syncd(
        &["once", "--config", config.to_str().unwrap(), "nope"],
        &envs,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("erp-to-shop"), "{}", text(&out));
}

#[test]
fn demo_reconciles_the_sandbox_plays_the_omnichannel_topology_and_every_system_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let out = syncd(
        &[
            "demo",
            "--positions",
            "300",
            "--fast",
            "--dir",
            demo_dir.to_str().unwrap(),
        ],
        &[],
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    for expected in [
        "erp-to-fluent",
        "fluent-to-shop",
        "POST /api/v4.1/job/{id}/batch",
        "Fluent now holds 300 positions",
        "3. NewStore (seed 003)",
        // The omnichannel topology, every connector in one daemon: the catalog guard held the
        // late SKU back until the catalog delta brought it, and at the end all systems agree.
        "4. Every connector in one daemon",
        "A catalog delta",
        "Orders completed",
        "Edits in Salesforce",
        "in sync",
        "Every system agrees",
    ] {
        assert!(said.contains(expected), "missing `{expected}` in:\n{said}");
    }
    // NewStore's leg ends with ff1..ff6 each counted out once: the ERP's 17 less ff4 and
    // ff5 shipped, nothing allocated, so ATP is the ERP's stock.
    let last = said
        .lines()
        .rfind(|l| l.contains("ff6 failed"))
        .unwrap_or_else(|| panic!("no row after ff6 failed:\n{said}"));
    let cells: Vec<&str> = last.split('┆').map(str::trim).collect();
    assert_eq!(cells[1..5], ["15", "15", "-", "15"], "{last}");
    let config = std::fs::read_to_string(demo_dir.join("adapters.toml")).unwrap();
    assert!(config.contains("client_secret = { env = "), "{config}");
    assert!(
        !config.contains("sandbox-client-secret"),
        "no secret in the file"
    );
}

/// A drop folder → snapshot config in `dir`, with `file` dropped.
fn drop_folder_run(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    std::fs::create_dir_all(dir.join("drop")).unwrap();
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::fs::write(dir.join("drop").join(name), content).unwrap();
    write_config(
        dir,
        r#"
[daemon]
state_dir = "state"

[connectors.erp]
kind = "file"
read_dir = "drop"

[connectors.shop]
kind = "file"
write_path = "out/stock.jsonl"

[[pipelines]]
name = "erp-to-shop"
from = "erp"
to = "shop"
entity = "stock_position"
"#,
    )
}

#[test]
fn a_stray_quote_costs_its_own_line_only_and_the_run_ends_partial() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("sku,location,on_hand,allocated\nA0,L1,5,0\n\"A1,L1,5,0\n");
    for i in 2..5_000 {
        csv.push_str(&format!("A{i},L1,5,0\n"));
    }
    let config = drop_folder_run(dir.path(), "export.csv", csv.as_bytes());
    let out = syncd(
        &["once", "--json", "--config", config.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "partial: {}", text(&out));
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &reports[0];
    assert_eq!(
        (
            r["read"].as_u64(),
            r["written"].as_u64(),
            r["dead_lettered"].as_u64()
        ),
        (Some(5_000), Some(4_999), Some(1)),
        "every row after the stray quote is read: {r}"
    );
    let dlq = syncd(
        &[
            "dlq",
            "list",
            "--json",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert!(dlq.status.success(), "{}", text(&dlq));
    let letters: serde_json::Value = serde_json::from_slice(&dlq.stdout).unwrap();
    assert_eq!(letters.as_array().unwrap().len(), 1, "{letters}");
    assert_eq!(letters[0]["raw"], "\"A1,L1,5,0", "the one line, no more");

    let table = syncd(&["runs", "--config", config.to_str().unwrap()], &[]);
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("partial"),
        "{}",
        text(&table)
    );
}

#[test]
fn a_json_lines_file_with_a_byte_order_mark_reads_its_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = drop_folder_run(
        dir.path(),
        "export.jsonl",
        "\u{feff}{\"sku\":\"A\",\"location\":\"W\",\"on_hand\":1}\n{\"sku\":\"B\",\"location\":\"W\",\"on_hand\":2}\n"
            .as_bytes(),
    );
    let out = syncd(
        &["once", "--json", "--config", config.to_str().unwrap()],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            reports[0]["written"].as_u64(),
            reports[0]["dead_lettered"].as_u64()
        ),
        (Some(2), Some(0)),
        "{}",
        reports[0]
    );
}

#[test]
fn an_empty_config_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let out = syncd(&["check", "--config", config.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("no pipeline is configured"),
        "{}",
        text(&out)
    );
    let allowed = write_config(dir.path(), "[daemon]\nallow_empty = true\n");
    let out = syncd(&["check", "--config", allowed.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_read_only_command_on_a_missing_state_dir_says_so_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = drop_folder_run(dir.path(), "export.csv", b"sku,location,on_hand\nA,W,1\n");
    for command in [
        &["status"][..],
        &["runs"],
        &["cursors", "list"],
        &["dlq", "list"],
    ] {
        let mut args = command.to_vec();
        args.extend(["--config", config.to_str().unwrap()]);
        let out = syncd(&args, &[]);
        assert!(!out.status.success(), "{command:?}: {}", text(&out));
        assert!(
            text(&out).contains("no syncd state in"),
            "{command:?}: {}",
            text(&out)
        );
    }
    assert!(
        !dir.path().join("state").exists(),
        "a read-only command created a store"
    );
}

#[test]
fn check_offline_builds_every_connector_and_reaches_none() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("drop")).unwrap();
    // Nothing listens on port 1: the vendor is "down".
    let config = write_config(
        dir.path(),
        r#"
[connectors.erp]
kind = "file"
read_dir = "drop"

[connectors.fluent]
kind = "fluent"
base_url = "http://127.0.0.1:1"
account = "ACME"
retailer_id = 1
client_id = "c"
client_secret = { env = "CHECK_FLUENT_SECRET" }
username = "u"
password = { env = "CHECK_FLUENT_PASSWORD" }

[[pipelines]]
name = "erp-to-fluent"
from = "erp"
to = "fluent"
entity = "stock_position"
"#,
    );
    let envs = [("CHECK_FLUENT_SECRET", "s"), ("CHECK_FLUENT_PASSWORD", "p")];
    let online = syncd(&["check", "--config", config.to_str().unwrap()], &envs);
    assert_eq!(online.status.code(), Some(3), "{}", text(&online));
    assert!(
        text(&online).contains("connector `fluent`"),
        "{}",
        text(&online)
    );
    let offline = syncd(
        &["check", "--offline", "--config", config.to_str().unwrap()],
        &envs,
    );
    assert!(offline.status.success(), "{}", text(&offline));
    assert!(text(&offline).contains("--offline"), "{}", text(&offline));
}

#[test]
fn connectors_lists_every_kind_built_in_with_its_keys() {
    let out = syncd(&["connectors", "--json"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let kinds: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kind = |name: &str| {
        kinds
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kind"] == name)
            .unwrap_or_else(|| panic!("no kind {name} in {kinds:#}"))
            .clone()
    };
    let fluent = kind("fluent");
    let base_url = fluent["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == "base_url")
        .expect("fluent's base_url is listed");
    assert_eq!(base_url["required"], true);
    let file = kind("file");
    assert!(file["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["key"] == "read_dir" && k["required"] == false));
    kind("newstore");

    let out = syncd(&["connectors"], &[("COLUMNS", "100")]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("webhook_api_key"), "{table}");
    assert!(
        table.lines().all(|l| l.chars().count() <= 100),
        "the tables must fit a 100-column terminal:\n{table}"
    );
}

#[test]
fn top_without_a_running_daemon_says_so_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("drop")).unwrap();
    let config = write_config(
        dir.path(),
        "[connectors.a]\nkind = \"file\"\nread_dir = \"drop\"\n[connectors.b]\nkind = \"file\"\nwrite_path = \"out.jsonl\"\n[[pipelines]]\nname = \"p\"\nfrom = \"a\"\nto = \"b\"\nentity = \"stock_position\"\n",
    );
    let out = syncd(
        &["top", "--frames", "1", "--config", config.to_str().unwrap()],
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("running daemon"), "{}", text(&out));
}

#[test]
fn the_omnichannel_reference_topology_is_a_valid_config_with_every_connector_kind() {
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/omnichannel/adapters.toml"
    );
    let secrets = [
        ("SYNCD_ADMIN_TOKEN", "omnichannel-admin-token-0123456789"),
        ("PIM_ENCRYPTION_KEY", "omnichannel-catalog-key-0123456789"),
        (
            "SF_PRIVATE_KEY",
            syncd_sandbox::salesforce::SANDBOX_JWT_PRIVATE_KEY,
        ),
        ("SHIPHERO_PASSWORD", "sandbox-password"),
        ("NEWSTORE_CLIENT_SECRET", "newstore-sandbox-secret"),
        ("NEWSTORE_WEBHOOK_KEY", "omnichannel-hook-key-0123456789"),
        ("FLUENT_CLIENT_SECRET", "sandbox-client-secret"),
        ("FLUENT_PASSWORD", "sandbox-password"),
    ];
    let out = syncd(&["check", "--offline", "--config", config], &secrets);
    assert!(out.status.success(), "{}", text(&out));
    let text = std::fs::read_to_string(config).unwrap();
    for kind in [
        "pim",
        "salesforce",
        "shiphero",
        "newstore",
        "fluent",
        "file",
    ] {
        assert!(text.contains(&format!("kind = \"{kind}\"")), "{kind}");
    }
}

#[test]
fn syncd_conflicts_lists_the_fields_a_link_found_changed_on_both_sides_as_a_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for side in ["wms", "oms"] {
        std::fs::create_dir_all(d.join(side)).unwrap();
    }
    std::fs::write(
        d.join("adapters.toml"),
        r#"[daemon]
state_dir = "state"

[connectors.wms]
kind = "file"
read_dir = "wms"
write_path = "wms/stock.jsonl"

[connectors.oms]
kind = "file"
read_dir = "oms"
write_path = "oms/stock.jsonl"

[[pipelines]]
name = "wms-to-oms"
from = "wms"
to = "oms"
entity = "stock_position"
mode = "full"

[[links]]
name = "stock"
between = ["wms", "oms"]
entity = "stock_position"
owners = { on_hand = "wms" }
prefer = "wms"
"#,
    )
    .unwrap();
    let put = |side: &str, status: &str| {
        std::fs::write(
            d.join(format!("{side}/stock.jsonl")),
            format!("{{\"sku\":\"S\",\"location\":\"L\",\"on_hand\":1,\"status\":\"{status}\"}}\n"),
        )
        .unwrap();
    };
    let config = d.join("adapters.toml");
    let config = config.to_str().unwrap();
    put("wms", "active");
    put("oms", "active");
    let once = syncd(&["once", "--config", config], &[]);
    assert!(once.status.success(), "{}", text(&once));
    // Each side changes the unowned `status` its own way.
    put("wms", "inactive");
    std::fs::write(
        d.join("oms/stock.jsonl"),
        "{\"sku\":\"S\",\"location\":\"L\",\"on_hand\":1,\"status\":\"active\",\"attributes\":{\"bin\":\"B2\"}}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("wms/stock.jsonl"),
        "{\"sku\":\"S\",\"location\":\"L\",\"on_hand\":1,\"status\":\"inactive\",\"attributes\":{\"bin\":\"B1\"}}\n",
    )
    .unwrap();
    let once = syncd(&["once", "--config", config], &[]);
    assert!(once.status.success(), "{}", text(&once));
    let json = syncd(&["conflicts", "--json", "--config", config], &[]);
    assert!(json.status.success(), "{}", text(&json));
    let log: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let fields = &log[0]["fields"];
    let attributes = fields
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "attributes")
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(attributes["source"]["bin"], "B1");
    assert_eq!(attributes["target"]["bin"], "B2");
    assert_eq!(attributes["winner"], "wms");
    let table = syncd(&["conflicts", "--config", config, "stock"], &[]);
    assert!(
        text(&table).contains("attributes") && text(&table).contains("conflict(s)"),
        "{}",
        text(&table)
    );
    let unknown = syncd(&["conflicts", "--config", config, "nope"], &[]);
    assert!(!unknown.status.success());
    assert!(
        text(&unknown).contains("no link named `nope`"),
        "{}",
        text(&unknown)
    );
}
