//! End to end: the whole `syncd` process against the Python baseline, side by side.
//!
//! `cargo bench --bench end_to_end` builds `syncd` (`cargo build --release --bin syncd`), then
//! runs, each as a child process timed by wall clock around it:
//!
//! - `syncd once` on a drop folder → JSON Lines snapshot pipeline, and
//!   `../shared/baselines/py_sync.py` (CSV → SQLite shadow → CSV), for three exports of the same
//!   N positions (1,000,000 by default): a cold first export, an unchanged re-export, and an
//!   export with the first 1% of rows changed;
//! - the peak RSS of each child (`ru_maxrss` from `wait4`), the max over the three runs;
//! - the bytes each leaves on disk as state (syncd's state dir, Python's SQLite file);
//! - `syncd once` reconciling 100,000 positions cold into the Fluent simulator (started in this
//!   process with its default processing config), with the batch calls the simulator saw;
//! - `syncd run` on the last round's state (every position stored), until `/readyz` answers 200
//!   (the median of three starts).
//!
//! It prints a markdown table to stdout, then the raw numbers as JSON lines (one per figure,
//! each `{"figure": ...}`); progress goes to stderr. Inputs come from
//! `../shared/baselines/gen_positions.py` when `python3` is on PATH, otherwise from an in-Rust
//! generator of the same shape (and the Python column reads "n/a (no python3)").
//!
//! Every timed figure but the Fluent one is the median of three rounds, each from empty state:
//! a shared machine's stall then moves no figure.
//!
//! Rerun at another size: `cargo bench --bench end_to_end -- --positions 200000`
//! (or `E2E_POSITIONS=200000 cargo bench --bench end_to_end`); `--rounds N` (`E2E_ROUNDS`)
//! sets the rounds.

use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Instant;

use serde_json::{json, Value};
use syncd_sandbox::fluent::{FluentSim, FluentSimConfig};

/// Positions per export unless `--positions` or `E2E_POSITIONS` says otherwise.
const DEFAULT_POSITIONS: usize = 1_000_000;
/// Rounds of every timed figure unless `--rounds` or `E2E_ROUNDS` says otherwise: the table
/// shows each figure's median, so one stall of a shared machine does not make the figure.
const DEFAULT_ROUNDS: usize = 3;
/// Positions reconciled into the Fluent simulator.
const FLUENT_POSITIONS: usize = 100_000;
/// Entities per Fluent batch: the floor for batch calls is ⌈positions / this⌉.
const FLUENT_BATCH_LIMIT: usize = 5_000;
/// The simulator's request-log key for a batch submission.
const BATCH: &str = "POST /api/v4.1/job/{id}/batch";
/// The environment variables the Fluent config names for its secrets.
const SECRET_ENV: &str = "E2E_FLUENT_CLIENT_SECRET";
const PASSWORD_ENV: &str = "E2E_FLUENT_PASSWORD";

/// The drop folder → snapshot file config `syncd once` runs with.
const FILE_CONFIG: &str = r#"[daemon]
state_dir = "state"
admin_listen = "127.0.0.1:0"

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
mode = "incremental"
schedule = "0 */5 * * * *"
"#;

/// How input CSVs are made.
enum Generator {
    /// `gen_positions.py` run by this interpreter (also the one that runs `py_sync.py`).
    Python(PathBuf),
    /// The in-Rust fallback: same shape, its own quantities.
    Rust,
}

/// One child process's wall time, peak RSS and captured output.
struct Measured {
    secs: f64,
    max_rss_kib: u64,
    stdout: String,
}

/// The three export runs of one side, plus what it left on disk.
#[derive(Default)]
struct Side {
    /// Wall seconds of the cold, unchanged and 1%-changed runs, in that order.
    secs: [f64; 3],
    peak_rss_kib: u64,
    state_bytes: u64,
}

/// The counts `syncd once --json` reported for one pipeline.
struct Counts {
    read: u64,
    unchanged: u64,
    written: u64,
}

