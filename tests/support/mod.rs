//! The real `syncd run` in a temp dir, driven through signals and its admin API. Every wait is
//! on a condition with a deadline, never a fixed sleep.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const DEADLINE: Duration = Duration::from_secs(60);

/// The admin token the test configs name (`admin_token = { env = "SYNCD_TEST_ADMIN_TOKEN" }`):
/// every `syncd` the tests start, daemon and operator commands alike, has it.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

pub fn syncd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_syncd"));
    cmd.env_remove("RUST_LOG")
        .env_remove("NOTIFY_SOCKET")
        .env("SYNCD_LOG_FORMAT", "text")
        .env("SYNCD_TEST_ADMIN_TOKEN", ADMIN_TOKEN);
    cmd
}

/// Waits for `what` to hold, polling, up to the deadline.
pub async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn stock_csv(n: usize) -> String {
    let mut s = String::from("sku,location,on_hand\n");
    for i in 0..n {
        s.push_str(&format!("SKU-{i:05},WH,{}\n", i % 97));
    }
    s
}

/// A temp dir with a config, and the daemon running on it.
pub struct Daemon {
    /// The directory the daemon runs in (config, state, files).
    pub dir: PathBuf,
    owned: Option<tempfile::TempDir>,
    child: Child,
    log: Arc<Mutex<String>>,
    /// The admin API's base URL.
    pub admin: String,
    /// The public listener's base URL (webhooks), when the config has one.
    pub public: Option<String>,
    /// A client for it.
    pub http: reqwest::Client,
}

impl Daemon {
    /// The public listener's base URL; panics when the config has none.
    pub fn public(&self) -> &str {
        self.public
            .as_deref()
            .expect("the config sets [daemon] public_listen")
    }

    pub fn config_path(dir: &Path) -> PathBuf {
        dir.join("adapters.toml")
    }

    /// Starts `syncd run` on `config` (a body below a `[daemon]` header that sets the state dir
    /// and an ephemeral admin port) and waits until its admin API answers.
    pub async fn start_in(dir: tempfile::TempDir, extra_env: &[(&str, &str)]) -> Self {
        let mut daemon = Self::start_at(dir.path(), extra_env).await;
        daemon.owned = Some(dir);
        daemon
    }

    /// Starts `syncd run` in `dir`, which the caller keeps.
    pub async fn start_at(dir: &Path, extra_env: &[(&str, &str)]) -> Self {
        Self::start_with(dir, extra_env, None).await
    }

    /// [`Daemon::start_at`], with the files the process writes capped at `max_file_bytes`
    /// (`RLIMIT_FSIZE`: a write past it fails as on a full disk).
    pub async fn start_with(
        dir: &Path,
        extra_env: &[(&str, &str)],
        max_file_bytes: Option<u64>,
    ) -> Self {
        let mut cmd = syncd();
        if let Some(limit) = max_file_bytes {
            use std::os::unix::process::CommandExt;
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    // A write past the cap fails with EFBIG instead of killing the process.
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                    let cap = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    if libc::setrlimit(libc::RLIMIT_FSIZE, &cap) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        cmd.arg("run")
            .arg("--config")
            .arg(Self::config_path(dir))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start syncd run");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let pid_file = dir.join("state/syncd.pid");
        let start = Instant::now();
        let (admin, public) = loop {
            // A killed daemon leaves its pid file: wait for this process's own.
            let ours = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                .filter(|v| v["pid"].as_u64() == Some(u64::from(child.id())));
            if let Some(v) = ours {
                break (
                    format!("http://{}", v["admin"].as_str().unwrap()),
                    v["public"].as_str().map(|p| format!("http://{p}")),
                );
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("syncd exited early ({status}): {}", log.lock().unwrap());
            }
            assert!(
                start.elapsed() < DEADLINE,
                "no pid file: {}",
                log.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let daemon = Daemon {
            dir: dir.to_path_buf(),
            owned: None,
            child,
            log,
            admin,
            public,
            http: reqwest::Client::new(),
        };
        until("the admin API answers", || async {
            daemon.get("/healthz").await.0 == 200
        })
        .await;
        daemon
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: sends a signal to our own child process.
        assert_eq!(unsafe { libc::kill(self.pid(), signal) }, 0);
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        match self.http.get(format!("{}{path}", self.admin)).send().await {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(_) => (0, String::new()),
        }
    }

    pub async fn runs_of(&self, pipeline: &str) -> Vec<serde_json::Value> {
        let (status, body) = self
            .get(&format!("/runs?pipeline={pipeline}&limit=200"))
            .await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    pub async fn metric(&self, name: &str, pipeline: &str) -> f64 {
        let (_, body) = self.get("/metrics").await;
        let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string())))
            .expect("metrics parse as Prometheus text");
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name && s.labels.get("pipeline") == Some(pipeline))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    }

    /// Waits for the process to exit; returns its status and how long that took.
    pub async fn exit(&mut self) -> (ExitStatus, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, start.elapsed());
            }
            assert!(
                start.elapsed() < DEADLINE,
                "syncd did not exit: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Daemon {
    /// `syncd trigger PIPELINE` against this daemon; panics if the command fails.
    pub fn trigger(&self, pipeline: &str) {
        let out = syncd()
            .args(["trigger", "--config"])
            .arg(Self::config_path(&self.dir))
            .arg(pipeline)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Kills the process with SIGKILL, as a crash would, and waits for it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
