//! The HTTP client of one NewStore tenant: client-credentials tokens cached until a minute
//! before expiry (renewed once on 401/403), every failed answer classified by `syncd-http`.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use syncd_core::ConnectorError;
use syncd_http::{call_json, transport, BearerTokens, HttpFailure};
use tokio::sync::Mutex;

use crate::config::NewStoreConfig;

const MARGIN: Duration = Duration::from_secs(60);

/// Calls to one tenant.
pub struct NewStoreClient {
    http: reqwest::Client,
    config: NewStoreConfig,
    token: Mutex<Option<(String, Instant)>>,
}

impl NewStoreClient {
    /// A client of `config`'s tenant.
    pub fn new(config: NewStoreConfig) -> Result<Self, ConnectorError> {
        let http =
            syncd_http::client("newstore", Duration::from_secs(config.request_timeout_secs))?;
        Ok(NewStoreClient {
            http,
            config,
            token: Mutex::new(None),
        })
    }

    /// The tenant's config.
    pub fn config(&self) -> &NewStoreConfig {
        &self.config
    }

    async fn token(&self) -> Result<String, ConnectorError> {
        let mut current = self.token.lock().await;
        if let Some((token, _)) = current
            .as_ref()
            .filter(|(_, until)| syncd_core::clock::instant() < *until)
        {
            return Ok(token.clone());
        }
        let context = "newstore token";
        let response = self
            .http
            .post(self.config.token_url())
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.config.client_id.as_str()),
                ("client_secret", self.config.client_secret.expose()),
            ])
            .send()
            .await
            .map_err(|e| transport(context, e))?;
        if !response.status().is_success() {
            return Err(match HttpFailure::read(response).await.classify(context) {
                ConnectorError::Permanent { context, message } => {
                    ConnectorError::Auth { context, message }
                }
                other => other,
            });
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            access_token: String,
            expires_in: u64,
        }
        let answer: Answer = response.json().await.map_err(|e| {
            ConnectorError::retryable(context, format!("unreadable token answer: {e}"))
        })?;
        let until = syncd_core::clock::instant()
            + Duration::from_secs(answer.expires_in).saturating_sub(MARGIN);
        *current = Some((answer.access_token.clone(), until));
        Ok(answer.access_token)
    }

    /// Sends `body` to `path` under the API base and reads the JSON answer.
    pub async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ConnectorError> {
        let context = format!(
            "newstore {method} {}",
            path.split('?').next().unwrap_or(path)
        );
        let url = format!("{}{path}", self.config.api_base());
        // NewStore answers 403 as well as 401 for an expired token.
        call_json(self, &[401, 403], &context, |token| {
            let request = self.http.request(method.clone(), &url).bearer_auth(token);
            match body {
                Some(body) => request.json(body),
                None => request,
            }
        })
        .await
    }
}

#[async_trait::async_trait]
impl BearerTokens for NewStoreClient {
    async fn token(&self) -> Result<String, ConnectorError> {
        NewStoreClient::token(self).await
    }

    async fn invalidate(&self) {
        *self.token.lock().await = None;
    }
}
