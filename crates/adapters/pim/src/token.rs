//! `X-APP-TOKEN`: the HS256 JWT on every call between Ergonode and the app, signed with the
//! installation's shared secret. It is verified in the order the framework implies: read
//! `app_installation_id` without trusting it, load that installation's secret, then verify the
//! signature (jsonwebtoken checks HMACs in constant time, through ring) with `exp` required and
//! `nbf` honoured, within a small leeway.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use thiserror::Error;

/// The claims the app reads.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The installation the call is for.
    pub app_installation_id: String,
    /// Ergonode's API base.
    #[serde(default)]
    pub api_url: Option<String>,
    /// The synchronization the call belongs to.
    #[serde(default)]
    pub synchronization_id: Option<String>,
}

/// Why a token is refused; each is answered 401 with its text.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Refusal {
    /// No `X-APP-TOKEN`.
    #[error("missing X-APP-TOKEN header")]
    Missing,
    /// Not a JWT, or no `app_installation_id`.
    #[error("malformed X-APP-TOKEN: {0}")]
    Malformed(String),
    /// No installation has that id.
    #[error("unknown installation `{0}`")]
    UnknownInstallation(String),
    /// The signature is not the installation's.
    #[error("bad signature")]
    BadSignature,
    /// Past `exp`.
    #[error("expired token")]
    Expired,
    /// Before `nbf`.
    #[error("token not valid yet")]
    NotYetValid,
}

/// The installation a token claims to be for, read without verifying anything.
pub fn claimed_installation(token: &str) -> Result<String, Refusal> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.insecure_disable_signature_validation();
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&[]), &validation)
        .map(|data| data.claims.app_installation_id)
        .map_err(|e| Refusal::Malformed(e.to_string()))
}

/// The token's claims, once it is verified under `secret`.
pub fn verify(token: &str, secret: &[u8], leeway_secs: u64) -> Result<Claims, Refusal> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = leeway_secs;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp"]);
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => Refusal::Expired,
            ErrorKind::ImmatureSignature => Refusal::NotYetValid,
            ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => Refusal::BadSignature,
            _ => Refusal::Malformed(e.to_string()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    fn token(secret: &str, exp_in: i64, nbf_in: i64) -> String {
        let now = chrono::Utc::now().timestamp();
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &json!({"app_installation_id": "inst-1", "api_url": "http://ergonode", "iat": now, "nbf": now + nbf_in, "exp": now + exp_in}),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn a_token_verifies_under_its_secret_only_and_within_its_time() {
        let good = token("s3cret", 300, 0);
        assert_eq!(claimed_installation(&good).unwrap(), "inst-1");
        assert_eq!(
            verify(&good, b"s3cret", 5).unwrap().app_installation_id,
            "inst-1"
        );
        assert_eq!(verify(&good, b"other", 5), Err(Refusal::BadSignature));
        assert_eq!(
            verify(&token("s3cret", -60, -120), b"s3cret", 5),
            Err(Refusal::Expired)
        );
        assert_eq!(
            verify(&token("s3cret", 600, 300), b"s3cret", 5),
            Err(Refusal::NotYetValid)
        );
        // Within the leeway.
        assert!(verify(&token("s3cret", -2, -60), b"s3cret", 5).is_ok());
        assert!(matches!(
            claimed_installation("not a jwt"),
            Err(Refusal::Malformed(_))
        ));
    }
}
