//! `X-APP-TOKEN`: an HS256 JWT signed with the installation's shared secret, with the claims
//! `app_installation_id`, `api_url`, `iat`, `nbf`, `exp`, and `synchronization_id` on
//! synchronization calls.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

/// The header the token travels in.
pub const HEADER: &str = "X-APP-TOKEN";

/// The token's claims.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppClaims {
    /// The installation.
    pub app_installation_id: String,
    /// Ergonode's API base (the simulator's URL).
    pub api_url: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before (Unix seconds).
    pub nbf: i64,
    /// Expires (Unix seconds).
    pub exp: i64,
    /// The synchronization, on synchronization calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synchronization_id: Option<String>,
}

impl AppClaims {
    /// Claims valid from now for `ttl_secs`.
    pub fn now(installation: &str, api_url: &str, ttl_secs: i64, sync: Option<&str>) -> Self {
        let now = chrono::Utc::now().timestamp();
        AppClaims {
            app_installation_id: installation.into(),
            api_url: api_url.into(),
            iat: now,
            nbf: now,
            exp: now + ttl_secs,
            synchronization_id: sync.map(str::to_string),
        }
    }
}

/// Signs `claims` with HS256 and `secret`.
pub fn sign(secret: &str, claims: &AppClaims) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing cannot fail")
}

/// Random bytes as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if getrandom::fill(&mut buf).is_err() {
        fastrand::fill(&mut buf);
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random (version 4) UUID.
pub fn uuid4() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        fastrand::fill(&mut b);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