fn main() {
    let Some((positions, rounds)) = options_from_args() else {
        return;
    };
    assert!(positions > 0, "--positions must be at least 1");
    let changed = positions / 100;
    let label = size_label(positions);
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let baselines = manifest.join("../shared/baselines");

    let syncd = build_syncd(manifest);
    let generator = match python_interpreter() {
        Some(python) => Generator::Python(python),
        None => {
            eprintln!("python3 not found: in-Rust generator, no Python column");
            Generator::Rust
        }
    };

    let work = tempfile::tempdir().expect("creating a temp dir for the bench");
    let work = work.path();
    let inputs = work.join("inputs");
    let logs = work.join("logs");
    for dir in [&inputs, &logs] {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    }
    let file1 = inputs.join("1-stock.csv");
    let file2 = inputs.join("2-stock.csv");
    let file3 = inputs.join("3-stock.csv");
    eprintln!("generating {label} positions…");
    generate(&generator, &baselines, positions, &file1, 0);
    copy(&file1, &file2);
    eprintln!("generating {label} positions with {changed} changed…");
    generate(&generator, &baselines, positions, &file3, changed);

    let python = match &generator {
        Generator::Python(interpreter) => Some(interpreter.clone()),
        Generator::Rust => None,
    };
    let mut s_rounds = Vec::with_capacity(rounds);
    let mut p_rounds = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        eprintln!("round {round} of {rounds}");
        let exports = Exports {
            files: [&file1, &file2, &file3],
            positions,
            changed,
        };
        let dir = work.join(format!("round-{round}"));
        let tools = Tools {
            syncd: &syncd,
            python: python.as_deref(),
            baselines: &baselines,
            logs: &logs,
        };
        let (s, p) = export_round(&tools, &dir, &exports, round);
        s_rounds.push(s);
        p_rounds.push(p);
    }
    let s = Side::median(&s_rounds);
    let p = Side::median(&p_rounds);

    // Growth: the same cold run on a fifth of the positions, so that the cost per position
    // at full size shows (linear work grows 5x; anything worse shows here).
    let fifth = (positions / 5).max(1);
    eprintln!("syncd cold at {} positions, for growth…", size_label(fifth));
    let small = inputs.join("small.csv");
    generate(&generator, &baselines, fifth, &small, 0);
    let mut small_secs = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let sd_small = work.join(format!("syncd-small-{round}"));
        for sub in ["drop", "out"] {
            fs::create_dir_all(sd_small.join(sub)).expect("creating the small run's dirs");
        }
        let small_config = sd_small.join("adapters.toml");
        fs::write(&small_config, FILE_CONFIG).expect("writing the small run's adapters.toml");
        copy(&small, &sd_small.join("drop/1-stock.csv"));
        let small_run = run_syncd(
            &syncd,
            &small_config,
            &[],
            &logs,
            &format!("syncd-small-{round}"),
        );
        small_secs.push(small_run.secs);
    }
    let growth = (fifth, median(small_secs));

    let (fluent_s, batch_calls) = fluent_cold(&syncd, &generator, &baselines, work, &logs);

    // Startup: the daemon on the last round's state (every position stored), until READY.
    let stored = work.join(format!("round-{rounds}/syncd/adapters.toml"));
    let ready_ms = median((0..3).map(|_| ready_after(&syncd, &stored)).collect());

    print_report(
        Shape {
            positions,
            changed,
            rounds,
        },
        &generator,
        &s,
        python.is_some().then_some(&p),
        (fluent_s, batch_calls),
        growth,
        ready_ms,
    );
}

