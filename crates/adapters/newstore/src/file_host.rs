//! Import files, served over HTTP at unguessable, expiring URLs for NewStore to download. The
//! server runs in this process on its own listener (`file_listen`): NewStore must reach it,
//! while the admin API stays on loopback; it starts with the first import, so `syncd once`
//! serves files as well as the daemon.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use syncd_core::ConnectorError;

type Files = Arc<Mutex<HashMap<String, (Vec<u8>, Instant)>>>;

/// The served files and, once started, the base URL they are served at.
pub struct FileHost {
    listen: String,
    public_base: Option<String>,
    ttl: Duration,
    files: Files,
    base: tokio::sync::OnceCell<String>,
}

async fn serve(State(files): State<Files>, Path(name): Path<String>) -> Response {
    let files = files.lock().expect("files lock");
    match files.get(&name) {
        Some((bytes, until)) if Instant::now() < *until => {
            ([(header::CONTENT_TYPE, "application/zip")], bytes.clone()).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn unguessable() -> Result<String, ConnectorError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| ConnectorError::retryable("newstore files", format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl FileHost {
    /// A host listening on `listen` once needed.
    pub fn new(listen: String, public_base: Option<String>, ttl: Duration) -> Self {
        FileHost {
            listen,
            public_base,
            ttl,
            files: Arc::default(),
            base: tokio::sync::OnceCell::new(),
        }
    }

    async fn base(&self) -> Result<&str, ConnectorError> {
        self.base
            .get_or_try_init(|| async {
                let listener = tokio::net::TcpListener::bind(&self.listen)
                    .await
                    .map_err(|e| {
                        ConnectorError::retryable(
                            "newstore files",
                            format!("cannot listen on {}: {e}", self.listen),
                        )
                    })?;
                let addr = listener
                    .local_addr()
                    .map_err(|e| ConnectorError::io("newstore files", &e))?;
                let app = Router::new()
                    .route("/imports/{name}", get(serve))
                    .with_state(self.files.clone());
                tokio::spawn(async move {
                    let _ = axum::serve(listener, app).await;
                });
                tracing::info!(%addr, "serving NewStore import files");
                Ok(self
                    .public_base
                    .clone()
                    .unwrap_or_else(|| format!("http://{addr}"))
                    .trim_end_matches('/')
                    .to_string())
            })
            .await
            .map(String::as_str)
    }

    /// Serves `bytes` until the time to live passes; returns their URL.
    pub async fn publish(&self, bytes: Vec<u8>) -> Result<String, ConnectorError> {
        let base = self.base().await?.to_string();
        let name = format!("{}.zip", unguessable()?);
        let mut files = self.files.lock().expect("files lock");
        let now = Instant::now();
        files.retain(|_, (_, until)| now < *until);
        files.insert(name.clone(), (bytes, now + self.ttl));
        Ok(format!("{base}/imports/{name}"))
    }
}
