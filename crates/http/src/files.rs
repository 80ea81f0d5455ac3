//! Files a vendor downloads without credentials (a NewStore import, a ShipHero inventory-sync
//! CSV): served at an unguessable name (128 random bits) until withdrawn or their time to live
//! passes, then 404. One registry per process; the files are served at `/files/<name>` by the
//! daemon's public listener when it runs (it mounts [`router`] and says so with
//! [`serve_publicly`]), and otherwise, or when a connector asks for an address of its own, by a
//! listener the host starts on first use (`syncd once` has no public listener).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use syncd_core::ConnectorError;

struct File {
    bytes: Arc<Vec<u8>>,
    content_type: &'static str,
    until: Instant,
}

fn files() -> &'static Mutex<HashMap<String, File>> {
    static FILES: OnceLock<Mutex<HashMap<String, File>>> = OnceLock::new();
    FILES.get_or_init(Mutex::default)
}

fn public() -> &'static Mutex<Option<SocketAddr>> {
    static PUBLIC: OnceLock<Mutex<Option<SocketAddr>>> = OnceLock::new();
    PUBLIC.get_or_init(Mutex::default)
}

/// The daemon's public listener serves [`router`] at `addr`: files published from now on are
/// offered there, unless their host was given an address of its own.
pub fn serve_publicly(addr: SocketAddr) {
    *public().lock().expect("public lock") = Some(addr);
}

/// `GET /files/{name}`: the routes that serve the published files.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/files/{name}", get(serve))
}

