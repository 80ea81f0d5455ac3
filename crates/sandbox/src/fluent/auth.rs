//! `POST /oauth/token`: password and refresh-token grants, from a form body or the query
//! string; bearer checks for every other route.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::Fluent;

/// Issued tokens.
#[derive(Default)]
pub struct Tokens {
    access: HashMap<String, Instant>,
    refresh: HashSet<String>,
    issued: u64,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn params(query: Option<&str>, body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .chain(form_urlencoded::parse(body))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The token endpoint.
pub async fn token(
    State(fluent): State<Arc<Fluent>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let p = params(query.as_deref(), &body);
    let cfg = &fluent.config;
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    if get("client_id") != cfg.client_id || get("client_secret") != cfg.client_secret {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Bad client credentials",
        );
    }
    let mut tokens = fluent.auth.lock().expect("auth lock");
    match get("grant_type") {
        "password" => {
            if get("username") != cfg.username || get("password") != cfg.password {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad credentials");
            }
        }
        "refresh_token" => {
            // Refresh tokens are single-use.
            if !tokens.refresh.remove(get("refresh_token")) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Invalid refresh token",
                );
            }
        }
        other => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("Unsupported grant type: {other}"),
            )
        }
    }
    tokens.issued += 1;
    let access = format!("sim-access-{:08}-{:016x}", tokens.issued, fastrand::u64(..));
    tokens.access.insert(
        access.clone(),
        Instant::now() + Duration::from_secs(cfg.token_ttl_secs),
    );
    let mut answer = serde_json::json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": cfg.token_ttl_secs,
        "scope": "api",
        "Retailer_id": cfg.retailer_id,
        "FirstName": "Sandbox",
        "LastName": "Admin",
        "Roles": ["ADMIN"],
    });
    if cfg.refresh_tokens {
        let refresh = format!(
            "sim-refresh-{:08}-{:016x}",
            tokens.issued,
            fastrand::u64(..)
        );
        tokens.refresh.insert(refresh.clone());
        answer["refresh_token"] = refresh.into();
    }
    Json(answer).into_response()
}

/// The 401 answer for a request whose bearer token is missing, unknown or expired (or when
/// the fault plan expires every token now); `None` when it is authorized.
pub fn refusal(fluent: &Fluent, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .unwrap_or("");
    let mut tokens = fluent.auth.lock().expect("auth lock");
    if fluent.core.tokens_expire_now() {
        tokens.access.clear();
    }
    match tokens.access.get(token) {
        Some(until) if Instant::now() < *until => None,
        Some(_) => Some(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Access token expired",
        )),
        None => Some(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Invalid access token",
        )),
    }
}
