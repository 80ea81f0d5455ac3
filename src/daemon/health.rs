//! Connector health: every connector's `check` runs on an interval (and once at start); the
//! last result drives `/readyz` and the `connector_up` metric.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use syncd_engine::ConnectorHandle;

/// How long one check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// The last check of one connector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConnectorHealth {
    /// The connector.
    pub connector: String,
    /// Whether its last check passed.
    pub ok: bool,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was checked (RFC 3339).
    pub checked_at: String,
}

/// The last check of every connector.
#[derive(Default)]
pub struct Health {
    by_connector: Mutex<BTreeMap<String, ConnectorHealth>>,
}

impl Health {
    /// Checks every connector in `connectors` concurrently and keeps the results; connectors
    /// no longer configured are forgotten.
    pub async fn check_all(&self, connectors: &BTreeMap<String, ConnectorHandle>) {
        let mut checks = tokio::task::JoinSet::new();
        for (name, handle) in connectors {
            let (name, handle) = (name.clone(), handle.clone());
            checks.spawn(async move { check_one(name, handle).await });
        }
        let mut results = BTreeMap::new();
        while let Some(done) = checks.join_next().await {
            if let Ok(health) = done {
                results.insert(health.connector.clone(), health);
            }
        }
        *self.by_connector.lock().expect("health lock") = results;
    }

    /// Every connector's last check; a connector not checked yet is missing.
    pub fn snapshot(&self) -> BTreeMap<String, ConnectorHealth> {
        self.by_connector.lock().expect("health lock").clone()
    }

    /// The connectors that are not ready: failing, or not checked yet.
    pub fn failing(&self, connectors: &[String]) -> Vec<ConnectorHealth> {
        let map = self.snapshot();
        connectors
            .iter()
            .filter_map(|name| match map.get(name) {
                Some(h) if h.ok => None,
                Some(h) => Some(h.clone()),
                None => Some(ConnectorHealth {
                    connector: name.clone(),
                    ok: false,
                    error: Some("not checked yet".into()),
                    checked_at: String::new(),
                }),
            })
            .collect()
    }
}

async fn check_one(name: String, handle: ConnectorHandle) -> ConnectorHealth {
    let error = match tokio::time::timeout(CHECK_TIMEOUT, handle.connector.check()).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!(
            "check did not answer within {}s",
            CHECK_TIMEOUT.as_secs()
        )),
    };
    if let Some(e) = &error {
        tracing::warn!(connector = %name, error = %e, "connector check failed");
    }
    ConnectorHealth {
        connector: name,
        ok: error.is_none(),
        error,
        checked_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}
