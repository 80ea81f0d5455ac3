//! The systemd unit in deploy/ passes `systemd-analyze verify` with the built binary.

use std::process::Command;

#[test]
fn the_systemd_unit_verifies() {
    let Ok(probe) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze is not installed here: skipping the unit check");
        return;
    };
    assert!(probe.status.success());
    let unit =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/syncd.service"))
            .unwrap()
            .replace("/usr/local/bin/syncd", env!("CARGO_BIN_EXE_syncd"));
    for key in [
        "Type=notify",
        "WatchdogSec=",
        "ExecStartPre=",
        "ExecReload=",
        "StateDirectory=syncd",
        "ConfigurationDirectory=syncd",
        "LoadCredential=",
        "TimeoutStopSec=",
        "Restart=on-failure",
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=",
        "SystemCallFilter=@system-service",
        "MemoryMax=",
    ] {
        assert!(unit.contains(key), "the unit lacks {key}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syncd.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !said.contains("syncd.service:"),
        "{said}"
    );
}
