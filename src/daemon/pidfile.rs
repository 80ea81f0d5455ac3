//! `syncd.pid` in the state dir: how `syncd trigger` and the operator commands find a running
//! daemon (its pid, to signal it, and its admin address, to ask it). Written once the store is
//! open, so the store's lock guarantees there is one daemon per dir; removed on a clean exit.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const FILE_NAME: &str = "syncd.pid";

/// What the pid file says about the running daemon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningDaemon {
    /// Its process id.
    pub pid: u32,
    /// Where its admin API listens.
    pub admin: SocketAddr,
    /// Where its public listener (webhooks) listens, if it has one.
    #[serde(default)]
    pub public: Option<SocketAddr>,
}

/// The pid file of this process; removed when dropped.
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Writes the pid file (atomically).
    pub fn create(
        state_dir: &Path,
        admin: SocketAddr,
        public: Option<SocketAddr>,
    ) -> std::io::Result<Self> {
        let path = state_dir.join(FILE_NAME);
        let me = RunningDaemon {
            pid: std::process::id(),
            admin,
            public,
        };
        syncd_core::files::replace(&path, &serde_json::to_vec(&me).expect("serializes"))?;
        Ok(PidFile { path })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // Signal 0 checks that the process exists without touching it; EPERM means it exists
    // under another user.
    // SAFETY: kill with signal 0 has no effect on the target process.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The daemon running on `state_dir`, if its pid file names a live process.
pub fn running(state_dir: &Path) -> Option<RunningDaemon> {
    let text = std::fs::read(state_dir.join(FILE_NAME)).ok()?;
    let daemon: RunningDaemon = serde_json::from_slice(&text).ok()?;
    alive(daemon.pid).then_some(daemon)
}

/// Sends SIGUSR1 to `daemon`.
pub fn signal_run_now(daemon: &RunningDaemon) -> std::io::Result<()> {
    let pid =
        libc::pid_t::try_from(daemon.pid).map_err(|_| std::io::Error::other("pid out of range"))?;
    // SAFETY: sends a signal; no memory is involved.
    if unsafe { libc::kill(pid, libc::SIGUSR1) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_file_names_this_process_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let admin: SocketAddr = "127.0.0.1:9181".parse().unwrap();
        let file = PidFile::create(dir.path(), admin, None).unwrap();
        assert_eq!(
            running(dir.path()),
            Some(RunningDaemon {
                pid: std::process::id(),
                admin,
                public: None,
            })
        );
        drop(file);
        assert_eq!(running(dir.path()), None);
    }

    #[test]
    fn a_stale_pid_file_of_a_dead_process_means_no_daemon() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        std::fs::write(
            dir.path().join(FILE_NAME),
            format!(r#"{{"pid":{pid},"admin":"127.0.0.1:1"}}"#),
        )
        .unwrap();
        assert_eq!(running(dir.path()), None);
    }
}
