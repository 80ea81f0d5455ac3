//! `[daemon]`: where state lives, where the admin API listens, and how the scheduler behaves.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use syncd_core::secret::Secret;
use syncd_core::ConfigError;

fn default_state_dir() -> PathBuf {
    PathBuf::from("state")
}

fn default_admin_listen() -> String {
    "127.0.0.1:9181".to_string()
}

fn default_max_concurrent_runs() -> usize {
    4
}

fn default_drain_timeout_secs() -> u64 {
    30
}

fn default_check_interval_secs() -> u64 {
    30
}

fn default_http_header_timeout_secs() -> u64 {
    10
}

fn default_http_request_timeout_secs() -> u64 {
    30
}

fn default_http_max_connections() -> usize {
    256
}

fn default_http_requests_per_client_second() -> u32 {
    100
}

fn default_progress_log_secs() -> u64 {
    10
}

fn default_max_webhook_bytes() -> usize {
    1024 * 1024
}

/// The daemon's own settings.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSection {
    /// The sled state directory (relative paths: against the config file's directory).
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// The admin HTTP address (probes, metrics, operator routes); loopback unless you put a
    /// proxy in front of it.
    #[serde(default = "default_admin_listen")]
    pub admin_listen: String,
    /// The address vendors reach: webhooks (`/hooks/...`). None: no public listener, and no
    /// connector may take webhooks. Put TLS in front of it with a reverse proxy.
    #[serde(default)]
    pub public_listen: Option<String>,
    /// The bearer token the admin API's mutating routes (cursors, dead-letter replay and drop)
    /// require; the operator commands send it. Without one those routes answer 403.
    #[serde(default)]
    pub admin_token: Option<Secret>,
    /// The IANA time zone cron schedules are read in (`Europe/Berlin`); UTC when absent.
    #[serde(default)]
    pub timezone: Option<String>,
    /// How many pipelines may run at the same time.
    #[serde(default = "default_max_concurrent_runs")]
    pub max_concurrent_runs: usize,
    /// On SIGTERM, how long in-flight runs get to finish their current write call.
    #[serde(default = "default_drain_timeout_secs")]
    pub drain_timeout_secs: u64,
    /// How often every connector's `check` runs (it drives `/readyz`).
    #[serde(default = "default_check_interval_secs")]
    pub check_interval_secs: u64,
    /// The largest webhook body accepted; larger ones get 413.
    #[serde(default = "default_max_webhook_bytes")]
    pub max_webhook_bytes: usize,
    /// Seconds a client has to send a request's headers (a new connection, or a kept-alive one
    /// going idle); then the connection is closed. Both listeners.
    #[serde(default = "default_http_header_timeout_secs")]
    pub http_header_timeout_secs: u64,
    /// Seconds from a request's headers to its answer, the body's upload included; then 408.
    #[serde(default = "default_http_request_timeout_secs")]
    pub http_request_timeout_secs: u64,
    /// Connections each listener keeps open at once; more wait to be accepted.
    #[serde(default = "default_http_max_connections")]
    pub http_max_connections: usize,
    /// Requests a second each client address may make to a listener, sustained; then 429.
    #[serde(default = "default_http_requests_per_client_second")]
    pub http_requests_per_client_second: u32,
    /// How often a long run logs how far it got (its counters in `/metrics` move page by page).
    #[serde(default = "default_progress_log_secs")]
    pub progress_log_secs: u64,
    /// Accept a config with no pipeline (`check` and reload refuse one otherwise: an empty
    /// file is more often a mistake than a wish to stop everything).
    #[serde(default)]
    pub allow_empty: bool,
}

impl Default for DaemonSection {
    fn default() -> Self {
        DaemonSection {
            state_dir: default_state_dir(),
            admin_listen: default_admin_listen(),
            public_listen: None,
            admin_token: None,
            timezone: None,
            max_concurrent_runs: default_max_concurrent_runs(),
            drain_timeout_secs: default_drain_timeout_secs(),
            check_interval_secs: default_check_interval_secs(),
            max_webhook_bytes: default_max_webhook_bytes(),
            http_header_timeout_secs: default_http_header_timeout_secs(),
            http_request_timeout_secs: default_http_request_timeout_secs(),
            http_max_connections: default_http_max_connections(),
            http_requests_per_client_second: default_http_requests_per_client_second(),
            progress_log_secs: default_progress_log_secs(),
            allow_empty: false,
        }
    }
}

impl DaemonSection {
    /// The time zone of cron schedules.
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.timezone
            .as_deref()
            .and_then(|tz| tz.parse().ok())
            .unwrap_or(chrono_tz::UTC)
    }

    /// What each HTTP listener allows.
    pub fn http_limits(&self) -> crate::admin::Limits {
        crate::admin::Limits {
            header_read: std::time::Duration::from_secs(self.http_header_timeout_secs),
            request: std::time::Duration::from_secs(self.http_request_timeout_secs),
            max_connections: self.http_max_connections,
            per_client_per_second: self.http_requests_per_client_second,
        }
    }

    /// True when the admin API listens on a loopback address only.
    pub fn admin_is_loopback(&self) -> bool {
        self.admin_listen
            .parse::<SocketAddr>()
            .is_ok_and(|a| a.ip().is_loopback())
    }

    /// Problems a type check cannot see.
    pub fn check(&self, origin: &str) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if self.admin_listen.parse::<SocketAddr>().is_err() {
            errors.push(ConfigError::new(
                origin,
                "daemon.admin_listen",
                format!(
                    "`{}` is not an address like 127.0.0.1:9181",
                    self.admin_listen
                ),
            ));
        }
        if let Some(public) = &self.public_listen {
            if public.parse::<SocketAddr>().is_err() {
                errors.push(ConfigError::new(
                    origin,
                    "daemon.public_listen",
                    format!("`{public}` is not an address like 0.0.0.0:9180"),
                ));
            }
        }
        if let Some(tz) = &self.timezone {
            if tz.parse::<chrono_tz::Tz>().is_err() {
                errors.push(ConfigError::new(
                    origin,
                    "daemon.timezone",
                    format!("`{tz}` is not an IANA time zone like Europe/Berlin"),
                ));
            }
        }
        for (key, value) in [
            (
                "daemon.max_concurrent_runs",
                self.max_concurrent_runs as u64,
            ),
            ("daemon.check_interval_secs", self.check_interval_secs),
            ("daemon.max_webhook_bytes", self.max_webhook_bytes as u64),
            ("daemon.progress_log_secs", self.progress_log_secs),
            (
                "daemon.http_header_timeout_secs",
                self.http_header_timeout_secs,
            ),
            (
                "daemon.http_request_timeout_secs",
                self.http_request_timeout_secs,
            ),
            (
                "daemon.http_max_connections",
                self.http_max_connections as u64,
            ),
            (
                "daemon.http_requests_per_client_second",
                u64::from(self.http_requests_per_client_second),
            ),
        ] {
            if value == 0 {
                errors.push(ConfigError::new(origin, key, "must be at least 1"));
            }
        }
        errors
    }
}
