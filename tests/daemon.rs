//! `syncd run` as merchants run it: the real binary, signals, the admin API, systemd's notify
//! socket. Every wait is on a condition with a deadline, never a fixed sleep.

mod support;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};

use support::{stock_csv, syncd, until, Daemon, DEADLINE};

async fn start(config: &str) -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), config);
    Daemon::start_in(dir, &[]).await
}

fn write_config(dir: &Path, body: &str) {
    write_config_with(dir, "", body);
}

/// [`write_config`], with more `[daemon]` settings.
fn write_config_with(dir: &Path, daemon: &str, body: &str) {
    std::fs::create_dir_all(dir.join("drop")).unwrap();
    std::fs::create_dir_all(dir.join("out")).unwrap();
    std::fs::write(
        Daemon::config_path(dir),
        format!(
            "[daemon]\nstate_dir = \"state\"\nadmin_listen = \"127.0.0.1:0\"\npublic_listen = \"127.0.0.1:0\"\nadmin_token = {{ env = \"SYNCD_TEST_ADMIN_TOKEN\" }}\ncheck_interval_secs = 1\n{daemon}\n\n{body}"
        ),
    )
    .unwrap();
}

const CONNECTORS: &str = r#"
[connectors.erp]
kind = "file"
read_dir = "drop"

[connectors.shop]
kind = "file"
write_path = "out/shop.jsonl"

[connectors.outlet]
kind = "file"
write_path = "out/outlet.jsonl"
"#;

fn pipeline(name: &str, to: &str, schedule: Option<&str>) -> String {
    let schedule = schedule
        .map(|s| format!("schedule = \"{s}\"\n"))
        .unwrap_or_default();
    format!(
        "\n[[pipelines]]\nname = \"{name}\"\nfrom = \"erp\"\nto = \"{to}\"\nentity = \"stock_position\"\n{schedule}"
    )
}

/// The SKUs of the positions a ledger file holds, in its order (none before it exists).
fn ledger_skus(path: &Path) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let ledger: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    ledger["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap().to_string())
        .collect()
}

fn snapshot_len(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
        .unwrap_or(0)
}

#[tokio::test]
async fn sigusr1_runs_every_pipeline_now() {
    let config = format!(
        "{CONNECTORS}{}{}",
        pipeline("to-shop", "shop", None),
        pipeline("to-outlet", "outlet", None)
    );
    let d = start(&config).await;
    std::fs::write(d.path("drop/a.csv"), stock_csv(3)).unwrap();
    let asked = Instant::now();
    d.signal(libc::SIGUSR1);
    until("both pipelines ran", || async {
        d.runs_of("to-shop").await.len() == 1 && d.runs_of("to-outlet").await.len() == 1
    })
    .await;
    eprintln!("SIGUSR1 to both runs recorded: {:?}", asked.elapsed());
    assert_eq!(snapshot_len(&d.path("out/shop.jsonl")), 3);
    assert_eq!(snapshot_len(&d.path("out/outlet.jsonl")), 3);
}

#[tokio::test]
async fn trigger_runs_only_the_named_pipeline() {
    let config = format!(
        "{CONNECTORS}{}{}",
        pipeline("to-shop", "shop", None),
        pipeline("to-outlet", "outlet", None)
    );
    let d = start(&config).await;
    std::fs::write(d.path("drop/a.csv"), stock_csv(2)).unwrap();
    d.trigger("to-outlet");
    until("to-outlet ran", || async {
        d.runs_of("to-outlet").await.len() == 1
    })
    .await;
    // Trigger requests are taken at the signal, so the other pipeline would have started with it.
    until("the trigger was handled", || async {
        d.log().contains("running the requested pipelines now")
    })
    .await;
    assert!(d.runs_of("to-shop").await.is_empty(), "{}", d.log());
    assert_eq!(snapshot_len(&d.path("out/shop.jsonl")), 0);
}

