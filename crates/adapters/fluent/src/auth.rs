//! OAuth tokens: cached until shortly before they expire, refreshed with the (single-use)
//! refresh token when there is one, otherwise obtained again with the password grant.

use std::time::{Duration, Instant};

use serde::Deserialize;
use syncd_core::ConnectorError;
use tokio::sync::Mutex;

use crate::config::FluentConfig;

/// Renew this long before the token expires.
const MARGIN: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
    #[serde(default)]
    refresh_token: Option<String>,
}

struct Token {
    access: String,
    refresh: Option<String>,
    renew_at: Instant,
}

/// The current access token.
#[derive(Default)]
pub struct Tokens {
    current: Mutex<Option<Token>>,
}

impl Tokens {
    /// A valid access token, obtained or renewed as needed.
    pub async fn get(
        &self,
        http: &reqwest::Client,
        config: &FluentConfig,
    ) -> Result<String, ConnectorError> {
        let mut current = self.current.lock().await;
        if let Some(t) = current
            .as_ref()
            .filter(|t| syncd_core::clock::instant() < t.renew_at)
        {
            return Ok(t.access.clone());
        }
        let refresh = current.as_ref().and_then(|t| t.refresh.clone());
        let answer = match refresh {
            Some(refresh) => match request(
                http,
                config,
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            )
            .await
            {
                Ok(a) => a,
                // A refresh token is single-use and may be gone: log in again.
                Err(ConnectorError::Auth { .. }) => password_grant(http, config).await?,
                Err(e) => return Err(e),
            },
            None => password_grant(http, config).await?,
        };
        let token = Token {
            access: answer.access_token.clone(),
            refresh: answer.refresh_token,
            renew_at: syncd_core::clock::instant()
                + Duration::from_secs(answer.expires_in).saturating_sub(MARGIN),
        };
        *current = Some(token);
        Ok(answer.access_token)
    }

    /// Forgets the access token (the API answered 401); the refresh token is kept.
    pub async fn invalidate(&self) {
        if let Some(t) = self.current.lock().await.as_mut() {
            t.renew_at = syncd_core::clock::instant();
        }
    }
}

async fn password_grant(
    http: &reqwest::Client,
    config: &FluentConfig,
) -> Result<TokenAnswer, ConnectorError> {
    request(
        http,
        config,
        &[
            ("grant_type", "password"),
            ("username", &config.username),
            ("password", config.password.expose()),
            ("scope", "api"),
        ],
    )
    .await
}

async fn request(
    http: &reqwest::Client,
    config: &FluentConfig,
    grant: &[(&str, &str)],
) -> Result<TokenAnswer, ConnectorError> {
    let context = "fluent POST /oauth/token";
    let mut form: Vec<(&str, &str)> = vec![
        ("client_id", &config.client_id),
        ("client_secret", config.client_secret.expose()),
    ];
    form.extend_from_slice(grant);
    let response = http
        .post(format!(
            "{}/oauth/token",
            config.base_url.trim_end_matches('/')
        ))
        .header("fluent.account", &config.account)
        .form(&form)
        .send()
        .await
        .map_err(|e| syncd_http::transport(context, e))?;
    let status = response.status();
    if status.is_success() {
        return response.json().await.map_err(|e| {
            ConnectorError::retryable(context, format!("unreadable token answer: {e}"))
        });
    }
    if status.as_u16() == 429 || status.is_server_error() {
        return Err(syncd_http::HttpFailure::read(response)
            .await
            .classify(context));
    }
    // 400 invalid_grant, 401 invalid_client: the credentials are wrong. The body never carries
    // the secret, but only its error code is kept.
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    Err(ConnectorError::Auth {
        context: context.into(),
        message: format!(
            "{status}: {} {}",
            body["error"].as_str().unwrap_or("refused"),
            body["error_description"].as_str().unwrap_or("")
        ),
    })
}
