//! kill at each named step of a run (see `syncd_engine::crash`), then rerun: the target ends
//! with every position exactly once, and a third run finds nothing to do.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

const POSITIONS: usize = 12_000;

fn write_source(dir: &Path) -> BTreeMap<String, i64> {
    let mut expected = BTreeMap::new();
    // Two files, so that the run spans files and pages.
    for file in 0..2 {
        let mut text = String::from("sku,location,on_hand\n");
        for i in 0..POSITIONS / 2 {
            let sku = format!("SKU-{file}-{i:05}");
            let qty = (i * 7 % 500) as i64;
            text.push_str(&format!("{sku},WH,{qty}\n"));
            expected.insert(format!("{sku}|WH"), qty);
        }
        std::fs::write(dir.join(format!("export-{file}.csv")), text).unwrap();
    }
    expected
}

fn config(dir: &Path, target: &str) -> std::path::PathBuf {
    let path = dir.join("adapters.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[daemon]
state_dir = "state"

[connectors.erp]
kind = "file"
read_dir = "drop"

[connectors.shop]
kind = "file"
{target}
max_batch = 1000

[[pipelines]]
name = "erp-to-shop"
from = "erp"
to = "shop"
entity = "stock_position"
"#
        ),
    )
    .unwrap();
    path
}

/// Runs `syncd once --json`, crashing at `point` if given; the report when it ran to the end.
fn once(config: &Path, point: Option<&str>) -> Option<serde_json::Value> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_syncd"));
    cmd.args(["once", "--json", "--config"]).arg(config);
    cmd.env_remove("SYNCD_CRASH_AT");
    if let Some(point) = point {
        cmd.env("SYNCD_CRASH_AT", point);
    }
    let out = cmd.output().expect("start syncd");
    match point {
        Some(point) => {
            assert_eq!(
                out.status.signal(),
                Some(libc::SIGABRT),
                "the run was to die at `{point}`: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            None
        }
        None => {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            Some(reports[0].clone())
        }
    }
}

/// Every line of a JSON Lines snapshot as (key, on-hand), duplicates kept.
fn snapshot_lines(path: &Path) -> Vec<(String, i64)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                format!(
                    "{}|{}",
                    v["sku"].as_str().unwrap(),
                    v["location"].as_str().unwrap()
                ),
                v["on_hand"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn ledger_lines(path: &Path) -> Vec<(String, i64)> {
    let ledger: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    ledger["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                format!(
                    "{}|{}",
                    p["sku"].as_str().unwrap(),
                    p["location"].as_str().unwrap()
                ),
                p["on_hand"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Kills a run at `point`, checks what the kill left with `after_kill`, reruns, and checks
/// that the target holds the source exactly once and that a third run has nothing to do.
fn kill_then_rerun(
    target: &str,
    point: &str,
    read: fn(&Path) -> Vec<(String, i64)>,
    after_kill: impl Fn(&[(String, i64)]),
) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("drop")).unwrap();
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    let expected = write_source(&dir.path().join("drop"));
    let config = config(dir.path(), target);
    let out = dir.path().join("out");
    let file = std::fs::read_dir(&out)
        .unwrap()
        .next()
        .map(|e| e.unwrap().path());
    assert!(file.is_none(), "the target starts empty");
    let target_file = if target.contains("ledger_path") {
        out.join("ledger.json")
    } else {
        out.join("stock.jsonl")
    };

    once(&config, Some(point));
    after_kill(&if target_file.exists() {
        read(&target_file)
    } else {
        Vec::new()
    });

    let rerun = once(&config, None).unwrap();
    assert_eq!(rerun["dead_lettered"], 0, "{rerun}");
    assert_eq!(rerun["pending"], 0, "{rerun}");
    let lines = read(&target_file);
    assert_eq!(lines.len(), expected.len(), "each position exactly once");
    let held: BTreeMap<String, i64> = lines.into_iter().collect();
    assert_eq!(held, expected, "the target holds the source");

    let third = once(&config, None).unwrap();
    assert_eq!(
        (
            third["read"].as_u64(),
            third["written"].as_u64(),
            third["write_calls"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "the cursor moved past everything: {third}"
    );
}

const SNAPSHOT: &str = "write_path = \"out/stock.jsonl\"";
const LEDGER: &str = "ledger_path = \"out/ledger.json\"";

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points exist in debug builds only"
)]
fn a_kill_after_staging_before_the_replace_leaves_the_snapshot_untouched_and_a_rerun_writes_it_once(
) {
    kill_then_rerun(SNAPSHOT, "staged", snapshot_lines, |held| {
        assert!(
            held.is_empty(),
            "nothing reaches the snapshot before finish"
        )
    });
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points exist in debug builds only"
)]
fn a_kill_after_the_replace_before_the_acknowledgement_is_healed_by_one_more_replace() {
    kill_then_rerun(SNAPSHOT, "finished", snapshot_lines, |held| {
        assert_eq!(held.len(), POSITIONS, "the replace was complete")
    });
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points exist in debug builds only"
)]
fn a_kill_before_a_call_goes_out_sends_it_on_the_rerun() {
    kill_then_rerun(LEDGER, "before_call", ledger_lines, |held| {
        assert!(held.is_empty(), "the first call never went out")
    });
}

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "crash points exist in debug builds only"
)]
fn a_kill_after_a_call_was_applied_replays_it_without_doubling_anything() {
    kill_then_rerun(LEDGER, "after_call", ledger_lines, |held| {
        assert_eq!(held.len(), 1_000, "the first call was applied, no more")
    });
}