#[test]
fn trigger_without_a_running_daemon_says_so_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &format!("{CONNECTORS}{}", pipeline("to-shop", "shop", None)),
    );
    let out = syncd()
        .args(["trigger", "--config"])
        .arg(Daemon::config_path(dir.path()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no syncd daemon is running"), "{err}");
}

#[tokio::test]
async fn sighup_with_a_broken_config_keeps_the_old_one_and_a_valid_change_takes_effect() {
    let base = format!("{CONNECTORS}{}", pipeline("to-shop", "shop", None));
    let d = start(&base).await;
    let config_path = Daemon::config_path(&d.dir);
    let body = std::fs::read_to_string(&config_path).unwrap();

    // A broken config that also adds a pipeline: rejected whole, the new pipeline included.
    let broken = body.replace(
        "write_path = \"out/shop.jsonl\"",
        "write_path = \"out/shop.jsonl\"\nmax_batch = \"ten\"",
    );
    std::fs::write(
        &config_path,
        format!("{broken}{}", pipeline("to-outlet", "outlet", None)),
    )
    .unwrap();
    d.signal(libc::SIGHUP);
    until("the reload is rejected", || async {
        d.log().contains("connectors.shop.max_batch")
    })
    .await;
    assert_eq!(d.get("/healthz").await.0, 200, "still up");
    std::fs::write(d.path("drop/a.csv"), stock_csv(4)).unwrap();
    d.signal(libc::SIGUSR1);
    until("the old config still runs", || async {
        d.runs_of("to-shop").await.len() == 1
    })
    .await;
    let (status, answer) = d.get("/runs?pipeline=to-outlet").await;
    assert_eq!(
        (status, answer.contains("no pipeline named `to-outlet`")),
        (404, true),
        "the rejected config's pipeline is unknown to the daemon: {answer}"
    );
    assert!(
        !d.log().contains("built=pipeline to-outlet"),
        "the rejected config's pipeline was never built: {}",
        d.log()
    );
    assert!(!d.path("out/outlet.jsonl").exists());

    std::fs::write(
        &config_path,
        format!("{body}{}", pipeline("to-outlet", "outlet", None)),
    )
    .unwrap();
    d.signal(libc::SIGHUP);
    until("the reload is accepted", || async {
        d.log().contains("config reloaded")
    })
    .await;
    assert!(
        d.log().contains("built=pipeline to-outlet"),
        "only the new pipeline is built: {}",
        d.log()
    );
    d.signal(libc::SIGUSR1);
    until("the new pipeline runs", || async {
        d.runs_of("to-outlet").await.len() == 1
    })
    .await;
    assert_eq!(snapshot_len(&d.path("out/outlet.jsonl")), 4);
}

#[tokio::test]
async fn sigterm_during_a_run_drains_exits_zero_and_the_next_start_finishes_the_work() {
    const N: usize = 400;
    // One record per call, five calls a second: a run long enough to be interrupted. A ledger
    // applies each call as it comes (a snapshot file would stage the whole run).
    let config = format!(
        "{CONNECTORS}\n[connectors.slow]\nkind = \"file\"\nledger_path = \"out/slow.json\"\nmax_batch = 1\nrate_limit = {{ per_second = 5, burst = 1 }}\n{}",
        pipeline("to-slow", "slow", None)
    );
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &config);
    std::fs::write(dir.path().join("drop/a.csv"), stock_csv(N)).unwrap();
    let mut d = Daemon::start_in(dir, &[]).await;
    d.signal(libc::SIGUSR1);
    until("some writes are acknowledged", || async {
        d.metric("syncd_outbox_depth", "to-slow").await > 0.0
            && ledger_skus(&d.path("out/slow.json")).len() >= 2
    })
    .await;
    d.signal(libc::SIGTERM);
    let (status, took) = d.exit().await;
    assert_eq!(status.code(), Some(0), "{}", d.log());
    assert!(
        took < Duration::from_secs(30),
        "exits within the default drain timeout: {took:?}"
    );
    assert!(d.log().contains("in-flight runs finished"), "{}", d.log());
    let written = ledger_skus(&d.path("out/slow.json")).len();
    assert!(written < N, "the run was interrupted ({written} of {N})");

    // The next start: a full-speed `once` over the same state finishes exactly the rest.
    let config_path = Daemon::config_path(&d.dir);
    let body = std::fs::read_to_string(&config_path)
        .unwrap()
        .replace("rate_limit = { per_second = 5, burst = 1 }", "")
        .replace("max_batch = 1\n", "max_batch = 100\n");
    std::fs::write(&config_path, body).unwrap();
    let out = syncd()
        .args(["once", "--json", "--config"])
        .arg(&config_path)
        .arg("to-slow")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &reports[0];
    assert_eq!(r["dead_lettered"], 0, "{r}");
    assert_eq!(r["pending"], 0, "{r}");
    let mut skus = ledger_skus(&d.path("out/slow.json"));
    skus.sort();
    let expected: Vec<String> = (0..N).map(|i| format!("SKU-{i:05}")).collect();
    assert_eq!(skus, expected, "every position exactly once");
}