/// Milliseconds from starting `syncd run` on `config` until its `/readyz` answers 200.
fn ready_after(syncd: &Path, config: &Path) -> f64 {
    use std::io::{Read, Write};
    let state = config.parent().expect("a config in a dir").join("state");
    let started = std::time::Instant::now();
    let mut child = std::process::Command::new(syncd)
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting syncd run");
    let deadline = started + std::time::Duration::from_secs(60);
    let ready = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "syncd run never got ready"
        );
        let admin = fs::read_to_string(state.join("syncd.pid"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .filter(|v| v["pid"].as_u64() == Some(u64::from(child.id())))
            .and_then(|v| v["admin"].as_str().map(str::to_string));
        let answered = admin.and_then(|addr| {
            let mut stream = std::net::TcpStream::connect(addr).ok()?;
            stream
                .write_all(b"GET /readyz HTTP/1.0\r\nHost: syncd\r\n\r\n")
                .ok()?;
            let mut head = [0u8; 12];
            stream.read_exact(&mut head).ok()?;
            Some(head.ends_with(b"200"))
        });
        if answered == Some(true) {
            break started.elapsed();
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    let _ = child.kill();
    let _ = child.wait();
    ready.as_secs_f64() * 1000.0
}

/// The three exports one round runs: cold, unchanged, 1% changed.
struct Exports<'a> {
    files: [&'a Path; 3],
    positions: usize,
    changed: usize,
}

/// What runs the exports and where its logs go.
struct Tools<'a> {
    syncd: &'a Path,
    python: Option<&'a Path>,
    baselines: &'a Path,
    logs: &'a Path,
}

/// The size of what was measured.
struct Shape {
    positions: usize,
    changed: usize,
    rounds: usize,
}

/// One round: both sides from empty state in `dir`, through the three exports.
fn export_round(
    tools: &Tools<'_>,
    dir: &Path,
    exports: &Exports<'_>,
    round: usize,
) -> (Side, Side) {
    let (positions, changed) = (exports.positions, exports.changed);
    // syncd's working dir: config, drop folder, snapshot, state.
    let sd = dir.join("syncd");
    for sub in ["drop", "out"] {
        fs::create_dir_all(sd.join(sub)).expect("creating syncd's drop and out dirs");
    }
    let sd_config = sd.join("adapters.toml");
    fs::write(&sd_config, FILE_CONFIG).expect("writing syncd's adapters.toml");
    let py = dir.join("python");
    fs::create_dir_all(&py).expect("creating Python's dir");
    let py_state = py.join("state.sqlite");
    let py_target = py.join("target.csv");

    let mut s = Side::default();
    let mut p = Side::default();
    let [file1, file2, file3] = exports.files;
    let steps = [
        ("cold", file1, positions as u64),
        ("unchanged re-export", file2, 0),
        ("1% changed", file3, changed as u64),
    ];
    for (step, (what, source, expect_written)) in steps.into_iter().enumerate() {
        eprintln!("syncd {what}…");
        let name = source.file_name().expect("input files have names");
        copy(source, &sd.join("drop").join(name));
        let log = format!("syncd-{round}-{step}");
        let run = run_syncd(tools.syncd, &sd_config, &[], tools.logs, &log);
        let counts = once_counts(&run.stdout, "erp-to-shop");
        assert_eq!(
            counts.written, expect_written,
            "syncd {what}: reported {} written (read {}, unchanged {}), expected {expect_written}",
            counts.written, counts.read, counts.unchanged
        );
        if step == 0 {
            let lines = count_lines(&sd.join("out/stock.jsonl"));
            assert_eq!(
                lines, positions as u64,
                "syncd cold: out/stock.jsonl has {lines} lines, expected {positions}"
            );
        }
        if step == 2 {
            eprintln!(
                "  syncd wrote {} of {} positions ({} unchanged)",
                counts.written, counts.read, counts.unchanged
            );
        }
        s.secs[step] = run.secs;
        s.peak_rss_kib = s.peak_rss_kib.max(run.max_rss_kib);

        if let Some(python) = tools.python {
            eprintln!("python {what}…");
            let mut cmd = Command::new(python);
            cmd.arg(tools.baselines.join("py_sync.py"))
                .args([source, &py_state, &py_target]);
            let run = measure(&mut cmd, tools.logs, &format!("python-{round}-{step}"));
            let reported = python_changed(&run.stdout);
            assert_eq!(
                reported, expect_written,
                "py_sync.py {what}: reported changed={reported}, expected {expect_written}"
            );
            p.secs[step] = run.secs;
            p.peak_rss_kib = p.peak_rss_kib.max(run.max_rss_kib);
        }
    }
    s.state_bytes = dir_bytes(&sd.join("state"));
    if tools.python.is_some() {
        p.state_bytes = sqlite_bytes(&py_state);
    }
    (s, p)
}

/// The middle value (the mean of the middle two for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

impl Side {
    /// Each time's median over the rounds; the highest RSS; the last round's state bytes.
    fn median(rounds: &[Side]) -> Side {
        let mut secs = [0.0; 3];
        for (step, slot) in secs.iter_mut().enumerate() {
            *slot = median(rounds.iter().map(|r| r.secs[step]).collect());
        }
        Side {
            secs,
            peak_rss_kib: rounds.iter().map(|r| r.peak_rss_kib).max().unwrap_or(0),
            state_bytes: rounds.last().map_or(0, |r| r.state_bytes),
        }
    }
}

/// The positions per export from `--positions N` / `--positions=N`, `E2E_POSITIONS` or the
/// default; `None` on `--list` (cargo asking what benches exist: nothing to print).
fn options_from_args() -> Option<(usize, usize)> {
    let parse = |v: &str, from: &str| -> usize {
        v.replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{from}: `{v}` is not a number of positions"))
    };
    let mut positions = std::env::var("E2E_POSITIONS")
        .ok()
        .map(|v| parse(&v, "E2E_POSITIONS"));
    let mut rounds = std::env::var("E2E_ROUNDS")
        .ok()
        .map(|v| parse(&v, "E2E_ROUNDS"));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--list" {
            return None;
        } else if arg == "--bench" {
            // cargo passes it to every bench binary.
        } else if arg == "--positions" {
            let v = args
                .next()
                .expect("--positions needs a value, e.g. --positions 200000");
            positions = Some(parse(&v, "--positions"));
        } else if let Some(v) = arg.strip_prefix("--positions=") {
            positions = Some(parse(v, "--positions"));
        } else if arg == "--rounds" {
            let v = args
                .next()
                .expect("--rounds needs a value, e.g. --rounds 5");
            rounds = Some(parse(&v, "--rounds"));
        } else if let Some(v) = arg.strip_prefix("--rounds=") {
            rounds = Some(parse(v, "--rounds"));
        } else {
            eprintln!("end_to_end: ignoring argument `{arg}`");
        }
    }
    Some((
        positions.unwrap_or(DEFAULT_POSITIONS),
        rounds.unwrap_or(DEFAULT_ROUNDS).max(1),
    ))
}

