//! The HTTP client of one org. It authenticates by the configured OAuth grant: JWT bearer (the
//! default for a daemon: an RS256 assertion signed with the connected app's key), client
//! credentials, or a refresh token. It keeps the session and the instance URL the token
//! endpoint answers, and authenticates again once when a call answers 401
//! (`INVALID_SESSION_ID`; Salesforce gives no expiry). It reads `Sforce-Limit-Info` on every
//! answer, and refuses to call once the configured share of the org's daily API budget is used.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use syncd_core::{ConnectorError, Secret};
use syncd_http::{call_json_observed, BearerTokens};
use tokio::sync::Mutex;

/// How the connector authenticates.
#[derive(Clone, Debug)]
pub enum Grant {
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer`: `sub` is the integration user.
    Jwt {
        /// The integration user.
        username: String,
        /// The connected app's private key (PEM).
        private_key: Secret,
    },
    /// `client_credentials`: the app's "Run As" user.
    ClientCredentials {
        /// The consumer secret.
        client_secret: Secret,
    },
    /// `refresh_token`, from a web flow an admin ran once.
    RefreshToken {
        /// The refresh token.
        refresh_token: Secret,
        /// The consumer secret, when the app requires it.
        client_secret: Option<Secret>,
    },
}

/// Where and how to reach the org.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    /// `https://login.salesforce.com`, `https://test.salesforce.com` or My Domain.
    pub login_url: String,
    /// The REST API version (`62.0`).
    pub api_version: String,
    /// The connected app's consumer key.
    pub client_id: String,
    /// The grant.
    pub grant: Grant,
    /// The share of the org's daily API requests this connector may use (0–1]: the org's
    /// budget is shared by every integration.
    pub budget_share: f64,
    /// One request's timeout.
    pub request_timeout: Duration,
}

#[derive(Clone, Debug, Deserialize)]
struct TokenAnswer {
    access_token: String,
    instance_url: String,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
}

/// The org's daily API usage, as the last answer reported it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Requests used in the rolling 24 hours.
    pub used: u64,
    /// The org's allocation.
    pub allocation: u64,
}

/// Reads `api-usage=10018/100000` out of a `Sforce-Limit-Info` header.
pub fn usage_of(header: &str) -> Option<Usage> {
    let value = header
        .split(';')
        .find_map(|part| part.trim().strip_prefix("api-usage="))?;
    let (used, allocation) = value.split_once('/')?;
    Some(Usage {
        used: used.trim().parse().ok()?,
        allocation: allocation.trim().parse().ok()?,
    })
}

/// Calls to one org.
pub struct SalesforceClient {
    http: reqwest::Client,
    settings: ClientSettings,
    session: Mutex<Option<TokenAnswer>>,
    used: AtomicU64,
    allocation: AtomicU64,
}

impl SalesforceClient {
    /// A client of the org `settings` name.
    pub fn new(settings: ClientSettings) -> Result<Self, ConnectorError> {
        let http = syncd_http::client("salesforce", settings.request_timeout)?;
        Ok(SalesforceClient {
            http,
            settings,
            session: Mutex::new(None),
            used: AtomicU64::new(0),
            allocation: AtomicU64::new(0),
        })
    }

    /// The org's daily usage, as last reported (zeros before the first call).
    pub fn usage(&self) -> Usage {
        Usage {
            used: self.used.load(Ordering::Relaxed),
            allocation: self.allocation.load(Ordering::Relaxed),
        }
    }

    /// Why no more calls may be made, once this connector's share of the org's daily
    /// requests is used (as the last answer reported it).
    pub fn budget_spent(&self) -> Option<String> {
        let Usage { used, allocation } = self.usage();
        let allowed = (allocation as f64 * self.settings.budget_share).floor() as u64;
        (allocation > 0 && used >= allowed).then(|| {
            format!(
                "the org has used {used} of its {allocation} daily API requests, and this connector may use {allowed} of them (budget_share = {})",
                self.settings.budget_share
            )
        })
    }

    /// Refuses a call once this connector's share of the daily budget is spent.
    fn within_budget(&self, context: &str) -> Result<(), ConnectorError> {
        match self.budget_spent() {
            Some(why) => Err(ConnectorError::rate_limited(
                format!("{context}: {why}"),
                // The budget is a rolling day: try again in an hour, when some has freed.
                Duration::from_secs(3600),
            )),
            None => Ok(()),
        }
    }

