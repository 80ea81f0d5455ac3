//! Backoff: exponential ceilings with full jitter, never shorter than what the vendor asked for.

use std::time::Duration;

use crate::config::RetryConfig;

/// How long to wait before attempt `attempt` (1 = the first retry).
///
/// Full jitter (a uniform draw below the ceiling) spreads retries of many clients apart; a wait
/// the vendor requested (`Retry-After`) is a floor, because asking again sooner only fails again.
pub fn backoff(config: &RetryConfig, attempt: u32, vendor_wait: Option<Duration>) -> Duration {
    let exp = attempt.saturating_sub(1).min(20);
    let ceiling = config
        .initial_backoff_ms
        .saturating_mul(1u64 << exp)
        .min(config.max_backoff_ms);
    let jittered = Duration::from_millis(fastrand::u64(0..=ceiling));
    match vendor_wait {
        Some(w) => jittered.max(w),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_below_the_doubling_ceiling() {
        let c = RetryConfig {
            initial_backoff_ms: 100,
            max_backoff_ms: 1_000,
            ..RetryConfig::default()
        };
        for attempt in 1..10 {
            let ceiling = (100u64 << (attempt - 1)).min(1_000);
            for _ in 0..50 {
                assert!(backoff(&c, attempt, None) <= Duration::from_millis(ceiling));
            }
        }
    }

    #[test]
    fn a_vendor_wait_is_never_shortened() {
        let c = RetryConfig {
            initial_backoff_ms: 1,
            max_backoff_ms: 2,
            ..RetryConfig::default()
        };
        for _ in 0..50 {
            assert!(backoff(&c, 1, Some(Duration::from_secs(3))) >= Duration::from_secs(3));
        }
    }
}
