//! The Keycloak-style token endpoint (client credentials) and bearer checks.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::stock::problem;
use super::NewStore;

/// Issued tokens.
#[derive(Default)]
pub struct Tokens {
    access: HashMap<String, Instant>,
    issued: u64,
}

/// `POST /auth/realms/{tenant}/protocol/openid-connect/token`.
pub async fn token(
    State(ns): State<Arc<NewStore>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let cfg = &ns.config;
    let error = |status: StatusCode, error: &str, description: &str| {
        (
            status,
            Json(serde_json::json!({"error": error, "error_description": description})),
        )
            .into_response()
    };
    if tenant != cfg.tenant {
        return error(
            StatusCode::NOT_FOUND,
            "realm_not_found",
            "Realm does not exist",
        );
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant_type",
        );
    }
    if form.get("client_id") != Some(&cfg.client_id)
        || form.get("client_secret") != Some(&cfg.client_secret)
    {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Invalid client or Invalid client credentials",
        );
    }
    let mut tokens = ns.auth.lock().expect("auth lock");
    tokens.issued += 1;
    let access = format!("ns-access-{:08}-{:016x}", tokens.issued, fastrand::u64(..));
    tokens.access.insert(
        access.clone(),
        Instant::now() + Duration::from_secs(cfg.token_ttl_secs),
    );
    Json(serde_json::json!({
        "access_token": access,
        "expires_in": cfg.token_ttl_secs,
        "refresh_expires_in": 0,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "scope": "profile email",
    }))
    .into_response()
}

/// The refusal of a request without a valid bearer token: 401 without one, 403 for an unknown
/// or expired one; `None` when it is authorized.
pub fn refusal(ns: &NewStore, headers: &HeaderMap) -> Option<Response> {
    let Some(token) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return Some(problem(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authorization header missing",
        ));
    };
    let mut tokens = ns.auth.lock().expect("auth lock");
    if ns.core.tokens_expire_now() {
        tokens.access.clear();
    }
    match tokens.access.get(token) {
        Some(until) if Instant::now() < *until => None,
        _ => Some(problem(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Token is invalid or expired",
        )),
    }
}