/// "1M", "20k" or the plain number: the size as the table's row labels name it.
fn size_label(n: usize) -> String {
    // Whole millions or thousands only (no `is_multiple_of`: the workspace targets Rust 1.80).
    let (millions, thousands) = (n / 1_000_000, n / 1_000);
    if millions > 0 && millions * 1_000_000 == n {
        format!("{millions}M")
    } else if thousands > 0 && thousands * 1_000 == n {
        format!("{thousands}k")
    } else {
        n.to_string()
    }
}

/// Builds the release `syncd` binary with cargo and returns its path.
fn build_syncd(manifest: &Path) -> PathBuf {
    eprintln!("building syncd (cargo build --release --bin syncd)…");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let status = Command::new(&cargo)
        .args(["build", "--release", "--bin", "syncd"])
        .current_dir(manifest)
        .status()
        .expect("running `cargo build --release --bin syncd`");
    assert!(
        status.success(),
        "`cargo build --release --bin syncd` failed ({status})"
    );
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => manifest.join(dir),
        None => manifest.join("target"),
    };
    let syncd = target.join("release/syncd");
    assert!(
        syncd.is_file(),
        "{} is missing after the build (is the target dir elsewhere?)",
        syncd.display()
    );
    syncd
}

/// The real interpreter behind `python3` on PATH (past any pyenv-style shim), if there is one.
fn python_interpreter() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Some(if path.is_empty() {
        PathBuf::from("python3")
    } else {
        PathBuf::from(path)
    })
}

