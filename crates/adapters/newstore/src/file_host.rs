//! Import files, served over HTTP at unguessable names for NewStore to download: kept until
//! their import ends (or the time to live passes, for an import nobody saw end). The server
//! runs in this process on its own listener (`file_listen`): NewStore must reach it while the
//! admin API stays on loopback, and `syncd once` serves files as well as the daemon. It starts
//! with the first import; connectors rebuilt by a reload share the server of their address.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use syncd_core::ConnectorError;

type Files = Arc<Mutex<HashMap<String, (Vec<u8>, Instant)>>>;

/// One listener and the files it serves.
struct Server {
    listen: String,
    files: Files,
    addr: tokio::sync::OnceCell<std::net::SocketAddr>,
}

impl Server {
    /// The server of `listen`: one per fixed address in the process, a new one for port 0.
    fn of(listen: &str) -> Arc<Server> {
        let new = || {
            Arc::new(Server {
                listen: listen.to_string(),
                files: Arc::default(),
                addr: tokio::sync::OnceCell::new(),
            })
        };
        if listen.ends_with(":0") {
            return new();
        }
        static SERVERS: OnceLock<Mutex<HashMap<String, Arc<Server>>>> = OnceLock::new();
        SERVERS
            .get_or_init(Mutex::default)
            .lock()
            .expect("servers lock")
            .entry(listen.to_string())
            .or_insert_with(new)
            .clone()
    }

    async fn addr(&self) -> Result<std::net::SocketAddr, ConnectorError> {
        self.addr
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
                Ok(addr)
            })
            .await
            .copied()
    }
}

async fn serve(State(files): State<Files>, Path(name): Path<String>) -> Response {
    let files = files.lock().expect("files lock");
    match files.get(&name) {
        Some((bytes, until)) if syncd_core::clock::instant() < *until => {
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

/// A published file: its URL, and its name for [`FileHost::withdraw`].
pub struct Published {
    /// Where NewStore downloads it.
    pub url: String,
    name: String,
}

/// The files of one connector.
pub struct FileHost {
    server: Arc<Server>,
    public_base: Option<String>,
    ttl: Duration,
}

impl FileHost {
    /// A host on `listen`, reached at `public_base` (or the listener's own address).
    pub fn new(listen: String, public_base: Option<String>, ttl: Duration) -> Self {
        FileHost {
            server: Server::of(&listen),
            public_base,
            ttl,
        }
    }

    /// Serves `bytes` until withdrawn or the time to live passes.
    pub async fn publish(&self, bytes: Vec<u8>) -> Result<Published, ConnectorError> {
        let addr = self.server.addr().await?;
        let base = self
            .public_base
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let name = format!("{}.zip", unguessable()?);
        let mut files = self.server.files.lock().expect("files lock");
        let now = syncd_core::clock::instant();
        files.retain(|_, (_, until)| now < *until);
        files.insert(name.clone(), (bytes, now + self.ttl));
        Ok(Published {
            url: format!("{}/imports/{name}", base.trim_end_matches('/')),
            name,
        })
    }

    /// Stops serving a file (its import ended: NewStore has it).
    pub fn withdraw(&self, published: &Published) {
        self.server
            .files
            .lock()
            .expect("files lock")
            .remove(&published.name);
    }
}