#[tokio::test]
async fn a_schedule_of_every_second_fires_repeatedly_and_overlapping_ticks_are_skipped_and_counted()
{
    let config = format!(
        "{CONNECTORS}\n[connectors.slow]\nkind = \"file\"\nwrite_path = \"out/slow.jsonl\"\nmax_batch = 1\nrate_limit = {{ per_second = 4, burst = 1 }}\n{}{}",
        pipeline("quick", "shop", Some("* * * * * *")),
        pipeline("slow", "slow", Some("* * * * * *")),
    );
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &config);
    // Twelve single-record calls at four a second: the slow run spans several ticks.
    std::fs::write(dir.path().join("drop/a.csv"), stock_csv(12)).unwrap();
    let d = Daemon::start_in(dir, &[]).await;
    until("the quick pipeline ran three times", || async {
        d.runs_of("quick").await.len() >= 3
    })
    .await;
    until("a tick of the slow pipeline was skipped", || async {
        d.metric("syncd_skipped_ticks_total", "slow").await >= 1.0
    })
    .await;
    assert_eq!(d.metric("syncd_skipped_ticks_total", "quick").await, 0.0);
    until("the slow run finished", || async {
        !d.runs_of("slow").await.is_empty()
    })
    .await;
    assert_eq!(snapshot_len(&d.path("out/slow.jsonl")), 12);
}

#[tokio::test]
async fn metrics_parse_and_readiness_follows_each_connectors_check() {
    let d = start(&format!(
        "{CONNECTORS}{}",
        pipeline("to-shop", "shop", None)
    ))
    .await;
    until("ready", || async { d.get("/readyz").await.0 == 200 }).await;
    std::fs::write(d.path("drop/a.csv"), stock_csv(5)).unwrap();
    d.signal(libc::SIGUSR1);
    until("the run is counted", || async {
        d.metric("syncd_runs_total", "to-shop").await == 1.0
    })
    .await;
    assert_eq!(
        d.metric("syncd_records_written_total", "to-shop").await,
        5.0
    );
    let (_, text) = d.get("/metrics").await;
    for family in [
        "syncd_records_read_total",
        "syncd_records_dead_lettered_total",
        "syncd_write_calls_total",
        "syncd_retries_total",
        "syncd_rate_limit_waits_total",
        "syncd_run_duration_seconds_bucket",
        "syncd_last_success_timestamp_seconds",
        "syncd_outbox_depth",
        "syncd_dead_letters",
        "syncd_inbox_depth",
    ] {
        assert!(text.contains(family), "{family} missing from:\n{text}");
    }

    // The ERP's drop folder disappears: its check fails and the daemon is not ready.
    std::fs::rename(d.path("drop"), d.path("drop-gone")).unwrap();
    until("not ready", || async { d.get("/readyz").await.0 == 503 }).await;
    let (_, body) = d.get("/readyz").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["failing"][0]["connector"], "erp", "{body}");
    std::fs::rename(d.path("drop-gone"), d.path("drop")).unwrap();
    until("ready again", || async { d.get("/readyz").await.0 == 200 }).await;
}

