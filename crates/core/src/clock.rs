//! The daemon's clock. Everything that waits on time (NewStore's gap grace period, token
//! expiry, file time-to-live) reads it here, so that tests move time forward instead of
//! sleeping through it or racing it.
//!
//! In a debug build, `SYNCD_CLOCK_FILE=<path>` shifts the clock forward by the number of seconds
//! that file holds (absent or empty: no shift), read afresh on every call: a test writes a larger
//! number to advance a running daemon. Release builds read the system clock only.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (since_epoch + offset()).as_millis() as i64
}

/// A monotonic instant, now (for deadlines and expiries within this process).
pub fn instant() -> Instant {
    Instant::now() + offset()
}

/// How far tests moved the clock forward.
fn offset() -> Duration {
    #[cfg(debug_assertions)]
    if let Some(path) = std::env::var_os("SYNCD_CLOCK_FILE") {
        let secs = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
            .unwrap_or(0);
        return Duration::from_secs(secs);
    }
    Duration::ZERO
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_clock_file_the_clock_is_the_systems() {
        if std::env::var_os("SYNCD_CLOCK_FILE").is_some() {
            return;
        }
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let ours = now_millis();
        assert!((ours - system).abs() < 5_000, "{ours} vs {system}");
    }
}
