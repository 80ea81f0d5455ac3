//! The per-user credit bucket: an operation costs its complexity; short of credits, a code-30
//! error saying how long to wait.

use std::time::Instant;

use super::ShipHeroSimConfig;

/// Credits left and how they refill.
pub struct Bucket {
    max: f64,
    refill: f64,
    op_cap: u64,
    credits: f64,
    at: Instant,
}

/// Why an operation was refused.
pub struct Short {
    pub required: u64,
    pub remaining: u64,
    pub seconds: u64,
    pub over_cap: Option<u64>,
}

impl Short {
    /// The seed-like message.
    pub fn message(&self) -> String {
        match self.over_cap {
            Some(cap) => format!(
                "There are not enough credits to perform the requested operation, which requires {} credits, but the most a single operation may use is {cap}. Request fewer items (lower `first`).",
                self.required
            ),
            None => format!(
                "There are not enough credits to perform the requested operation, which requires {} credits, but there are only {} left. In {} seconds you will have enough credits to perform the operation.",
                self.required, self.remaining, self.seconds
            ),
        }
    }
}

impl Bucket {
    /// A full bucket as configured.
    pub fn new(config: &ShipHeroSimConfig) -> Self {
        Bucket {
            max: config.credits_max as f64,
            refill: config.credits_refill_per_sec as f64,
            op_cap: config.credits_op_cap,
            credits: config.credits_max as f64,
            at: Instant::now(),
        }
    }

    fn update(&mut self) {
        let now = Instant::now();
        let gained = now.duration_since(self.at).as_secs_f64() * self.refill;
        self.credits = (self.credits + gained).min(self.max);
        self.at = now;
    }

    /// Credits left now.
    pub fn remaining(&mut self) -> u64 {
        self.update();
        self.credits.floor() as u64
    }

    /// Fills the bucket.
    pub fn refill_all(&mut self) {
        self.credits = self.max;
        self.at = Instant::now();
    }

    /// (max_available, increment_rate).
    pub fn limits(&self) -> (u64, u64) {
        (self.max as u64, self.refill as u64)
    }

    /// Takes `cost` credits, or says why not.
    pub fn spend(&mut self, cost: u64) -> Result<(), Short> {
        self.update();
        let remaining = self.credits.floor() as u64;
        if cost > self.op_cap || cost as f64 > self.max {
            return Err(Short {
                required: cost,
                remaining,
                seconds: 0,
                over_cap: Some(self.op_cap.min(self.max as u64)),
            });
        }
        if (cost as f64) > self.credits {
            let seconds = if self.refill > 0.0 {
                ((cost as f64 - self.credits) / self.refill).ceil().max(1.0) as u64
            } else {
                u64::MAX
            };
            return Err(Short {
                required: cost,
                remaining,
                seconds,
                over_cap: None,
            });
        }
        self.credits -= cost as f64;
        Ok(())
    }
}