#[tokio::test]
async fn webhooks_go_only_to_connectors_that_take_them_and_bodies_are_size_limited() {
    let d = start(&format!(
        "{CONNECTORS}{}",
        pipeline("to-shop", "shop", None)
    ))
    .await;
    let post = |path: &str, body: Vec<u8>| {
        let url = format!("{}{path}", d.public());
        let http = d.http.clone();
        async move {
            http.post(url)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(post("/hooks/nobody/event", b"{}".to_vec()).await, 404);
    assert_eq!(post("/hooks/shop/event", b"{}".to_vec()).await, 404);
    assert_eq!(
        post("/hooks/shop/event", vec![b'x'; 2 * 1024 * 1024]).await,
        413
    );
    // The admin API serves no webhook: vendors reach the public listener only.
    let on_admin = d
        .http
        .post(format!("{}/hooks/shop/event", d.admin))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(on_admin.status().as_u16(), 404);
}

#[tokio::test]
async fn operator_commands_work_through_the_running_daemon() {
    let d = start(&format!(
        "{CONNECTORS}{}",
        pipeline("to-shop", "shop", Some("0 0 3 * * *"))
    ))
    .await;
    std::fs::write(
        d.path("drop/a.csv"),
        "sku,location,on_hand\nA,WH,1\nB,WH,-2\n",
    )
    .unwrap();
    d.signal(libc::SIGUSR1);
    until("the run is recorded", || async {
        d.runs_of("to-shop").await.len() == 1
    })
    .await;
    let config = Daemon::config_path(&d.dir);
    let run = |args: &[&str]| {
        let out = syncd()
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let status: serde_json::Value = serde_json::from_str(&run(&["status", "--json"])).unwrap();
    assert_eq!(status[0]["pipeline"], "to-shop");
    assert_eq!(status[0]["result"], "partial", "it dead-lettered B");
    assert_eq!(status[0]["dead_letters"], 1);
    assert!(status[0]["next_run"]
        .as_str()
        .unwrap()
        .ends_with("T03:00:00Z"));

    let letters: serde_json::Value =
        serde_json::from_str(&run(&["dlq", "list", "--json"])).unwrap();
    assert_eq!(letters[0]["id"], "record:B|WH");
    run(&["dlq", "drop", "to-shop", "record:B|WH"]);
    let letters: serde_json::Value =
        serde_json::from_str(&run(&["dlq", "list", "--json"])).unwrap();
    assert_eq!(letters, serde_json::json!([]));

    run(&["cursors", "reset", "to-shop"]);
    let cursors: serde_json::Value =
        serde_json::from_str(&run(&["cursors", "list", "--json"])).unwrap();
    assert_eq!(cursors[0]["cursor"], serde_json::Value::Null);

    // The daemon holds the store: `plan` asks it. The cursor was reset, so the next run would
    // read A again and find it unchanged, and B again and refuse it again.
    let plan: serde_json::Value =
        serde_json::from_str(&run(&["plan", "to-shop", "--json"])).unwrap();
    assert_eq!(plan["pipeline"], "to-shop", "{plan}");
    assert_eq!(plan["read"], 2, "{plan}");
    assert_eq!(plan["unchanged"], 1, "{plan}");
}

#[tokio::test]
async fn admin_changes_need_the_token_and_a_cursor_of_the_pipelines_shape() {
    let d = start(&format!(
        "{CONNECTORS}{}",
        pipeline("to-shop", "shop", Some("0 0 3 * * *"))
    ))
    .await;
    let put_cursor = |token: Option<&str>, cursor: serde_json::Value| {
        let mut request = d
            .http
            .put(format!("{}/cursors/to-shop", d.admin))
            .json(&cursor);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let answer = request.send().await.unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    // The review's repro: an inbox cursor far ahead, with no credentials.
    let skip = serde_json::json!({"inbox_after": 999_999});
    assert_eq!(put_cursor(None, skip.clone()).await.0, 401);
    assert_eq!(put_cursor(Some("guess"), skip.clone()).await.0, 401);
    let drop = d
        .http
        .post(format!("{}/dlq/to-shop/drop", d.admin))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(drop.status().as_u16(), 401, "dropping dead letters too");
    // With the token, a cursor of another shape is refused, naming the problem.
    let (status, body) = put_cursor(Some(support::ADMIN_TOKEN), skip).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("inbox_after"), "{body}");
    let (status, body) = put_cursor(
        Some(support::ADMIN_TOKEN),
        serde_json::json!({"taken": ["a.csv"]}),
    )
    .await;
    assert_eq!(status, 200, "a drop-folder cursor is one: {body}");
    // Reads need no token.
    assert_eq!(d.get("/cursors").await.0, 200);
}

#[tokio::test]
async fn without_an_admin_token_changes_are_refused_and_the_start_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("drop")).unwrap();
    std::fs::create_dir_all(dir.path().join("out")).unwrap();
    std::fs::write(
        Daemon::config_path(dir.path()),
        format!(
            "[daemon]\nstate_dir = \"state\"\nadmin_listen = \"127.0.0.1:0\"\n{CONNECTORS}{}",
            pipeline("to-shop", "shop", None)
        ),
    )
    .unwrap();
    let d = Daemon::start_in(dir, &[]).await;
    let answer = d
        .http
        .delete(format!("{}/cursors/to-shop", d.admin))
        .bearer_auth(support::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 403);
    assert!(d.log().contains("no [daemon] admin_token"), "{}", d.log());
}

#[tokio::test]
async fn systemd_hears_ready_and_stopping_on_its_notify_socket() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &format!("{CONNECTORS}{}", pipeline("to-shop", "shop", None)),
    );
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut d = Daemon::start_in(dir, &[("NOTIFY_SOCKET", socket_path.to_str().unwrap())]).await;
    let mut heard = String::new();
    let mut buf = [0u8; 4096];
    let mut wait_for = |needle: &str, heard: &mut String| {
        let start = Instant::now();
        while !heard.contains(needle) {
            assert!(start.elapsed() < DEADLINE, "no {needle} in {heard:?}");
            if let Ok(n) = socket.recv(&mut buf) {
                heard.push_str(&String::from_utf8_lossy(&buf[..n]));
                heard.push('\n');
            }
        }
    };
    wait_for("READY=1", &mut heard);
    assert!(heard.contains("STATUS="), "{heard}");
    d.signal(libc::SIGHUP);
    wait_for("RELOADING=1", &mut heard);
    d.signal(libc::SIGTERM);
    wait_for("STOPPING=1", &mut heard);
    assert_eq!(d.exit().await.0.code(), Some(0));
}