    async fn authenticate(&self) -> Result<TokenAnswer, ConnectorError> {
        let s = &self.settings;
        let context = "salesforce POST /services/oauth2/token";
        let mut form: Vec<(&str, String)> = Vec::new();
        match &s.grant {
            Grant::Jwt {
                username,
                private_key,
            } => {
                let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key.expose().as_bytes())
                    .map_err(|e| ConnectorError::Auth {
                        context: context.into(),
                        message: format!("the private key is not an RSA key in PEM: {e}"),
                    })?;
                let claims = Claims {
                    iss: &s.client_id,
                    sub: username,
                    aud: &s.login_url,
                    exp: chrono::Utc::now().timestamp() + 180,
                };
                let assertion = jsonwebtoken::encode(
                    &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
                    &claims,
                    &key,
                )
                .map_err(|e| ConnectorError::Auth {
                    context: context.into(),
                    message: format!("cannot sign the assertion: {e}"),
                })?;
                form.push((
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
                ));
                form.push(("assertion", assertion));
            }
            Grant::ClientCredentials { client_secret } => {
                form.push(("grant_type", "client_credentials".into()));
                form.push(("client_id", s.client_id.clone()));
                form.push(("client_secret", client_secret.expose().to_string()));
            }
            Grant::RefreshToken {
                refresh_token,
                client_secret,
            } => {
                form.push(("grant_type", "refresh_token".into()));
                form.push(("client_id", s.client_id.clone()));
                form.push(("refresh_token", refresh_token.expose().to_string()));
                if let Some(secret) = client_secret {
                    form.push(("client_secret", secret.expose().to_string()));
                }
            }
        }
        let url = format!(
            "{}/services/oauth2/token",
            s.login_url.trim_end_matches('/')
        );
        let answer = self
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(|e| syncd_http::transport(context, e))?;
        if !answer.status().is_success() {
            let status = answer.status().as_u16();
            let body: serde_json::Value = answer.json().await.unwrap_or_default();
            let message = format!(
                "{status} {}: {}",
                body["error"].as_str().unwrap_or("error"),
                body["error_description"].as_str().unwrap_or("")
            );
            return Err(match status {
                500..=599 => ConnectorError::retryable(context, message),
                _ => ConnectorError::Auth {
                    context: context.into(),
                    message,
                },
            });
        }
        answer.json::<TokenAnswer>().await.map_err(|e| {
            ConnectorError::retryable(context, format!("unexpected token answer: {e}"))
        })
    }

    /// Calls `path` (under `/services/data/v{version}`) on the instance and reads the JSON
    /// answer; authenticates again once on 401.
    pub async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ConnectorError> {
        self.call_with(method, path, body, &[]).await
    }

    /// [`SalesforceClient::call`] with extra request headers (`Sforce-Query-Options`); a `path`
    /// that starts with `/services/` (a `nextRecordsUrl`) is taken from the instance's root.
    pub async fn call_with<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        headers: &[(&str, &str)],
    ) -> Result<T, ConnectorError> {
        let shown: String = path.chars().take(120).collect();
        let context = format!("salesforce {method} {shown}");
        self.within_budget(&context)?;
        let version = self.settings.api_version.clone();
        let instance = self
            .session_now()
            .await?
            .instance_url
            .trim_end_matches('/')
            .to_string();
        let url = match path.starts_with("/services/") {
            true => format!("{instance}{path}"),
            false => format!("{instance}/services/data/v{version}{path}"),
        };
        call_json_observed(
            self,
            &[401],
            &context,
            |token| {
                let mut request = self.http.request(method.clone(), &url).bearer_auth(token);
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
                match body {
                    Some(body) => request.json(body),
                    None => request,
                }
            },
            |headers| {
                if let Some(usage) = headers
                    .get("sforce-limit-info")
                    .and_then(|v| v.to_str().ok())
                    .and_then(usage_of)
                {
                    self.used.store(usage.used, Ordering::Relaxed);
                    self.allocation.store(usage.allocation, Ordering::Relaxed);
                }
            },
        )
        .await
        .map_err(|e| reclassify(e, &context))
    }

    async fn session_now(&self) -> Result<TokenAnswer, ConnectorError> {
        let mut session = self.session.lock().await;
        if let Some(s) = session.as_ref() {
            return Ok(s.clone());
        }
        let fresh = self.authenticate().await?;
        *session = Some(fresh.clone());
        Ok(fresh)
    }
}

/// Salesforce's own reading of a refusal: a spent daily budget (403 `REQUEST_LIMIT_EXCEEDED`)
/// is a wait, not bad credentials, and a locked row (`UNABLE_TO_LOCK_ROW`) clears by itself.
fn reclassify(error: ConnectorError, context: &str) -> ConnectorError {
    let text = error.to_string();
    if text.contains("REQUEST_LIMIT_EXCEEDED") {
        return ConnectorError::rate_limited(context, Duration::from_secs(3600));
    }
    if text.contains("UNABLE_TO_LOCK_ROW") {
        return ConnectorError::retryable(context, text);
    }
    error
}

#[async_trait::async_trait]
impl BearerTokens for SalesforceClient {
    async fn token(&self) -> Result<String, ConnectorError> {
        Ok(self.session_now().await?.access_token)
    }

    async fn invalidate(&self) {
        *self.session.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usage_header_is_read_with_or_without_other_counters() {
        assert_eq!(
            usage_of("api-usage=10018/100000"),
            Some(Usage {
                used: 10018,
                allocation: 100000
            })
        );
        assert_eq!(
            usage_of("api-usage=25/5000; per-app-api-usage=17/250(appName=sample-app)"),
            Some(Usage {
                used: 25,
                allocation: 5000
            })
        );
        assert_eq!(usage_of("garbage"), None);
    }
}
