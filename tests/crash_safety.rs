//! kill -9 at random points of a 50,000-position file → ledger run: each kill lands while the run
//! is writing (asserted), and after the restarts the ledger holds exactly the source's positions,
//! its journal shows each write sent at most once more per kill (the call a kill interrupts), and
//! no dead letter was invented.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use syncd_store::{dead_letters, outbox, SledStore};

const POSITIONS: usize = 50_000;
const LOCATIONS: [&str; 5] = ["WH-MEL", "WH-SYD", "WH-PER", "STORE-01", "STORE-02"];

fn write_source(dir: &Path, rng: &mut fastrand::Rng) -> BTreeMap<String, i64> {
    let mut expected = BTreeMap::new();
    // Three files, so that kills land inside a file and between files.
    let per_file = POSITIONS / LOCATIONS.len() * LOCATIONS.len() / 3 + 1;
    let mut files = vec![String::from("sku,location,on_hand,allocated\n")];
    for i in 0..POSITIONS / LOCATIONS.len() {
        for loc in LOCATIONS {
            let qty = rng.i64(0..500);
            if files.last().unwrap().lines().count() > per_file {
                files.push(String::from("sku,location,on_hand,allocated\n"));
            }
            files
                .last_mut()
                .unwrap()
                .push_str(&format!("SKU-{i:05},{loc},{qty},0\n"));
            expected.insert(format!("SKU-{i:05}|{loc}"), qty);
        }
    }
    for (n, text) in files.iter().enumerate() {
        std::fs::write(dir.join(format!("export-{n}.csv")), text).unwrap();
    }
    expected
}

fn run_once(config: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_syncd"))
        .args(["once", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start syncd")
}

fn wait_with_deadline(
    child: &mut std::process::Child,
    deadline: Duration,
) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > deadline {
            child.kill().ok();
            panic!("syncd once did not finish within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigkill_at_random_points_loses_and_invents_nothing() {
    let seed = std::env::var("SYNCD_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cafe);
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("drop")).unwrap();
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    let expected = write_source(&dir.path().join("drop"), &mut rng);
    let config = dir.path().join("adapters.toml");
    std::fs::write(
        &config,
        r#"
[daemon]
state_dir = "state"

[connectors.erp]
kind = "file"
read_dir = "drop"

[connectors.shop]
kind = "file"
ledger_path = "out/ledger.json"
journal_path = "out/journal.jsonl"
max_batch = 1000

[[pipelines]]
name = "erp-to-shop"
from = "erp"
to = "shop"
entity = "stock_position"
page_size = 4000
"#,
    )
    .unwrap();

    const KILLS: usize = 6;
    let journal = dir.path().join("out/journal.jsonl");
    let mut killed_mid_run = 0;
    for attempt in 0..KILLS {
        let before = journal_lines(&journal);
        let mut child = run_once(&config);
        // Kill only once this run has written something, a random moment later: a kill
        // before the run starts, or after it ends, tests nothing.
        let start = Instant::now();
        while journal_lines(&journal) == before && child.try_wait().unwrap().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "attempt {attempt}: the run wrote nothing in 2 minutes"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(rng.u64(0..150)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed_mid_run += 1;
        }
        child.wait().unwrap();
    }
    assert_eq!(
        killed_mid_run, KILLS,
        "seed {seed:#x}: every kill must land while the run is writing"
    );
    let mut child = run_once(&config);
    let status = wait_with_deadline(&mut child, Duration::from_secs(600));
    assert!(status.success(), "the final run failed: {status:?}");
    // Once more: everything must already be there, and nothing is written again.
    let lines = journal_lines(&journal);
    let mut child = run_once(&config);
    assert!(wait_with_deadline(&mut child, Duration::from_secs(600)).success());
    assert_eq!(
        journal_lines(&journal),
        lines,
        "a run after the end writes nothing"
    );

    let held = ledger_positions(&dir.path().join("out/ledger.json"));
    assert_eq!(
        held.len(),
        expected.len(),
        "the target must hold every position exactly once"
    );
    assert!(
        held == expected,
        "the target's quantities differ from the source's"
    );
    // Writes sent twice: at most the one call each kill interrupted after it was applied.
    let mut sent: BTreeMap<String, usize> = BTreeMap::new();
    for line in std::fs::read_to_string(&journal).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        *sent
            .entry(v["key"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(sent.len(), expected.len(), "every position was written");
    let resent: usize = sent.values().map(|n| n - 1).sum();
    eprintln!("seed {seed:#x}: {killed_mid_run} kills mid-run, {resent} writes re-sent");
    assert!(
        resent <= KILLS * 1_000,
        "{resent} writes re-sent: more than one call per kill"
    );
    let store = SledStore::open(&dir.path().join("state")).unwrap();
    assert_eq!(
        dead_letters::list(&store, None).unwrap(),
        vec![],
        "no dead letter may be invented"
    );
    assert_eq!(
        outbox::depth(&store, "erp-to-shop").unwrap(),
        0,
        "nothing may be left pending"
    );
}

fn journal_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

fn ledger_positions(path: &Path) -> BTreeMap<String, i64> {
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