/// Writes `n` positions to `out`, the first `changed` of them with changed quantities.
fn generate(generator: &Generator, baselines: &Path, n: usize, out: &Path, changed: usize) {
    match generator {
        Generator::Python(python) => {
            let status = Command::new(python)
                .arg(baselines.join("gen_positions.py"))
                .arg(n.to_string())
                .arg(out)
                .args(["--changed", &changed.to_string()])
                .status()
                .expect("running gen_positions.py");
            assert!(status.success(), "gen_positions.py failed ({status})");
        }
        Generator::Rust => {
            let file =
                fs::File::create(out).unwrap_or_else(|e| panic!("creating {}: {e}", out.display()));
            let mut w = BufWriter::new(file);
            let write = |w: &mut BufWriter<fs::File>| -> std::io::Result<()> {
                writeln!(w, "sku,location,on_hand")?;
                for i in 0..n {
                    // Deterministic, spread over 0..500 like the Python generator's quantities.
                    let mut q = (i as u64).wrapping_mul(2_654_435_761).wrapping_add(7) % 500;
                    if i < changed {
                        q += 1000;
                    }
                    writeln!(w, "SKU-{:07},LOC-{:03},{q}", i / 50, i % 50)?;
                }
                w.flush()
            };
            write(&mut w).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
        }
    }
}

/// Copies `from` to `to`, naming both on failure.
fn copy(from: &Path, to: &Path) {
    fs::copy(from, to)
        .unwrap_or_else(|e| panic!("copying {} to {}: {e}", from.display(), to.display()));
}

/// Runs `syncd once --json --config CONFIG` with `envs` set, checked and measured.
fn run_syncd(
    syncd: &Path,
    config: &Path,
    envs: &[(&str, &str)],
    logs: &Path,
    label: &str,
) -> Measured {
    let mut cmd = Command::new(syncd);
    cmd.args(["once", "--json", "--config"]).arg(config);
    // The caller's SYNCD_* overrides and log filter must not change what is measured.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SYNCD_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env_remove("RUST_LOG").envs(envs.iter().copied());
    measure(&mut cmd, logs, label)
}

/// Runs `cmd` to completion with its output in files under `logs`; panics unless it succeeds.
fn measure(cmd: &mut Command, logs: &Path, label: &str) -> Measured {
    let out_path = logs.join(format!("{label}.stdout"));
    let err_path = logs.join(format!("{label}.stderr"));
    let out = fs::File::create(&out_path).expect("creating a stdout log file");
    let err = fs::File::create(&err_path).expect("creating a stderr log file");
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    let started = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{label}: spawning {cmd:?}: {e}"));
    let (status, max_rss_kib) = wait_with_rusage(child, label);
    let secs = started.elapsed().as_secs_f64();
    let stdout = fs::read_to_string(&out_path).unwrap_or_default();
    if !status.success() {
        let stderr = fs::read_to_string(&err_path).unwrap_or_default();
        panic!(
            "{label}: {cmd:?} failed ({status})\n--- stdout (tail) ---\n{}\n--- stderr (tail) ---\n{}",
            tail(&stdout),
            tail(&stderr)
        );
    }
    Measured {
        secs,
        max_rss_kib,
        stdout,
    }
}

