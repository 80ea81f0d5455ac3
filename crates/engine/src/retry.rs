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
    fn backoff_spreads_over_the_whole_doubling_ceiling() {
        let c = RetryConfig {
            initial_backoff_ms: 100,
            max_backoff_ms: 1_000,
            ..RetryConfig::default()
        };
        for attempt in 1..10 {
            let ceiling = Duration::from_millis((100u64 << (attempt - 1)).min(1_000));
            let draws: Vec<Duration> = (0..200).map(|_| backoff(&c, attempt, None)).collect();
            let longest = draws.iter().max().copied().unwrap_or_default();
            // Full jitter: uniform below the ceiling. 200 draws all in the lower half has odds
            // of 2^-200, so a backoff that is zero, fixed or capped low fails here.
            assert!(
                longest >= ceiling / 2,
                "attempt {attempt}: longest wait {longest:?} of 200, ceiling {ceiling:?}"
            );
            let distinct: std::collections::BTreeSet<_> = draws.iter().collect();
            assert!(
                distinct.len() > 10,
                "attempt {attempt}: waits are not jittered"
            );
        }
    }

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
