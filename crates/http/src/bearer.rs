//! A JSON call under a bearer token that the vendor may refuse once because it expired: the
//! token is dropped, a fresh one fetched, and the call made again; a second refusal is an auth
//! error for the operator.

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use syncd_core::ConnectorError;

use crate::{transport, HttpFailure};

/// Where a client's bearer tokens come from.
#[async_trait]
pub trait BearerTokens: Send + Sync {
    /// A token to send now (cached, or fetched).
    async fn token(&self) -> Result<String, ConnectorError>;

    /// Forgets the cached token: the vendor refused it.
    async fn invalidate(&self);
}

/// Sends the request `build` makes with a token, renewing the token once when the vendor
/// answers one of `refused` (401, or 401 and 403 for vendors that say 403 for an expired
/// token), and reads the JSON answer. Every failure is classified for the engine.
pub async fn call_json<T: DeserializeOwned>(
    tokens: &dyn BearerTokens,
    refused: &[u16],
    context: &str,
    build: impl Fn(&str) -> reqwest::RequestBuilder,
) -> Result<T, ConnectorError> {
    call_json_observed(tokens, refused, context, build, |_| {}).await
}

/// [`call_json`], showing `observe` the headers of every answer (a vendor's usage counters,
/// say), refused or not.
pub async fn call_json_observed<T: DeserializeOwned>(
    tokens: &dyn BearerTokens,
    refused: &[u16],
    context: &str,
    build: impl Fn(&str) -> reqwest::RequestBuilder,
    observe: impl Fn(&reqwest::header::HeaderMap),
) -> Result<T, ConnectorError> {
    let mut renewed = false;
    loop {
        let token = tokens.token().await?;
        let response = build(&token)
            .send()
            .await
            .map_err(|e| transport(context, e))?;
        observe(response.headers());
        let status = response.status().as_u16();
        if refused.contains(&status) && !renewed {
            tracing::debug!(%context, status, "access token refused: renewing it");
            tokens.invalidate().await;
            renewed = true;
            continue;
        }
        if !response.status().is_success() {
            return Err(HttpFailure::read(response).await.classify(context));
        }
        let bytes = response.bytes().await.map_err(|e| transport(context, e))?;
        // 204 No Content (an update applied) reads as JSON `null`.
        let bytes: &[u8] = match bytes.is_empty() {
            true => b"null",
            false => &bytes,
        };
        return serde_json::from_slice(bytes)
            .map_err(|e| ConnectorError::retryable(context, format!("unexpected answer: {e}")));
    }
}
