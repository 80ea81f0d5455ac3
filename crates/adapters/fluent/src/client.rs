//! The HTTP client of one Fluent account: bearer auth (renewed once on 401), every failed
//! answer classified by `syncd-http`.

use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use syncd_core::ConnectorError;
use syncd_http::{call_json, BearerTokens};

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
        call_json(self, &[401], &context, |token| {
            let request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(token)
                .header("fluent.account", &self.config.account);
            match body {
                Some(body) => request.json(body),
                None => request,
            }
        })
        .await
    }
}

#[async_trait::async_trait]
impl BearerTokens for FluentClient {
    async fn token(&self) -> Result<String, ConnectorError> {
        self.tokens.get(&self.http, &self.config).await
    }

    async fn invalidate(&self) {
        self.tokens.invalidate().await;
    }
}
