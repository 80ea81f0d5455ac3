//! What every vendor client shares: a failed HTTP answer read into status, `Retry-After` and
//! the vendor's own message, and classified for the engine — 429 → rate limited with the wait
//! the vendor asked for, 5xx and transport failures → retryable, 401/403 → auth, any other 4xx →
//! permanent for the record.

use std::time::Duration;

use syncd_core::ConnectorError;

mod bearer;
pub mod files;

pub use bearer::{call_json, call_json_observed, BearerTokens};

/// Where vendors put their message in an error body, most specific first: Fluent's
/// `errors[0].message`, problem+json's `detail`, OAuth's `error_description`.
const MESSAGE_FIELDS: [&str; 4] = ["detail", "message", "error_description", "error"];

/// A non-2xx answer, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpFailure {
    /// The status code.
    pub status: u16,
    /// `Retry-After`, when given in seconds.
    pub retry_after: Option<Duration>,
    /// The vendor's message, or the start of the body.
    pub message: String,
}

impl HttpFailure {
    /// Reads a failed answer.
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.text().await.unwrap_or_default();
        HttpFailure {
            status,
            retry_after,
            message: message_of(&body),
        }
    }

    /// The error class of this answer, `context` naming the call.
    pub fn classify(&self, context: &str) -> ConnectorError {
        let message = format!("{} {}", self.status, self.message);
        match self.status {
            429 => ConnectorError::rate_limited(
                context,
                self.retry_after.unwrap_or(Duration::from_secs(1)),
            ),
            s if s >= 500 => ConnectorError::Retryable {
                context: context.into(),
                message,
                wait: self.retry_after,
            },
            401 | 403 => ConnectorError::Auth {
                context: context.into(),
                message,
            },
            _ => ConnectorError::permanent(context, message),
        }
    }
}

fn message_of(body: &str) -> String {
    let parsed = serde_json::from_str::<serde_json::Value>(body).ok();
    // Salesforce answers a list of `{message, errorCode, fields}`.
    if let Some(first) = parsed.as_ref().and_then(|v| v.get(0)) {
        if let (Some(code), Some(message)) =
            (first["errorCode"].as_str(), first["message"].as_str())
        {
            return format!("{code}: {message}");
        }
    }
    parsed
        .as_ref()
        .and_then(|v| {
            v["errors"][0]["message"]
                .as_str()
                .or_else(|| MESSAGE_FIELDS.iter().find_map(|k| v[*k].as_str()))
        })
        .map(str::to_string)
        .unwrap_or_else(|| body.chars().take(300).collect())
}

/// An HTTP client (rustls) whose requests time out after `timeout`; `vendor` names it in the
/// error if it cannot be built.
pub fn client(vendor: &str, timeout: Duration) -> Result<reqwest::Client, ConnectorError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| ConnectorError::permanent(vendor, format!("HTTP client: {e}")))
}

/// A transport failure (connect, timeout, cut-off answer) as a retryable error, without the
/// URL (its query could carry a credential).
pub fn transport(context: &str, e: reqwest::Error) -> ConnectorError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off or unreadable"
    } else {
        "request failed"
    };
    ConnectorError::retryable(context, format!("{what}: {}", e.without_url()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncd_core::ErrorClass;

    fn failure(status: u16, body: &str) -> HttpFailure {
        HttpFailure {
            status,
            retry_after: Some(Duration::from_secs(7)),
            message: message_of(body),
        }
    }

    #[test]
    fn each_vendor_message_shape_is_found() {
        assert_eq!(
            message_of(r#"{"errors":[{"code":"400","message":"Job 1 is CLOSED"}]}"#),
            "Job 1 is CLOSED"
        );
        assert_eq!(
            message_of(r#"{"type":"about:blank","detail":"no such import"}"#),
            "no such import"
        );
        assert_eq!(
            message_of(r#"{"error":"invalid_grant","error_description":"Invalid refresh token"}"#),
            "Invalid refresh token"
        );
        assert_eq!(message_of("plain text"), "plain text");
    }

    #[test]
    fn statuses_are_classified_for_the_engine() {
        let rate = failure(429, "{}").classify("c");
        assert_eq!(rate.class(), ErrorClass::RateLimited);
        assert_eq!(rate.requested_wait(), Some(Duration::from_secs(7)));
        assert_eq!(
            failure(503, "{}").classify("c").class(),
            ErrorClass::Retryable
        );
        assert_eq!(failure(401, "{}").classify("c").class(), ErrorClass::Auth);
        assert_eq!(failure(403, "{}").classify("c").class(), ErrorClass::Auth);
        assert_eq!(
            failure(400, "{}").classify("c").class(),
            ErrorClass::Permanent
        );
        assert_eq!(
            failure(404, "{}").classify("c").class(),
            ErrorClass::Permanent
        );
    }
}
