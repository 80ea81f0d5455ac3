//! The HTTP client of one Fluent account: bearer auth (renewed once on 401), and every answer
//! classified: 429 → rate limited with its `Retry-After`, 5xx and transport failures →
//! retryable, 401/403 after a renewal → auth, other 4xx → permanent.

use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use syncd_core::ConnectorError;

use crate::auth::Tokens;
use crate::config::FluentConfig;

/// A non-2xx answer, read.
pub struct HttpFailure {
    /// The status code.
    pub status: u16,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<Duration>,
    /// The vendor's message (`errors[0].message`) or the body.
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
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                v["errors"][0]["message"]
                    .as_str()
                    .or(v["error_description"].as_str())
                    .or(v["message"].as_str())
                    .map(str::to_string)
            })
            .unwrap_or_else(|| body.chars().take(300).collect());
        HttpFailure {
            status,
            retry_after,
            message,
        }
    }
}

/// The error class of a failed answer.
pub fn classify_status(context: &str, failure: &HttpFailure) -> ConnectorError {
    let message = format!("{} {}", failure.status, failure.message);
    match failure.status {
        429 => ConnectorError::rate_limited(
            context,
            failure.retry_after.unwrap_or(Duration::from_secs(1)),
        ),
        s if s >= 500 => ConnectorError::Retryable {
            context: context.into(),
            message,
            wait: failure.retry_after,
        },
        401 | 403 => ConnectorError::Auth {
            context: context.into(),
            message,
        },
        _ => ConnectorError::permanent(context, message),
    }
}

/// A transport failure in words (without the URL's query, which could carry a secret).
pub fn describe(e: reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off or unreadable"
    } else {
        "request failed"
    };
    format!("{what}: {}", e.without_url())
}

/// Calls to one Fluent account.
pub struct FluentClient {
    http: reqwest::Client,
    config: FluentConfig,
    tokens: Tokens,
}

impl FluentClient {
    /// A client of `config`'s account.
    pub fn new(config: FluentConfig) -> Result<Self, ConnectorError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.request_timeout_secs))
            .build()
            .map_err(|e| ConnectorError::permanent("fluent", format!("HTTP client: {e}")))?;
        Ok(FluentClient {
            http,
            config,
            tokens: Tokens::default(),
        })
    }

    /// The account's config.
    pub fn config(&self) -> &FluentConfig {
        &self.config
    }

    /// Sends `body` to `path` and reads the JSON answer; renews the token once on 401.
    pub async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ConnectorError> {
        let context = format!("fluent {method} {path}");
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        for renewed in [false, true] {
            let token = self.tokens.get(&self.http, &self.config).await?;
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(token)
                .header("fluent.account", &self.config.account);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request
                .send()
                .await
                .map_err(|e| ConnectorError::retryable(&context, describe(e)))?;
            if response.status().as_u16() == 401 && !renewed {
                tracing::debug!(%context, "access token refused: renewing it");
                self.tokens.invalidate().await;
                continue;
            }
            if !response.status().is_success() {
                return Err(classify_status(
                    &context,
                    &HttpFailure::read(response).await,
                ));
            }
            let bytes = response
                .bytes()
                .await
                .map_err(|e| ConnectorError::retryable(&context, describe(e)))?;
            return serde_json::from_slice(&bytes).map_err(|e| {
                ConnectorError::retryable(&context, format!("unexpected answer: {e}"))
            });
        }
        unreachable!("the second pass returns")
    }
}
