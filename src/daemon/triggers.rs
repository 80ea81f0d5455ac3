//! Run-now requests from `syncd trigger`: one small file per request in `<state>/triggers/`,
//! written before the daemon is signalled and taken when it handles SIGUSR1. A SIGUSR1 with no
//! request file (`kill -USR1`) runs every pipeline.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("triggers")
}

/// Records a request to run `pipelines` (every pipeline when empty).
pub fn request(state_dir: &Path, pipelines: &[String]) -> std::io::Result<()> {
    let dir = dir(state_dir);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let name = format!("{nanos:032}-{}.json", std::process::id());
    // Written aside and renamed: the daemon only ever sees whole requests.
    syncd_core::files::replace(
        &dir.join(name),
        &serde_json::to_vec(pipelines).expect("serializes"),
    )
}

/// What a SIGUSR1 asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    /// Every pipeline.
    All,
    /// These pipelines.
    Only(BTreeSet<String>),
}

/// Takes (and removes) every waiting request and merges them.
pub fn take(state_dir: &Path) -> Wanted {
    let Ok(entries) = std::fs::read_dir(dir(state_dir)) else {
        return Wanted::All;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Wanted::All;
    }
    let mut names = BTreeSet::new();
    let mut all = false;
    for file in files {
        let requested: Option<Vec<String>> = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        match requested {
            Some(list) if !list.is_empty() => names.extend(list),
            Some(_) => all = true,
            None => {
                tracing::warn!(file = %file.display(), "ignoring an unreadable trigger request")
            }
        }
        let _ = std::fs::remove_file(&file);
    }
    if all || names.is_empty() {
        Wanted::All
    } else {
        Wanted::Only(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_merge_and_are_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        request(dir.path(), &["a".into()]).unwrap();
        request(dir.path(), &["b".into(), "a".into()]).unwrap();
        assert_eq!(
            take(dir.path()),
            Wanted::Only(["a".to_string(), "b".to_string()].into())
        );
        assert_eq!(
            take(dir.path()),
            Wanted::All,
            "nothing left: a plain SIGUSR1"
        );
    }

    #[test]
    fn a_request_without_names_runs_everything() {
        let dir = tempfile::tempdir().unwrap();
        request(dir.path(), &["a".into()]).unwrap();
        request(dir.path(), &[]).unwrap();
        assert_eq!(take(dir.path()), Wanted::All);
    }
}
