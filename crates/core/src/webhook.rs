//! Webhooks: requests a vendor pushes to the daemon's `/hooks/<connector>/...` routes. The
//! connector verifies and parses them into events; the daemon makes the events durable in the
//! inbox and only then answers 2xx.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{EntityKind, Record};

/// One webhook request, as received.
#[derive(Clone, Debug)]
pub struct WebhookRequest {
    /// The HTTP method (`POST`, `PUT`, `GET`).
    pub method: String,
    /// The path below `/hooks/<connector>` (`/` when none).
    pub path: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The raw body: signatures are computed over these exact bytes.
    pub body: Vec<u8>,
}

impl WebhookRequest {
    /// Whether the request carries `Authorization: Bearer <secret>`. Equal lengths are
    /// compared in constant time; a length mismatch reveals only the length.
    pub fn bears(&self, secret: &str) -> bool {
        use subtle::ConstantTimeEq;
        let given = self
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        !secret.is_empty()
            && given.len() == secret.len()
            && bool::from(given.as_bytes().ct_eq(secret.as_bytes()))
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An event taken from a webhook, kept in the inbox until a run consumes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboundEvent {
    /// The vendor's id for the event (deduplication happens when it is consumed).
    pub id: String,
    /// The event, as the connector will read it back.
    pub payload: serde_json::Value,
}

/// Why a webhook was refused; each maps to an HTTP status the vendor understands.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum WebhookError {
    /// The signature or token did not verify (401).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The body is not what the vendor documents (400).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Authentic, but not for this connector: another tenant's event, say (403).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No route of this connector matches the path (404).
    #[error("no webhook route `{0}`")]
    NoRoute(String),
    /// The request is fine but cannot be taken now (503): the vendor sends it again.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// An answer of a connector's own to a request that carries no events (an app's manifest).
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookReply {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: serde_json::Value,
}

/// Accepts a connector's webhooks, and turns the stored events into records.
#[async_trait]
pub trait WebhookReceiver: Send + Sync {
    /// Answers `request` itself, when it is one the connector answers without events (a
    /// manifest, a configuration form); `None` hands it to [`WebhookReceiver::accept`].
    async fn reply(&self, _request: &WebhookRequest) -> Option<Result<WebhookReply, WebhookError>> {
        None
    }

    /// Verifies `request` and returns the events it carries (none for a ping or an event kind
    /// the connector ignores).
    async fn accept(&self, request: &WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError>;

    /// The entity kinds a pipeline reads from this connector's inbox.
    fn entities(&self) -> Vec<EntityKind>;

    /// The record an accepted event stands for.
    fn decode(&self, event: &InboundEvent) -> Result<Record, String>;

    /// Whether the event says its record was deleted (a tombstone).
    fn deleted(&self, _event: &InboundEvent) -> bool {
        false
    }
}
