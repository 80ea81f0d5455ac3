//! kill -9 at random points of a 50,000-position file → file run: after restarts, the target
//! holds exactly the source's positions and no dead letter was invented.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use syncd_adapter_file::read_snapshot;
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
write_path = "out/stock.jsonl"
max_batch = 2500

[[pipelines]]
name = "erp-to-shop"
from = "erp"
to = "shop"
entity = "stock_position"
page_size = 4000
"#,
    )
    .unwrap();

    let mut killed_mid_run = 0;
    for _ in 0..6 {
        let mut child = run_once(&config);
        std::thread::sleep(Duration::from_millis(rng.u64(50..1_500)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed_mid_run += 1;
        }
        child.wait().unwrap();
    }
    let mut child = run_once(&config);
    let status = wait_with_deadline(&mut child, Duration::from_secs(600));
    assert!(status.success(), "the final run failed: {status:?}");
    // Once more: everything must already be there.
    let mut child = run_once(&config);
    assert!(wait_with_deadline(&mut child, Duration::from_secs(600)).success());

    let held: BTreeMap<String, i64> = read_snapshot(&dir.path().join("out/stock.jsonl"))
        .unwrap()
        .into_iter()
        .map(|(k, p)| (k.to_string(), p.on_hand))
        .collect();
    assert_eq!(
        held.len(),
        expected.len(),
        "the target must hold every position exactly once"
    );
    assert!(
        held == expected,
        "the target's quantities differ from the source's"
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
    eprintln!("seed {seed:#x}: killed {killed_mid_run} run(s) mid-way");
}
