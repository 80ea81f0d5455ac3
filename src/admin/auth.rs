//! The bearer token of the admin API's mutating routes (`[daemon] admin_token`). Reads stay
//! open on the admin listener; a route that changes state (a cursor, the dead letters) needs the
//! token, and without a configured token it is refused, never open.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::error::ApiError;
use crate::daemon::Daemon;

/// Lets the request through only with `Authorization: Bearer <admin_token>`.
pub async fn require_token(
    State(daemon): State<Arc<Daemon>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let loaded = daemon.current();
    let Some(token) = loaded.config.daemon.admin_token.as_ref() else {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "this route changes state and needs `[daemon] admin_token`, which is not set".into(),
        ));
    };
    let offered = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match offered {
        Some(offered) if same(offered.as_bytes(), token.expose().as_bytes()) => {
            Ok(next.run(request).await)
        }
        Some(_) => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "the bearer token is not the admin token".into(),
        )),
        None => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "this route needs `Authorization: Bearer <admin_token>`".into(),
        )),
    }
}

/// Compares in time that does not depend on where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
        assert!(!same(b"", b"a"));
    }
}