/// Reaps `child` with `wait4`: its exit status and its own peak RSS in KiB.
fn wait_with_rusage(child: Child, label: &str) -> (ExitStatus, u64) {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; all-zero is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our own unreaped child; both pointers are valid for the call.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            panic!("{label}: wait4 on pid {pid} failed: {e}");
        }
    }
    // Reaped above: dropping the handle neither waits nor kills.
    drop(child);
    let maxrss = usage.ru_maxrss.max(0) as u64;
    // Linux reports KiB; macOS reports bytes.
    let kib = if cfg!(target_os = "macos") {
        maxrss / 1024
    } else {
        maxrss
    };
    (ExitStatus::from_raw(status), kib)
}

/// The last 2,000 characters of `s`, for failure messages.
fn tail(s: &str) -> &str {
    let mut start = s.len().saturating_sub(2_000);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// The counts of `pipeline` in `syncd once --json` output; panics unless it succeeded.
fn once_counts(stdout: &str, pipeline: &str) -> Counts {
    let reports: Value = serde_json::from_str(stdout).unwrap_or_else(|e| {
        panic!(
            "`syncd once --json` printed no JSON ({e}):\n{}",
            tail(stdout)
        )
    });
    let report = reports
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["pipeline"] == pipeline))
        .unwrap_or_else(|| panic!("no report for pipeline {pipeline} in:\n{}", tail(stdout)));
    assert_eq!(
        report["outcome"]["result"], "succeeded",
        "pipeline {pipeline} did not succeed: {}",
        report["outcome"]
    );
    let count = |field: &str| {
        report[field]
            .as_u64()
            .unwrap_or_else(|| panic!("report of {pipeline} has no count `{field}`: {report}"))
    };
    Counts {
        read: count("read"),
        unchanged: count("unchanged"),
        written: count("written"),
    }
}

/// The `changed=K` count `py_sync.py` printed.
fn python_changed(stdout: &str) -> u64 {
    stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix("changed="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("py_sync.py printed no changed=K:\n{}", tail(stdout)))
}

