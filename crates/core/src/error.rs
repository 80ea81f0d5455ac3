//! The error taxonomy every adapter uses: each vendor error says how the engine should react.

use std::time::Duration;

use thiserror::Error;

use crate::config::ConfigError;

/// How the engine should react to an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again after a backoff (or the wait the vendor asked for).
    Retryable,
    /// The vendor asked us to slow down: wait as long as it said, then try again.
    RateLimited,
    /// This record will never be accepted as it is: dead-letter it.
    Permanent,
    /// Credentials were refused: no record is at fault; the run stops.
    Auth,
    /// The connector is misconfigured: the run stops.
    Config,
}

/// An error from a connector, classified for the engine.
#[derive(Clone, Debug, Error)]
pub enum ConnectorError {
    /// A transient failure (5xx, connection reset, timeout, I/O that may heal).
    #[error("{context}: {message} (retryable)")]
    Retryable {
        /// Where it happened (connector, endpoint, file).
        context: String,
        /// What went wrong.
        message: String,
        /// A wait the vendor suggested, if any.
        wait: Option<Duration>,
    },
    /// The vendor throttled us (429, quota exceeded).
    #[error("{context}: rate limited, retry after {wait:?}")]
    RateLimited {
        /// Where it happened.
        context: String,
        /// How long the vendor asked us to wait.
        wait: Duration,
    },
    /// The vendor rejected this record for good (validation, unknown SKU, 404).
    #[error("{context}: {message} (permanent)")]
    Permanent {
        /// Where it happened.
        context: String,
        /// What the vendor said.
        message: String,
    },
    /// Authentication or authorization failed.
    #[error("{context}: authentication failed: {message}")]
    Auth {
        /// Where it happened.
        context: String,
        /// What the vendor said (never the credential itself).
        message: String,
    },
    /// The connector's configuration is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl ConnectorError {
    /// A retryable error without a suggested wait.
    pub fn retryable(context: impl Into<String>, message: impl Into<String>) -> Self {
        ConnectorError::Retryable {
            context: context.into(),
            message: message.into(),
            wait: None,
        }
    }

    /// A permanent error for one record.
    pub fn permanent(context: impl Into<String>, message: impl Into<String>) -> Self {
        ConnectorError::Permanent {
            context: context.into(),
            message: message.into(),
        }
    }

    /// A rate-limit error with the wait the vendor asked for.
    pub fn rate_limited(context: impl Into<String>, wait: Duration) -> Self {
        ConnectorError::RateLimited {
            context: context.into(),
            wait,
        }
    }

    /// The class the engine acts on.
    pub fn class(&self) -> ErrorClass {
        match self {
            ConnectorError::Retryable { .. } => ErrorClass::Retryable,
            ConnectorError::RateLimited { .. } => ErrorClass::RateLimited,
            ConnectorError::Permanent { .. } => ErrorClass::Permanent,
            ConnectorError::Auth { .. } => ErrorClass::Auth,
            ConnectorError::Config(_) => ErrorClass::Config,
        }
    }

    /// The wait the vendor asked for, if any.
    pub fn requested_wait(&self) -> Option<Duration> {
        match self {
            ConnectorError::Retryable { wait, .. } => *wait,
            ConnectorError::RateLimited { wait, .. } => Some(*wait),
            _ => None,
        }
    }

    /// Builds an error from an I/O failure: retryable, since disks fill and mounts come back.
    pub fn io(context: impl Into<String>, err: &std::io::Error) -> Self {
        ConnectorError::retryable(context, err.to_string())
    }
}

/// How an error names the connector it comes from: `kind name` (`fluent eu-shop`), or just the
/// name when it is the kind's (`fluent`, not `fluent fluent`).
pub fn connector_context(kind: &str, name: &str) -> String {
    match kind == name {
        true => name.to_string(),
        false => format!("{kind} {name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_reports_its_class_and_wait() {
        let e = ConnectorError::rate_limited("fluent /batch", Duration::from_secs(3));
        assert_eq!(e.class(), ErrorClass::RateLimited);
        assert_eq!(e.requested_wait(), Some(Duration::from_secs(3)));
        let e = ConnectorError::permanent("fluent /batch", "404 sku not found");
        assert_eq!(e.class(), ErrorClass::Permanent);
        assert_eq!(e.requested_wait(), None);
        assert!(e.to_string().contains("fluent /batch"));
    }

    #[test]
    fn a_connector_named_for_its_kind_is_named_once() {
        assert_eq!(connector_context("fluent", "fluent"), "fluent");
        assert_eq!(connector_context("fluent", "eu-shop"), "fluent eu-shop");
    }
}
