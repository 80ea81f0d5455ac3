//! Fault plans: what a simulator does wrong, per endpoint, drawn from a seeded generator so that
//! a failing test replays the same faults.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The faults of one endpoint (or the default for all).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultSpec {
    /// Added to every answer.
    pub latency_ms: u64,
    /// Share of requests answered 503 (before any processing).
    pub error_rate: f64,
    /// Share of requests answered 429 with `Retry-After`.
    pub rate_limit_rate: f64,
    /// The `Retry-After` of a 429, in seconds.
    pub retry_after_secs: u64,
    /// Share of requests whose connection is cut mid-answer.
    pub reset_rate: f64,
    /// Delay between the chunks of a slowed answer body.
    pub slow_body_ms: u64,
}

/// A simulator's faults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultPlan {
    /// Seeds the draws.
    pub seed: u64,
    /// Faults of every endpoint without its own entry.
    pub default: FaultSpec,
    /// Faults by endpoint (`POST /api/v4.1/job/{id}/batch`).
    pub endpoints: BTreeMap<String, FaultSpec>,
    /// Revokes every access token issued so far after this many authenticated requests
    /// (once): a token expiring mid-run.
    pub expire_tokens_after: Option<u64>,
}

impl FaultPlan {
    /// No faults at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// The faults of `endpoint`.
    pub fn spec(&self, endpoint: &str) -> &FaultSpec {
        self.endpoints.get(endpoint).unwrap_or(&self.default)
    }
}

/// What to do with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally.
    None,
    /// Answer 503.
    ServerError,
    /// Answer 429 with this `Retry-After`.
    RateLimited(Duration),
    /// Cut the connection mid-answer.
    Reset,
}

/// Draws faults for requests.
pub struct FaultDice {
    rng: fastrand::Rng,
}

impl FaultDice {
    /// Dice seeded by `seed`.
    pub fn new(seed: u64) -> Self {
        FaultDice {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The fault for one request under `spec`.
    pub fn roll(&mut self, spec: &FaultSpec) -> Fault {
        let draw = self.rng.f64();
        let mut edge = spec.error_rate;
        if draw < edge {
            return Fault::ServerError;
        }
        edge += spec.rate_limit_rate;
        if draw < edge {
            return Fault::RateLimited(Duration::from_secs(spec.retry_after_secs.max(1)));
        }
        edge += spec.reset_rate;
        if draw < edge {
            return Fault::Reset;
        }
        Fault::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        let spec = FaultSpec {
            error_rate: 0.3,
            rate_limit_rate: 0.2,
            reset_rate: 0.1,
            ..FaultSpec::default()
        };
        let draws = |seed| {
            let mut dice = FaultDice::new(seed);
            (0..200).map(|_| dice.roll(&spec)).collect::<Vec<_>>()
        };
        assert_eq!(draws(7), draws(7));
        assert_ne!(draws(7), draws(8));
        let faults = draws(7).iter().filter(|f| **f != Fault::None).count();
        assert!((60..180).contains(&faults), "about 60% faults: {faults}");
    }
}
