//! The GraphQL client of one ShipHero account: its tokens (`/auth/token` with the developer
//! user's password, or `/auth/refresh` with a refresh token; renewed once when the API refuses
//! one), its credit bucket kept client-side (an operation waits for the credits it will cost
//! instead of being refused), and ShipHero's answers read: errors come at HTTP 200 in
//! `errors[]`, and the out-of-credits error (code 30) says how long to wait.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};
use syncd_core::ConnectorError;
use syncd_http::BearerTokens;
use tokio::sync::Mutex;

use crate::config::ShipHeroConfig;

/// Renew this long before a token expires.
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
    renew_at: Instant,
}

/// The credits the account has, as we count them.
struct Bucket {
    available: f64,
    max: f64,
    per_sec: f64,
    at: Instant,
}

impl Bucket {
    fn refill(&mut self) {
        let now = syncd_core::clock::instant();
        let gained = now.duration_since(self.at).as_secs_f64() * self.per_sec;
        self.available = (self.available + gained).min(self.max);
        self.at = now;
    }

    /// Takes `cost` credits, or says how long until they are there.
    fn take(&mut self, cost: f64) -> Result<(), Duration> {
        self.refill();
        let cost = cost.min(self.max);
        if self.available >= cost {
            self.available -= cost;
            return Ok(());
        }
        Err(Duration::from_secs_f64(
            (cost - self.available) / self.per_sec,
        ))
    }
}

/// Reads ShipHero's `time_remaining` ("18 seconds", or a number of seconds).
pub fn seconds_of(value: &Value) -> Option<Duration> {
    match value {
        Value::Number(n) => n.as_f64().map(Duration::from_secs_f64),
        Value::String(s) => {
            let number: String = s
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            number.parse::<f64>().ok().map(Duration::from_secs_f64)
        }
        _ => None,
    }
}

/// The class of a GraphQL error item.
pub fn classify(error: &Value, context: &str) -> ConnectorError {
    let message = error["message"].as_str().unwrap_or("error").to_string();
    let code = error["code"]
        .as_i64()
        .or_else(|| error["extensions"]["code"].as_i64());
    let field = |name: &str| {
        error
            .get(name)
            .or_else(|| error["extensions"].get(name))
            .cloned()
            .unwrap_or(Value::Null)
    };
    match code {
        Some(30) => {
            let wait = seconds_of(&field("time_remaining")).unwrap_or(Duration::from_secs(1));
            ConnectorError::rate_limited(format!("{context}: out of credits ({message})"), wait)
        }
        // A missing scope: the developer user's rights are for an operator to fix.
        Some(7) => ConnectorError::Auth {
            context: context.into(),
            message,
        },
        _ if expired_token(&message) => ConnectorError::Auth {
            context: context.into(),
            message,
        },
        _ if message.to_ascii_lowercase().contains("timeout")
            || message.to_ascii_lowercase().contains("try again") =>
        {
            ConnectorError::retryable(context, message)
        }
        _ => ConnectorError::permanent(context, message),
    }
}

fn expired_token(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    (m.contains("token") && (m.contains("expired") || m.contains("invalid")))
        || m.contains("unauthorized")
        || m.contains("not authenticated")
}

/// The calls to one account.
pub struct ShipHeroClient {
    http: reqwest::Client,
    config: ShipHeroConfig,
    token: Mutex<Option<Token>>,
    refresh: Mutex<Option<String>>,
    bucket: Mutex<Bucket>,
}

impl ShipHeroClient {
    /// A client of the account `config` names.
    pub fn new(config: ShipHeroConfig) -> Result<Self, ConnectorError> {
        let http =
            syncd_http::client("shiphero", Duration::from_secs(config.request_timeout_secs))?;
        let refresh = config
            .refresh_token
            .as_ref()
            .map(|s| s.expose().to_string());
        let bucket = Bucket {
            available: config.credits as f64,
            max: config.credits as f64,
            per_sec: config.credits_per_sec as f64,
            at: syncd_core::clock::instant(),
        };
        Ok(ShipHeroClient {
            http,
            config,
            token: Mutex::new(None),
            refresh: Mutex::new(refresh),
            bucket: Mutex::new(bucket),
        })
    }

