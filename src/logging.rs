//! Logs go to stderr. The format: `SYNCD_LOG_FORMAT=json` or `=text` decides; otherwise JSON
//! when stderr is not a terminal and systemd's journal holds it (`JOURNAL_STREAM` set), text
//! everywhere else. `RUST_LOG` filters; without it the daemon logs at info and the one-shot
//! commands at warn (`-v` info, `-vv` debug).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

fn json_wanted() -> bool {
    match std::env::var("SYNCD_LOG_FORMAT") {
        Ok(v) if v.eq_ignore_ascii_case("json") => true,
        Ok(v) if v.eq_ignore_ascii_case("text") => false,
        _ => !std::io::stderr().is_terminal() && std::env::var_os("JOURNAL_STREAM").is_some(),
    }
}

/// Installs the global subscriber.
pub fn init(verbose: u8, daemon: bool) {
    let default = match (verbose, daemon) {
        (0, false) => "warn",
        (0, true) | (1, _) => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if json_wanted() {
        builder.json().init();
    } else {
        builder.init();
    }
}