#[tokio::test]
async fn slow_and_silent_connections_are_cut_and_the_probes_keep_answering() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    // Tight limits, so that the test sees them act in seconds.
    write_config_with(
        dir.path(),
        "http_header_timeout_secs = 1\nhttp_request_timeout_secs = 2\nhttp_max_connections = 8",
        &format!("{CONNECTORS}{}", pipeline("to-shop", "shop", None)),
    );
    let d = Daemon::start_in(dir, &[]).await;
    let address = |base: &str| base.trim_start_matches("http://").to_string();

    // Three times the connection cap of silent clients on the admin API, and as many that
    // send half their headers.
    let mut silent = Vec::new();
    for i in 0..24 {
        let mut stream = tokio::net::TcpStream::connect(address(&d.admin))
            .await
            .unwrap();
        if i % 2 == 0 {
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        silent.push(stream);
    }
    // The probes answer all the same, once the cut connections free their places.
    let started = Instant::now();
    until("the probe answers past the slow clients", || async {
        d.get("/healthz").await.0 == 200
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the probe waited {:?}",
        started.elapsed()
    );
    // Every slow client was cut: its read ends.
    for mut stream in silent {
        let mut buf = [0u8; 512];
        let ended = tokio::time::timeout(Duration::from_secs(15), async {
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "a silent connection stayed open");
    }

    // A body that never finishes gets 408 on the public listener.
    let mut stream = tokio::net::TcpStream::connect(address(d.public()))
        .await
        .unwrap();
    stream
        .write_all(
            b"POST /hooks/shop/event HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":",
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "a stalled body is answered, not held: {answer:?}"
    );
}

#[tokio::test]
async fn a_client_over_its_request_rate_gets_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    write_config_with(
        dir.path(),
        "http_requests_per_client_second = 3",
        &format!("{CONNECTORS}{}", pipeline("to-shop", "shop", None)),
    );
    let d = Daemon::start_in(dir, &[]).await;
    let mut refused = None;
    for _ in 0..20 {
        let answer = d
            .http
            .get(format!("{}/metrics", d.admin))
            .send()
            .await
            .unwrap();
        if answer.status().as_u16() == 429 {
            refused = Some(answer);
            break;
        }
    }
    let refused = refused.expect("20 quick requests at 3 a second: some are refused");
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "Retry-After: {wait}");
}

