//! The `syncd run` child process the mission plays through, driven only as an operator drives
//! it: `syncd trigger` (the pid file and SIGUSR1) to run pipelines, the admin API to read their
//! reports, and SIGTERM to stop it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use syncd_engine::RunReport;
use tokio::process::{Child, Command};

use crate::MissionError;

/// How long the daemon may take to start, and one run to finish.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// A running `syncd run`, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Daemon {
    child: Child,
    syncd: PathBuf,
    config: PathBuf,
    env: Vec<(&'static str, String)>,
    log: PathBuf,
    /// The admin API's base URL.
    pub admin: String,
    /// The public listener's address (webhooks, the app, served files).
    pub public: String,
    http: reqwest::Client,
}

impl Daemon {
    /// Starts `syncd run --config CONFIG` with `env`, its log in `log`, and waits until its
    /// admin API answers ready.
    pub async fn start(
        syncd: &Path,
        config: &Path,
        env: Vec<(&'static str, String)>,
        log: &Path,
    ) -> Result<Self, MissionError> {
        let log_file = std::fs::File::create(log).map_err(|e| MissionError::io(log, e))?;
        let mut command = Command::new(syncd);
        command
            .args(["run", "--config"])
            .arg(config)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env_remove("NOTIFY_SOCKET")
            .env_remove("RUST_LOG")
            .env("SYNCD_LOG_FORMAT", "text")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(|e| MissionError::Daemon(format!("starting {}: {e}", syncd.display())))?;
        let state_dir = config.parent().unwrap_or(Path::new(".")).join("state");
        let pid_file = state_dir.join("syncd.pid");
        let since = Instant::now();
        let (admin, public) = loop {
            let ours = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .filter(|v| v["pid"].as_u64() == child.id().map(u64::from));
            if let Some(v) = ours {
                let admin = v["admin"].as_str().unwrap_or_default().to_string();
                let public = v["public"].as_str().unwrap_or_default().to_string();
                break (format!("http://{admin}"), public);
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(MissionError::Daemon(format!(
                    "exited at start ({status}): see {}",
                    log.display()
                )));
            }
            if since.elapsed() > DEADLINE {
                return Err(MissionError::Timeout(format!(
                    "the daemon's pid file (see {})",
                    log.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let daemon = Daemon {
            child,
            syncd: syncd.to_path_buf(),
            config: config.to_path_buf(),
            env,
            log: log.to_path_buf(),
            admin,
            public,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .map_err(|e| MissionError::call("an HTTP client", e))?,
        };
        let since = Instant::now();
        while daemon.status("/readyz").await != Some(200) {
            if since.elapsed() > DEADLINE {
                return Err(MissionError::Timeout(format!(
                    "the daemon to be ready (see {})",
                    daemon.log.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(daemon)
    }

    /// The daemon's log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The config it runs.
    pub fn config(&self) -> &Path {
        &self.config
    }

    async fn status(&self, path: &str) -> Option<u16> {
        let answer = self
            .http
            .get(format!("{}{path}", self.admin))
            .send()
            .await
            .ok()?;
        Some(answer.status().as_u16())
    }

    /// `GET path` on the admin API, as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, MissionError> {
        let what = format!("GET {path} on the daemon");
        let answer = self
            .http
            .get(format!("{}{path}", self.admin))
            .send()
            .await
            .map_err(|e| MissionError::call(&what, e))?;
        let status = answer.status();
        let body = answer
            .text()
            .await
            .map_err(|e| MissionError::call(&what, e))?;
        if !status.is_success() {
            return Err(MissionError::call(&what, format!("{status}: {body}")));
        }
        serde_json::from_str(&body).map_err(|e| MissionError::call(&what, e))
    }

    /// The reports of `pipeline`'s runs that started after `mark` (RFC 3339), oldest first.
    pub async fn reports_since(
        &self,
        pipeline: &str,
        mark: &str,
    ) -> Result<Vec<RunReport>, MissionError> {
        let all = self
            .get(&format!("/runs?pipeline={pipeline}&limit=100"))
            .await?;
        let reports: Vec<RunReport> = serde_json::from_value(all)
            .map_err(|e| MissionError::call(format!("the runs of {pipeline}"), e))?;
        Ok(reports
            .into_iter()
            .filter(|r| r.started_at.as_str() > mark)
            .collect())
    }

    /// When `pipeline` last started a run (RFC 3339; empty when never).
    pub async fn last_start(&self, pipeline: &str) -> Result<String, MissionError> {
        Ok(self
            .reports_since(pipeline, "")
            .await?
            .pop()
            .map(|r| r.started_at)
            .unwrap_or_default())
    }

    /// Runs `syncd ARGS --config CONFIG` with the daemon's environment; gives its output.
    pub async fn command(&self, args: &[&str]) -> Result<std::process::Output, MissionError> {
        let (verb, rest) = args.split_first().map_or(("", &[][..]), |(v, r)| (*v, r));
        Command::new(&self.syncd)
            .arg(verb)
            .arg("--config")
            .arg(&self.config)
            .args(rest)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| MissionError::Daemon(format!("syncd {verb}: {e}")))
    }

    /// `syncd trigger PIPELINE`, then waits for the report of the run it asked for.
    pub async fn run(&self, pipeline: &str) -> Result<RunReport, MissionError> {
        let mark = self.last_start(pipeline).await?;
        let out = self.command(&["trigger", pipeline]).await?;
        if !out.status.success() {
            return Err(MissionError::Daemon(format!(
                "syncd trigger {pipeline}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        self.next_report(pipeline, &mark).await
    }

    /// Waits for the first report of `pipeline` that started after `mark` and has finished.
    pub async fn next_report(&self, pipeline: &str, mark: &str) -> Result<RunReport, MissionError> {
        let since = Instant::now();
        loop {
            if let Some(report) = self.reports_since(pipeline, mark).await?.into_iter().next() {
                return Ok(report);
            }
            if since.elapsed() > DEADLINE {
                return Err(MissionError::Timeout(format!(
                    "a run of {pipeline} (see {})",
                    self.log.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Asks the daemon to stop (SIGTERM) and waits for it, killing it past the deadline.
    pub async fn stop(mut self) -> Result<std::process::ExitStatus, MissionError> {
        if let Some(pid) = self.child.id().and_then(|p| libc::pid_t::try_from(p).ok()) {
            // SAFETY: signals our own child; SIGTERM asks it to drain and exit.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        match tokio::time::timeout(DEADLINE, self.child.wait()).await {
            Ok(status) => status.map_err(|e| MissionError::Daemon(e.to_string())),
            Err(_) => {
                let _ = self.child.kill().await;
                Err(MissionError::Timeout("the daemon to stop".into()))
            }
        }
    }
}