/// The number of lines in the file at `path`.
fn count_lines(path: &Path) -> u64 {
    let file = fs::File::open(path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut lines = 0u64;
    loop {
        let buf = reader
            .fill_buf()
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        if buf.is_empty() {
            return lines;
        }
        lines += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let n = buf.len();
        reader.consume(n);
    }
}

/// Total bytes of every file under `dir`, recursively.
fn dir_bytes(dir: &Path) -> u64 {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    entries
        .map(|entry| {
            let entry = entry.unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
            let meta = entry
                .metadata()
                .unwrap_or_else(|e| panic!("stat {}: {e}", entry.path().display()));
            if meta.is_dir() {
                dir_bytes(&entry.path())
            } else {
                meta.len()
            }
        })
        .sum()
}

/// Bytes of the SQLite file at `db` and its `-journal`/`-wal`/`-shm` companions, if any.
fn sqlite_bytes(db: &Path) -> u64 {
    let name = db.file_name().expect("a file name").to_string_lossy();
    ["", "-journal", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| fs::metadata(db.with_file_name(format!("{name}{suffix}"))).ok())
        .map(|m| m.len())
        .sum()
}

/// `syncd once` of `FLUENT_POSITIONS` positions cold into an in-process Fluent simulator:
/// wall seconds and the batch calls the simulator saw.
fn fluent_cold(
    syncd: &Path,
    generator: &Generator,
    baselines: &Path,
    work: &Path,
    logs: &Path,
) -> (f64, u64) {
    let label = size_label(FLUENT_POSITIONS);
    let dir = work.join("fluent");
    fs::create_dir_all(dir.join("drop")).expect("creating the Fluent run's drop folder");
    eprintln!("generating {label} positions for Fluent…");
    generate(
        generator,
        baselines,
        FLUENT_POSITIONS,
        &dir.join("drop/1-stock.csv"),
        0,
    );
    let runtime = tokio::runtime::Runtime::new().expect("starting a tokio runtime");
    let sim = runtime
        .block_on(FluentSim::start(FluentSimConfig::default()))
        .expect("starting the Fluent simulator");
    let f = sim.config();
    let config = format!(
        r#"[daemon]
state_dir = "state"
admin_listen = "127.0.0.1:0"

[connectors.erp]
kind = "file"
read_dir = "drop"

[connectors.fluent]
kind = "fluent"
base_url = "{url}"
account = "{account}"
retailer_id = {retailer}
client_id = "{client_id}"
client_secret = {{ env = "{SECRET_ENV}" }}
username = "{username}"
password = {{ env = "{PASSWORD_ENV}" }}

[[pipelines]]
name = "erp-to-fluent"
from = "erp"
to = "fluent"
entity = "stock_position"
mode = "incremental"
schedule = "0 */5 * * * *"
"#,
        url = sim.url(),
        account = f.account,
        retailer = f.retailer_id,
        client_id = f.client_id,
        username = f.username,
    );
    let config_path = dir.join("adapters.toml");
    fs::write(&config_path, config).expect("writing the Fluent run's adapters.toml");
    eprintln!("syncd {label} into the Fluent simulator, cold…");
    // The simulator serves from the runtime's worker threads while this thread waits.
    let run = run_syncd(
        syncd,
        &config_path,
        &[
            (SECRET_ENV, f.client_secret.as_str()),
            (PASSWORD_ENV, f.password.as_str()),
        ],
        logs,
        "syncd-fluent",
    );
    let counts = once_counts(&run.stdout, "erp-to-fluent");
    assert_eq!(
        counts.written, FLUENT_POSITIONS as u64,
        "syncd into Fluent: reported {} written (read {}), expected {FLUENT_POSITIONS}",
        counts.written, counts.read
    );
    let calls = sim.log().calls(BATCH);
    drop(sim);
    runtime.shutdown_background();
    (run.secs, calls)
}

/// KiB as MiB.
fn mib_kib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Bytes as MiB.
fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Prints the markdown table, its footnotes and the JSON lines.
fn print_report(
    shape: Shape,
    generator: &Generator,
    s: &Side,
    p: Option<&Side>,
    (fluent_s, batch_calls): (f64, u64),
    growth: (usize, f64),
    ready_ms: f64,
) {
    let Shape {
        positions,
        changed,
        rounds,
    } = shape;
    let label = size_label(positions);
    let na = "n/a (no python3)".to_string();
    let py = |f: &dyn Fn(&Side) -> String| p.map(f).unwrap_or_else(|| na.clone());
    let speed = |syncd: f64, python: Option<f64>| match python {
        Some(python) if syncd > 0.0 => format!("{:.1}x", python / syncd),
        _ => "—".to_string(),
    };
    let share = |syncd: u64, python: Option<u64>| match python {
        Some(python) if python > 0 => {
            format!("syncd {:.2}x of Python", syncd as f64 / python as f64)
        }
        _ => "—".to_string(),
    };
    let per_position = |bytes: u64| bytes as f64 / positions as f64;

    let mut rows: Vec<[String; 4]> = Vec::new();
    let times = ["cold", "unchanged re-export", "with 1% changed"];
    for (i, what) in times.iter().enumerate() {
        rows.push([
            format!("{label} {what}"),
            format!("{:.2} s", s.secs[i]),
            py(&|x| format!("{:.2} s", x.secs[i])),
            speed(s.secs[i], p.map(|x| x.secs[i])),
        ]);
    }
    rows.push([
        "peak RSS".into(),
        format!("{:.1} MiB", mib_kib(s.peak_rss_kib)),
        py(&|x| format!("{:.1} MiB", mib_kib(x.peak_rss_kib))),
        share(s.peak_rss_kib, p.map(|x| x.peak_rss_kib)),
    ]);
    rows.push([
        "state-dir bytes".into(),
        format!(
            "{:.1} MiB ({:.0} B/position)",
            mib(s.state_bytes),
            per_position(s.state_bytes)
        ),
        py(&|x| {
            format!(
                "{:.1} MiB ({:.0} B/position)",
                mib(x.state_bytes),
                per_position(x.state_bytes)
            )
        }),
        share(s.state_bytes, p.map(|x| x.state_bytes)),
    ]);
    rows.push([
        format!("startup to READY, {label} positions stored"),
        format!("{ready_ms:.0} ms (target ≤ 200 ms)"),
        "—".into(),
        "—".into(),
    ]);
    let (fifth, fifth_s) = growth;
    rows.push([
        format!("cold growth, {} → {label}", size_label(fifth)),
        format!(
            "{fifth_s:.2} s → {:.2} s = {:.1}x the time for {:.0}x the data",
            s.secs[0],
            s.secs[0] / fifth_s,
            positions as f64 / fifth as f64
        ),
        "—".into(),
        "—".into(),
    ]);
    let fluent_figure = format!(
        "{} into the Fluent simulator, cold",
        size_label(FLUENT_POSITIONS)
    );
    let fluent_minimum = FLUENT_POSITIONS.div_ceil(FLUENT_BATCH_LIMIT);
    rows.push([
        fluent_figure.clone(),
        format!("{fluent_s:.2} s, {batch_calls} batch calls (minimum {fluent_minimum})"),
        "—".into(),
        "—".into(),
    ]);

    println!();
    println!("| figure | syncd | Python baseline | ratio |");
    println!("|---|---|---|---|");
    for [a, b, c, d] in &rows {
        println!("| {a} | {b} | {c} | {d} |");
    }
    println!();
    println!(
        "ratio: times are Python ÷ syncd (above 1x, syncd is faster); RSS and bytes are syncd ÷ Python (below 1x, syncd uses less)."
    );
    let source = match generator {
        Generator::Python(python) => format!("gen_positions.py via {}", python.display()),
        Generator::Rust => "the in-Rust generator".to_string(),
    };
    println!(
        "{positions} positions ({changed} changed in the third export) from {source}; times are wall clock around each whole process, the median of {rounds} rounds each from empty state (the growth figure too; the Fluent figure is one run); peak RSS is the max ru_maxrss over every run; syncd bytes are its state dir, Python's its SQLite file."
    );
    println!();

    for (i, what) in times.iter().enumerate() {
        json_line(&[
            ("figure", json!(format!("{label} {what}"))),
            ("positions", json!(positions)),
            ("syncd_s", json!(s.secs[i])),
            ("python_s", json!(p.map(|x| x.secs[i]))),
        ]);
    }
    json_line(&[
        ("figure", json!("peak RSS")),
        ("positions", json!(positions)),
        ("syncd_kib", json!(s.peak_rss_kib)),
        ("python_kib", json!(p.map(|x| x.peak_rss_kib))),
    ]);
    json_line(&[
        ("figure", json!("state-dir bytes")),
        ("positions", json!(positions)),
        ("syncd_bytes", json!(s.state_bytes)),
        ("python_bytes", json!(p.map(|x| x.state_bytes))),
    ]);
    json_line(&[
        ("figure", json!(fluent_figure)),
        ("positions", json!(FLUENT_POSITIONS)),
        ("syncd_s", json!(fluent_s)),
        ("batch_calls", json!(batch_calls)),
        ("minimum_batch_calls", json!(fluent_minimum)),
    ]);
    json_line(&[
        ("figure", json!("cold growth")),
        ("positions", json!(positions)),
        ("fifth_positions", json!(fifth)),
        ("syncd_fifth_s", json!(fifth_s)),
        ("syncd_s", json!(s.secs[0])),
    ]);
    json_line(&[
        ("figure", json!("startup to READY")),
        ("positions", json!(positions)),
        ("syncd_ms", json!(ready_ms)),
    ]);
}

/// Prints one JSON object with its keys in the order given (`figure` first).
fn json_line(fields: &[(&str, Value)]) {
    let body: Vec<String> = fields
        .iter()
        .map(|(key, value)| format!("{}:{value}", Value::from(*key)))
        .collect();
    println!("{{{}}}", body.join(","));
}
