//! The running daemon's admin API, as the operator commands call it.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A client of one daemon's admin API.
pub struct Remote {
    base: String,
    client: reqwest::Client,
}

impl Remote {
    /// A client of the admin API at `addr`, sending `token` (`[daemon] admin_token`) as its
    /// bearer when there is one.
    pub fn new(addr: SocketAddr, token: Option<&str>) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(token) = token {
            if let Ok(mut value) =
                reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
            {
                value.set_sensitive(true);
                headers.insert(reqwest::header::AUTHORIZATION, value);
            }
        }
        Remote {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .default_headers(headers)
                .build()
                .expect("a plain HTTP client builds"),
        }
    }

    async fn answer<T: DeserializeOwned>(
        &self,
        what: &str,
        response: reqwest::Response,
    ) -> anyhow::Result<T> {
        let status = response.status();
        let body = response
            .bytes()
            .await
            .with_context(|| format!("{what}: reading the answer"))?;
        if !status.is_success() {
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            anyhow::bail!("the daemon refused {what}: {message} ({status})");
        }
        serde_json::from_slice(&body).with_context(|| format!("{what}: unexpected answer"))
    }

    /// `GET path`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .with_context(|| format!("asking the running daemon at {} for {path}", self.base))?;
        self.answer(path, response).await
    }

    /// `POST path` with a JSON body.
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .with_context(|| format!("asking the running daemon at {} for {path}", self.base))?;
        self.answer(path, response).await
    }

    /// A request with a JSON body whose answer carries nothing.
    pub async fn send<B: Serialize>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &B,
    ) -> anyhow::Result<()> {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .with_context(|| format!("asking the running daemon at {} for {path}", self.base))?;
        let _: serde_json::Value = self.answer(path, response).await?;
        Ok(())
    }
}
