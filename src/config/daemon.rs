//! `[daemon]`: where state lives and where the admin API listens.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use syncd_core::ConfigError;

fn default_state_dir() -> PathBuf {
    PathBuf::from("state")
}

fn default_admin_listen() -> String {
    "127.0.0.1:9181".to_string()
}

/// The daemon's own settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSection {
    /// The sled state directory (relative paths: against the config file's directory).
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// The admin HTTP address; loopback unless you put a proxy in front of it.
    #[serde(default = "default_admin_listen")]
    pub admin_listen: String,
}

impl Default for DaemonSection {
    fn default() -> Self {
        DaemonSection {
            state_dir: default_state_dir(),
            admin_listen: default_admin_listen(),
        }
    }
}

impl DaemonSection {
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
        errors
    }
}
