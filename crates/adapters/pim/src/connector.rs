//! The PIM connector: the daemon as an Ergonode app. Ergonode pushes; the app never polls.
//! Its routes, below `/hooks/<name>` on the public listener:
//!
//! - `GET /manifest`: the app's manifest (features `synchronization` and
//!   `synchronization_full`, the events it consumes, its URL);
//! - `POST /handshake`: an installation's shared secret, kept sealed;
//! - `GET|POST /configuration`: the app asks for no configuration;
//! - `PUT /consume/{event}`: every call, verified (the installation's HS256 token), its events
//!   validated against seed 002's schemas, folded into the catalog, and the records they
//!   changed stored in the inbox before the 2xx.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};
use syncd_core::{
    BuildContext, Capabilities, Catalog, ConfigError, Connector, ConnectorFactory, EntityKind,
    InboundEvent, Record, WebhookError, WebhookReceiver, WebhookReply, WebhookRequest,
};

use crate::catalog::{CatalogStore, Change};
use crate::config::PimConfig;
use crate::fold::Kind;
use crate::schemas;
use crate::token::{self, Refusal};

/// Builds PIM connectors (`kind = "pim"`).
pub struct PimFactory;

impl ConnectorFactory for PimFactory {
    fn kind(&self) -> &'static str {
        "pim"
    }

    fn about(&self) -> &'static str {
        "Ergonode PIM: the daemon as an Ergonode app; synchronization events verified, validated against the seed's schemas and folded into a catalog of products, attributes and categories"
    }

    fn keys(&self) -> &'static [syncd_core::KeyDoc] {
        crate::config::KEYS
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn Connector>, Vec<ConfigError>> {
        let config = PimConfig::from_section(&ctx.section)?;
        Ok(Arc::new(PimConnector {
            catalog: CatalogStore::new(ctx.data_dir, config.encryption_key.expose()),
            name: ctx.name,
            config,
        }))
    }
}

/// The events the app consumes (the manifest's `events`, one `PUT /consume/…` each).
pub const CONSUMED: [&str; 15] = [
    "attribute_created",
    "attribute_updated",
    "attribute_deleted",
    "category_created",
    "category_updated",
    "category_deleted",
    "product_created",
    "product_updated",
    "product_deleted",
    "synchronization_started",
    "synchronization_ended",
    "app_installed",
    "app_uninstalled",
    "configuration_changed",
    "synchronization_failed",
];

/// The app: its catalog, and the installations that may call it.
pub struct PimConnector {
    name: String,
    config: PimConfig,
    catalog: CatalogStore,
}

fn unavailable(e: String) -> WebhookError {
    WebhookError::Unavailable(e)
}

impl PimConnector {
    /// The catalog (for tests and benchmarks).
    pub fn store(&self) -> &CatalogStore {
        &self.catalog
    }

    fn manifest(&self, request: &WebhookRequest) -> Value {
        let url = self.config.app_url.clone().unwrap_or_else(|| {
            let host = request.header("host").unwrap_or("127.0.0.1");
            format!("http://{host}/hooks/{}", self.name)
        });
        json!({
            "name": self.config.app_name,
            "description": self.config.description,
            "version": self.config.version,
            "compatible": "0.0.0",
            "configuration_schema": [],
            "features": ["synchronization", "synchronization_full"],
            "events": CONSUMED,
            "write_access": false,
            "url": url,
        })
    }

    /// The verified claims of `request`'s token (the installation's secret being `secret`, or
    /// that installation's when `None`).
    fn verified(
        &self,
        request: &WebhookRequest,
        secret: Option<&[u8]>,
    ) -> Result<token::Claims, WebhookError> {
        let refused = |r: Refusal| WebhookError::Unauthorized(r.to_string());
        let jwt = request
            .header("x-app-token")
            .ok_or(Refusal::Missing)
            .map_err(refused)?;
        let installation = token::claimed_installation(jwt).map_err(refused)?;
        let stored;
        let secret = match secret {
            Some(s) => s,
            None => {
                stored = self
                    .catalog
                    .installation_secret(&installation)
                    .map_err(unavailable)?
                    .ok_or(Refusal::UnknownInstallation(installation))
                    .map_err(refused)?;
                &stored
            }
        };
        token::verify(jwt, secret, self.config.leeway_secs).map_err(refused)
    }

    fn handshake(&self, request: &WebhookRequest) -> Result<WebhookReply, WebhookError> {
        let body: Value = serde_json::from_slice(&request.body)
            .map_err(|e| WebhookError::BadRequest(format!("the handshake is not JSON: {e}")))?;
        let secret = body["shared_secret"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| WebhookError::BadRequest("`shared_secret` is missing".into()))?;
        // The token is signed with the secret it brings: it proves the two belong together.
        let claims = self.verified(request, Some(secret.as_bytes()))?;
        self.catalog
            .put_installation(
                &claims.app_installation_id,
                secret,
                claims.api_url.as_deref(),
            )
            .map_err(unavailable)?;
        tracing::info!(connector = %self.name, installation = %claims.app_installation_id, "Ergonode installation kept");
        Ok(WebhookReply {
            status: 200,
            body: json!({ "installed": claims.app_installation_id }),
        })
    }

    fn events_of(changes: Vec<Change>, origin: &str) -> Vec<InboundEvent> {
        changes
            .into_iter()
            .enumerate()
            .map(|(n, change)| InboundEvent {
                id: format!("{origin}#{n}:{}", change.record.key()),
                payload: json!({ "record": change.record, "deleted": change.deleted }),
            })
            .collect()
    }