#[tokio::test]
async fn a_long_run_moves_its_counters_and_logs_its_progress_before_it_ends() {
    const N: usize = 100;
    // One record per call, ten calls a second: a run of about 10 s, watched while it goes.
    // Small pages, so that the counters move several times during the run.
    let config = format!(
        "{CONNECTORS}\n[connectors.slow]\nkind = \"file\"\nledger_path = \"out/slow.json\"\nmax_batch = 1\nrate_limit = {{ per_second = 10, burst = 1 }}\n{}page_size = 10\n",
        pipeline("to-slow", "slow", None)
    );
    let dir = tempfile::tempdir().unwrap();
    write_config_with(dir.path(), "progress_log_secs = 1", &config);
    std::fs::write(dir.path().join("drop/a.csv"), stock_csv(N)).unwrap();
    let d = Daemon::start_in(dir, &[]).await;
    d.signal(libc::SIGUSR1);
    until(
        "records written show in /metrics while the run goes on",
        || async { d.metric("syncd_records_written_total", "to-slow").await >= 10.0 },
    )
    .await;
    assert!(
        d.runs_of("to-slow").await.is_empty(),
        "the run had already ended: the counters did not move before its end"
    );
    // `/status` carries the run so far, with how much of its drop folder it has read.
    let status: serde_json::Value = d
        .http
        .get(format!("{}/status", d.admin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let row = status
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["pipeline"] == "to-slow")
        .unwrap();
    let file_bytes = std::fs::metadata(d.dir.join("drop/a.csv")).unwrap().len();
    assert!(row["current"]["read"].as_u64().unwrap() >= 10, "{row:#}");
    assert_eq!(row["current"]["extent"]["unit"], "bytes", "{row:#}");
    assert_eq!(row["current"]["extent"]["total"], file_bytes, "{row:#}");
    assert!(row["current"]["extent"]["done"].as_u64().unwrap() < file_bytes);
    // `syncd top` draws the run going, how far it got, and at what speed.
    let top = syncd()
        .args(["top", "--frames", "2", "--interval", "1.5", "--config"])
        .arg(Daemon::config_path(&d.dir))
        .env("COLUMNS", "160")
        .output()
        .unwrap();
    let frames = String::from_utf8_lossy(&top.stdout);
    assert!(
        top.status.success(),
        "{frames}{}",
        String::from_utf8_lossy(&top.stderr)
    );
    let last = frames.trim_end().rsplit("\n\n").next().unwrap();
    let line = last
        .lines()
        .find(|l| l.contains("to-slow"))
        .unwrap_or_else(|| panic!("no row for to-slow:\n{frames}"));
    assert!(line.contains("running since"), "{frames}");
    assert!(line.contains('%'), "{frames}");
    until("the run logs its progress", || async {
        d.log().contains("run in progress")
    })
    .await;
    assert!(
        d.runs_of("to-slow").await.is_empty(),
        "logged before the end"
    );
    // At the end the counters hold the run's totals, counted once.
    until("the run ends", || async {
        d.runs_of("to-slow").await.len() == 1
    })
    .await;
    assert_eq!(
        d.metric("syncd_records_written_total", "to-slow").await,
        N as f64,
        "each record counted once"
    );
    assert_eq!(
        d.metric("syncd_records_read_total", "to-slow").await,
        N as f64
    );
}