async fn serve(Path(name): Path<String>) -> Response {
    let now = syncd_core::clock::instant();
    let found = files()
        .lock()
        .expect("files lock")
        .get(&name)
        .filter(|f| now < f.until)
        .map(|f| (f.content_type, f.bytes.clone()));
    match found {
        Some((content_type, bytes)) => {
            ([(header::CONTENT_TYPE, content_type)], bytes.to_vec()).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// One listener of the host's own, per fixed address in the process (a new one for port 0).
struct Listener {
    listen: String,
    addr: tokio::sync::OnceCell<SocketAddr>,
}

impl Listener {
    fn of(listen: &str) -> Arc<Listener> {
        let new = || {
            Arc::new(Listener {
                listen: listen.to_string(),
                addr: tokio::sync::OnceCell::new(),
            })
        };
        if listen.ends_with(":0") {
            return new();
        }
        static LISTENERS: OnceLock<Mutex<HashMap<String, Arc<Listener>>>> = OnceLock::new();
        LISTENERS
            .get_or_init(Mutex::default)
            .lock()
            .expect("listeners lock")
            .entry(listen.to_string())
            .or_insert_with(new)
            .clone()
    }

    async fn addr(&self, context: &str) -> Result<SocketAddr, ConnectorError> {
        self.addr
            .get_or_try_init(|| async {
                let listener = tokio::net::TcpListener::bind(&self.listen)
                    .await
                    .map_err(|e| {
                        ConnectorError::retryable(
                            context,
                            format!("cannot listen on {}: {e}", self.listen),
                        )
                    })?;
                let addr = listener
                    .local_addr()
                    .map_err(|e| ConnectorError::io(context, &e))?;
                let app: Router = router();
                tokio::spawn(async move {
                    let _ = axum::serve(listener, app).await;
                });
                tracing::info!(%addr, "serving files for vendors to download");
                Ok(addr)
            })
            .await
            .copied()
    }
}

fn unguessable(context: &str) -> Result<String, ConnectorError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| ConnectorError::retryable(context, format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A published file: its URL, and its name for [`FileHost::withdraw`].
#[derive(Clone, Debug)]
pub struct Published {
    /// Where the vendor downloads it.
    pub url: String,
    name: String,
}

/// Where a connector's files are offered, and for how long.
pub struct FileHost {
    context: String,
    own: Option<Arc<Listener>>,
    fallback: String,
    public_base: Option<String>,
    ttl: Duration,
    content_type: &'static str,
}

impl FileHost {
    /// A host whose files live `ttl` and are offered at `public_base` when given (a proxy the
    /// vendor reaches), else at the listener that serves them: `listen` when given, else the
    /// daemon's public listener, else one started on `fallback`. `context` names the
    /// connector in errors.
    pub fn new(
        context: impl Into<String>,
        listen: Option<String>,
        fallback: impl Into<String>,
        public_base: Option<String>,
        ttl: Duration,
        content_type: &'static str,
    ) -> Self {
        FileHost {
            context: context.into(),
            own: listen.map(|l| Listener::of(&l)),
            fallback: fallback.into(),
            public_base,
            ttl,
            content_type,
        }
    }

    /// The base URL files are offered at now.
    async fn base(&self) -> Result<String, ConnectorError> {
        if let Some(base) = &self.public_base {
            return Ok(base.trim_end_matches('/').to_string());
        }
        let public = *public().lock().expect("public lock");
        let addr = match (&self.own, public) {
            (Some(own), _) => own.addr(&self.context).await?,
            (None, Some(addr)) => addr,
            (None, None) => Listener::of(&self.fallback).addr(&self.context).await?,
        };
        Ok(format!("http://{addr}"))
    }

    /// Serves `bytes` as `<random>.<extension>` until withdrawn or the time to live passes.
    pub async fn publish(
        &self,
        bytes: Vec<u8>,
        extension: &str,
    ) -> Result<Published, ConnectorError> {
        let name = format!("{}.{extension}", unguessable(&self.context)?);
        self.publish_as(&name, bytes).await
    }

    /// A fresh unguessable name for [`FileHost::publish_as`] (128 random bits).
    pub fn fresh_name(&self, extension: &str) -> Result<String, ConnectorError> {
        Ok(format!("{}.{extension}", unguessable(&self.context)?))
    }

    /// Serves `bytes` as `name` (one from [`FileHost::fresh_name`], kept across a restart so
    /// that a vendor still fetching the old URL finds the file again).
    pub async fn publish_as(
        &self,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<Published, ConnectorError> {
        let base = self.base().await?;
        let name = name.to_string();
        let now = syncd_core::clock::instant();
        let mut files = files().lock().expect("files lock");
        files.retain(|_, f| now < f.until);
        files.insert(
            name.clone(),
            File {
                bytes: Arc::new(bytes),
                content_type: self.content_type,
                until: now + self.ttl,
            },
        );
        Ok(Published {
            url: format!("{base}/files/{name}"),
            name,
        })
    }

    /// Stops serving a file (the vendor has it: its import or sync ended).
    pub fn withdraw(&self, published: &Published) {
        self.withdraw_name(&published.name);
    }

    /// Stops serving the file published as `name`.
    pub fn withdraw_name(&self, name: &str) {
        files().lock().expect("files lock").remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_published_file_is_served_until_withdrawn_then_404() {
        let host = FileHost::new(
            "test",
            Some("127.0.0.1:0".into()),
            "127.0.0.1:0",
            None,
            Duration::from_secs(60),
            "text/csv",
        );
        let published = host
            .publish(b"sku,quantity\n".to_vec(), "csv")
            .await
            .unwrap();
        let name = published.url.rsplit('/').next().unwrap();
        assert_eq!(
            name.len(),
            32 + 4,
            "128 random bits in hex, and the extension"
        );
        let get = || async { reqwest::get(&published.url).await.unwrap() };
        let answer = get().await;
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers()["content-type"], "text/csv");
        assert_eq!(answer.text().await.unwrap(), "sku,quantity\n");
        host.withdraw(&published);
        assert_eq!(get().await.status(), 404);
    }

    #[tokio::test]
    async fn a_file_past_its_time_to_live_is_404() {
        let host = FileHost::new(
            "test",
            Some("127.0.0.1:0".into()),
            "127.0.0.1:0",
            None,
            Duration::ZERO,
            "text/csv",
        );
        let published = host.publish(b"x".to_vec(), "csv").await.unwrap();
        assert_eq!(reqwest::get(&published.url).await.unwrap().status(), 404);
    }
}