    /// One `PUT /consume/{endpoint}` call.
    fn consume(
        &self,
        endpoint: &str,
        claims: &token::Claims,
        body: &Value,
    ) -> Result<Vec<InboundEvent>, WebhookError> {
        let sync = claims.synchronization_id.as_deref();
        let origin = format!(
            "{}:{}:{endpoint}:{}",
            claims.app_installation_id,
            sync.unwrap_or("-"),
            body["resource_id"]["id"].as_str().unwrap_or("-")
        );
        match endpoint {
            "app_installed" | "configuration_changed" | "synchronization_failed" => Ok(Vec::new()),
            "app_uninstalled" => {
                self.catalog
                    .remove_installation(&claims.app_installation_id)
                    .map_err(unavailable)?;
                Ok(Vec::new())
            }
            "synchronization_started" => {
                if full_synchronization(body) {
                    let id = sync.ok_or_else(|| {
                        WebhookError::BadRequest(
                            "a full synchronization without `synchronization_id`".into(),
                        )
                    })?;
                    self.catalog.begin_full(id).map_err(unavailable)?;
                }
                Ok(Vec::new())
            }
            "synchronization_ended" => match sync {
                Some(id) => {
                    let changes = self.catalog.end(id).map_err(unavailable)?;
                    syncd_core::crash::point("catalog_applied");
                    Ok(Self::events_of(changes, &origin))
                }
                None => Ok(Vec::new()),
            },
            _ => {
                let kind = Kind::of_endpoint(endpoint)
                    .ok_or_else(|| WebhookError::NoRoute(format!("/consume/{endpoint}")))?;
                let id = body["resource_id"]["id"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| {
                        WebhookError::BadRequest("`resource_id.id` is missing".into())
                    })?;
                let events = body["synchronization"]["events"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let mut known = Vec::with_capacity(events.len());
                for (i, event) in events.iter().enumerate() {
                    match schemas::check(event, i) {
                        Ok(true) => known.push(event.clone()),
                        Ok(false) => {
                            let event_type = event["type"].as_str().unwrap_or("?");
                            let count = self
                                .catalog
                                .count_unknown(event_type)
                                .map_err(unavailable)?;
                            tracing::warn!(connector = %self.name, event_type, count, "an event type seed 002 does not list: recorded, not applied");
                        }
                        Err(invalid) => return Err(WebhookError::BadRequest(invalid.to_string())),
                    }
                }
                let change = self
                    .catalog
                    .apply(sync, kind, id, &known, endpoint.ends_with("_deleted"))
                    .map_err(unavailable)?;
                syncd_core::crash::point("catalog_applied");
                Ok(Self::events_of(change.into_iter().collect(), &origin))
            }
        }
    }
}

/// Whether a `synchronization_started` body opens a full synchronization (`synchronization_full`
/// feature): the framework's body is not documented, so the common spellings are read.
fn full_synchronization(body: &Value) -> bool {
    let says_full = |v: &Value| {
        v.as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("full") || s == "synchronization_full")
            || v.as_bool() == Some(true)
    };
    ["full", "type", "mode", "kind", "synchronization_type"]
        .iter()
        .any(|k| says_full(&body[*k]) || says_full(&body["synchronization"][*k]))
}

#[async_trait]
impl Connector for PimConnector {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            reads: vec![
                EntityKind::Product,
                EntityKind::Attribute,
                EntityKind::Category,
            ],
            writes: vec![],
            max_batch: 1,
        }
    }

    fn webhooks(&self) -> Option<&dyn WebhookReceiver> {
        Some(self)
    }

    fn catalog(&self) -> Option<&dyn Catalog> {
        Some(self)
    }
}

impl Catalog for PimConnector {
    fn knows_sku(&self, sku: &str) -> Result<bool, String> {
        self.catalog.knows_sku(sku)
    }
}

#[async_trait]
impl WebhookReceiver for PimConnector {
    async fn reply(&self, request: &WebhookRequest) -> Option<Result<WebhookReply, WebhookError>> {
        let path = request.path.trim_end_matches('/');
        Some(match (request.method.as_str(), path) {
            ("GET", "/manifest") | ("GET", "") => Ok(WebhookReply {
                status: 200,
                body: self.manifest(request),
            }),
            ("POST", "/handshake") => self.handshake(request),
            ("GET", "/configuration") => self.verified(request, None).map(|_| WebhookReply {
                status: 200,
                body: json!([]),
            }),
            ("POST", "/configuration") => self.verified(request, None).map(|_| WebhookReply {
                status: 200,
                body: json!({}),
            }),
            _ => return None,
        })
    }

    async fn accept(&self, request: &WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError> {
        let Some(endpoint) = request.path.strip_prefix("/consume/") else {
            return Err(WebhookError::NoRoute(request.path.clone()));
        };
        // Verified before anything is read or kept.
        let claims = self.verified(request, None)?;
        let body: Value = serde_json::from_slice(&request.body).map_err(|e| {
            WebhookError::BadRequest(format!("`/consume/{endpoint}`: not JSON: {e}"))
        })?;
        self.consume(endpoint, &claims, &body)
    }

    fn entities(&self) -> Vec<EntityKind> {
        vec![
            EntityKind::Product,
            EntityKind::Attribute,
            EntityKind::Category,
        ]
    }

    fn decode(&self, event: &InboundEvent) -> Result<Record, String> {
        serde_json::from_value(event.payload["record"].clone())
            .map_err(|e| format!("stored catalog event {}: {e}", event.id))
    }

    fn deleted(&self, event: &InboundEvent) -> bool {
        event.payload["deleted"].as_bool() == Some(true)
    }
}
