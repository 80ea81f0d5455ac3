//! The HTTP client of one Fluent account: bearer auth (renewed once on 401), every failed
//! answer classified by `syncd-http`.

use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use syncd_core::ConnectorError;
use syncd_http::{transport, HttpFailure};

use crate::auth::Tokens;
use crate::config::FluentConfig;

/// Calls to one Fluent account.
pub struct FluentClient {
    http: reqwest::Client,
    config: FluentConfig,
    tokens: Tokens,
}

impl FluentClient {
    /// A client of `config`'s account.
    pub fn new(config: FluentConfig) -> Result<Self, ConnectorError> {
        let http = syncd_http::client("fluent", Duration::from_secs(config.request_timeout_secs))?;
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
            let response = request.send().await.map_err(|e| transport(&context, e))?;
            if response.status().as_u16() == 401 && !renewed {
                tracing::debug!(%context, "access token refused: renewing it");
                self.tokens.invalidate().await;
                continue;
            }
            if !response.status().is_success() {
                return Err(HttpFailure::read(response).await.classify(&context));
            }
            let bytes = response.bytes().await.map_err(|e| transport(&context, e))?;
            return serde_json::from_slice(&bytes).map_err(|e| {
                ConnectorError::retryable(&context, format!("unexpected answer: {e}"))
            });
        }
        unreachable!("the second pass returns")
    }
}
