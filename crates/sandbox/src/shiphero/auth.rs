//! `POST /auth/token` (`{"username","password"}`) and `POST /auth/refresh`
//! (`{"refresh_token"}`), and the bearer check of `/graphql`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;

use super::ShipHero;

/// The scopes granted (ShipHero's developer tokens).
pub const SCOPE: &str = "openid profile offline_access";

/// Issued tokens.
pub struct Tokens {
    access: HashMap<String, Instant>,
    /// The account's static refresh token.
    pub refresh: String,
}

impl Tokens {
    /// No access tokens yet, a fresh refresh token.
    pub fn new() -> Self {
        Tokens {
            access: HashMap::new(),
            refresh: format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
        }
    }

    /// Makes every issued access token expired.
    pub fn expire_all(&mut self) {
        let now = Instant::now();
        for until in self.access.values_mut() {
            *until = now;
        }
    }
}

fn auth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn issue(sh: &ShipHero, tokens: &mut Tokens) -> (String, u64) {
    let ttl = sh.config.token_ttl_secs;
    let iat = Utc::now().timestamp();
    let claims = serde_json::json!({
        "http://shiphero-public-api/userinfo": {
            "email": sh.config.username,
            "account_id": sh.config.account_id,
            "user_id": sh.config.user_id,
        },
        "iss": "https://shiphero.auth0.com/",
        "sub": format!("auth0|{}", sh.config.user_id),
        "aud": ["shiphero-public-api"],
        "iat": iat,
        "exp": iat + ttl as i64,
        "scope": SCOPE,
        "jti": format!("{:016x}", fastrand::u64(..)),
    });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"syncd-sandbox-shiphero"),
    )
    .expect("HS256 signing cannot fail");
    tokens
        .access
        .insert(token.clone(), Instant::now() + Duration::from_secs(ttl));
    (token, ttl)
}

fn json_body(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or(serde_json::Value::Null)
}

/// `POST /auth/token`.
pub async fn token(State(sh): State<Arc<ShipHero>>, body: Bytes) -> Response {
    let body = json_body(&body);
    let cfg = &sh.config;
    if body["username"].as_str() != Some(cfg.username.as_str())
        || body["password"].as_str() != Some(cfg.password.as_str())
    {
        return auth_error(
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "Wrong email or password.",
        );
    }
    let mut tokens = sh.auth.lock().expect("auth lock");
    let (access, ttl) = issue(&sh, &mut tokens);
    Json(serde_json::json!({
        "access_token": access,
        "expires_in": ttl,
        "refresh_token": tokens.refresh,
        "scope": SCOPE,
        "token_type": "Bearer",
    }))
    .into_response()
}

/// `POST /auth/refresh`.
pub async fn refresh(State(sh): State<Arc<ShipHero>>, body: Bytes) -> Response {
    let body = json_body(&body);
    let mut tokens = sh.auth.lock().expect("auth lock");
    if body["refresh_token"].as_str() != Some(tokens.refresh.as_str()) {
        return auth_error(
            StatusCode::FORBIDDEN,
            "invalid_grant",
            "Unknown or invalid refresh token.",
        );
    }
    let (access, ttl) = issue(&sh, &mut tokens);
    Json(serde_json::json!({
        "access_token": access,
        "expires_in": ttl,
        "scope": SCOPE,
        "token_type": "Bearer",
    }))
    .into_response()
}

/// The 401 answer for a missing, unknown or expired bearer token (or when the fault plan
/// expires every token now); `None` when authorized.
pub fn refusal(sh: &ShipHero, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .unwrap_or("")
        .trim();
    let mut tokens = sh.auth.lock().expect("auth lock");
    if sh.core.tokens_expire_now() {
        tokens.expire_all();
    }
    let message = match tokens.access.get(token) {
        Some(until) if Instant::now() < *until => return None,
        Some(_) => "The access token has expired",
        None if token.is_empty() => "Missing Authorization header",
        None => "Invalid access token",
    };
    Some(
        (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"errors": [{"message": message, "code": 401}], "data": null})),
        )
            .into_response(),
    )
}