    /// The account's settings.
    pub fn config(&self) -> &ShipHeroConfig {
        &self.config
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    async fn authenticate(&self) -> Result<TokenAnswer, ConnectorError> {
        let refresh = self.refresh.lock().await.clone();
        if let Some(refresh) = refresh {
            match self
                .auth_call("/auth/refresh", json!({ "refresh_token": refresh }))
                .await
            {
                Ok(answer) => return Ok(answer),
                // A refresh token is static while the account is active; a refused one falls
                // back to the password, when there is one.
                Err(e @ ConnectorError::Auth { .. }) if self.config.password.is_none() => {
                    return Err(e)
                }
                Err(ConnectorError::Auth { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let (Some(username), Some(password)) = (&self.config.username, &self.config.password)
        else {
            return Err(ConnectorError::Auth {
                context: "shiphero POST /auth/token".into(),
                message: "no password to log in with".into(),
            });
        };
        let answer = self
            .auth_call(
                "/auth/token",
                json!({ "username": username, "password": password.expose() }),
            )
            .await?;
        if let Some(refresh) = &answer.refresh_token {
            *self.refresh.lock().await = Some(refresh.clone());
        }
        Ok(answer)
    }

    async fn auth_call(&self, path: &str, body: Value) -> Result<TokenAnswer, ConnectorError> {
        let context = format!("shiphero POST {path}");
        let response = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .map_err(|e| syncd_http::transport(&context, e))?;
        let status = response.status();
        if status.is_success() {
            return response.json().await.map_err(|e| {
                ConnectorError::retryable(&context, format!("unreadable token answer: {e}"))
            });
        }
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(syncd_http::HttpFailure::read(response)
                .await
                .classify(&context));
        }
        Err(ConnectorError::Auth {
            context,
            message: format!("{status}: the credentials were refused"),
        })
    }

    /// Waits until the bucket holds `cost` credits, and takes them.
    async fn spend(&self, cost: u64) {
        loop {
            let wait = match self.bucket.lock().await.take(cost as f64) {
                Ok(()) => return,
                Err(wait) => wait,
            };
            tracing::debug!(
                cost,
                wait_ms = wait.as_millis() as u64,
                "waiting for ShipHero credits"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Settles the bucket with what an operation really cost (its `complexity`).
    async fn settle(&self, estimated: u64, actual: Option<u64>) {
        if let Some(actual) = actual {
            let mut bucket = self.bucket.lock().await;
            bucket.available =
                (bucket.available + estimated as f64 - actual as f64).clamp(0.0, bucket.max);
        }
    }

    /// Runs `query` and returns the wrapper of its root field `operation`
    /// (`{request_id, complexity, data | <payload>}`); `cost` is what it is expected to cost.
    pub async fn run(
        &self,
        operation: &str,
        query: &str,
        variables: Value,
        cost: u64,
    ) -> Result<Value, ConnectorError> {
        let context = format!("shiphero {operation}");
        let mut renewed = false;
        loop {
            self.spend(cost).await;
            let body = json!({ "query": query, "variables": variables });
            let answer: Value = syncd_http::call_json(self, &[401, 403], &context, |token| {
                self.http
                    .post(self.url("/graphql"))
                    .bearer_auth(token)
                    .json(&body)
            })
            .await?;
            let errors = answer["errors"].as_array().cloned().unwrap_or_default();
            if let Some(first) = errors.first() {
                self.settle(cost, Some(0)).await;
                let error = classify(first, &context);
                if let ConnectorError::RateLimited { .. } = &error {
                    // Our count was wrong: believe ShipHero's.
                    if let Some(left) = first
                        .get("remaining_credits")
                        .or_else(|| first["extensions"].get("remaining_credits"))
                        .and_then(Value::as_f64)
                    {
                        let mut bucket = self.bucket.lock().await;
                        bucket.available = left;
                        bucket.at = syncd_core::clock::instant();
                    }
                }
                if matches!(error, ConnectorError::Auth { .. })
                    && expired_token(first["message"].as_str().unwrap_or(""))
                    && !renewed
                {
                    renewed = true;
                    self.invalidate().await;
                    continue;
                }
                return Err(error);
            }
            let wrapper = answer["data"][operation].clone();
            if wrapper.is_null() {
                return Err(ConnectorError::retryable(
                    &context,
                    format!("the answer has no `data.{operation}`"),
                ));
            }
            self.settle(cost, wrapper["complexity"].as_u64()).await;
            return Ok(wrapper);
        }
    }
}

#[async_trait::async_trait]
impl BearerTokens for ShipHeroClient {
    async fn token(&self) -> Result<String, ConnectorError> {
        let mut token = self.token.lock().await;
        if let Some(t) = token
            .as_ref()
            .filter(|t| syncd_core::clock::instant() < t.renew_at)
        {
            return Ok(t.access.clone());
        }
        let answer = self.authenticate().await?;
        *token = Some(Token {
            access: answer.access_token.clone(),
            renew_at: syncd_core::clock::instant()
                + Duration::from_secs(answer.expires_in).saturating_sub(MARGIN),
        });
        Ok(answer.access_token)
    }

    async fn invalidate(&self) {
        *self.token.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_out_of_credits_error_waits_what_shiphero_says() {
        let error = json!({
            "message": "There are not enough credits to perform the requested operation, which requires 1301 credits, but there are only 263 left. In 18 seconds you will have enough credits to perform the operation",
            "code": 30, "required_credits": 1301, "remaining_credits": 263, "time_remaining": "18 seconds"
        });
        match classify(&error, "shiphero x") {
            ConnectorError::RateLimited { wait, .. } => assert_eq!(wait, Duration::from_secs(18)),
            other => panic!("{other}"),
        }
        let nested =
            json!({"message": "m", "extensions": {"code": 30, "time_remaining": "2 seconds"}});
        assert!(
            matches!(classify(&nested, "x"), ConnectorError::RateLimited { wait, .. } if wait == Duration::from_secs(2))
        );
    }

    #[test]
    fn a_missing_scope_is_for_the_operator_and_a_bad_query_is_permanent() {
        let scope = json!({"message": "Missing required scope(s): view:orders", "code": 7});
        assert!(matches!(classify(&scope, "x"), ConnectorError::Auth { .. }));
        let bad = json!({"message": "Unknown field `x`"});
        assert!(matches!(
            classify(&bad, "x"),
            ConnectorError::Permanent { .. }
        ));
    }

    #[test]
    fn the_bucket_says_how_long_until_an_operation_can_run() {
        let mut bucket = Bucket {
            available: 10.0,
            max: 100.0,
            per_sec: 10.0,
            at: syncd_core::clock::instant(),
        };
        assert!(bucket.take(5.0).is_ok());
        let wait = bucket.take(25.0).unwrap_err();
        assert!(
            wait > Duration::from_millis(1900) && wait <= Duration::from_secs(2),
            "{wait:?}"
        );
    }
}
