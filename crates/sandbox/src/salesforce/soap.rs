//! The SOAP login jsforce falls back to without a connected app: `POST
//! /services/Soap/u/{version}` with a `<login>` envelope of the partner API. The answer carries
//! the `serverUrl` (its scheme and host are the instance URL), `sessionId`, `userId`,
//! `organizationId` and `passwordExpired` jsforce reads; a refusal is a SOAP fault with a
//! `faultstring`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Salesforce;

/// The text of the first `<name>` element (any namespace prefix), unescaped.
fn element(xml: &str, name: &str) -> Option<String> {
    let open = xml.find(&format!("{name}>")).and_then(|at| {
        let before = &xml[..at];
        // The tag opens at the last `<` before it, and is not a closing tag.
        let lt = before.rfind('<')?;
        (!xml[lt..].starts_with("</")).then_some(at + name.len() + 1)
    })?;
    let close = xml[open..].find("</")? + open;
    Some(
        xml[open..close]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

fn fault(code: &str, message: &str) -> Response {
    xml(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#,
            escape(message)
        ),
    )
}

/// `POST /services/Soap/u/{version}`.
pub async fn login(
    State(sf): State<Arc<Salesforce>>,
    Path(version): Path<String>,
    body: Bytes,
) -> Response {
    let text = String::from_utf8_lossy(&body);
    if !text.contains("login") {
        return fault("INVALID_OPERATION", "only login is served here");
    }
    let c = &sf.config;
    let (Some(username), Some(password)) = (element(&text, "username"), element(&text, "password"))
    else {
        return fault(
            "INVALID_LOGIN",
            "Invalid username, password, security token; or user locked out.",
        );
    };
    if username != c.username || password != format!("{}{}", c.password, c.security_token) {
        return fault(
            "INVALID_LOGIN",
            "Invalid username, password, security token; or user locked out.",
        );
    }
    let session = sf.tokens.lock().expect("tokens lock").issue();
    let server = format!("{}/services/Soap/u/{version}/{}", sf.url(), c.org_id);
    xml(
        StatusCode::OK,
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result><metadataServerUrl>{server}</metadataServerUrl><passwordExpired>false</passwordExpired><sandbox>true</sandbox><serverUrl>{server}</serverUrl><sessionId>{}</sessionId><userId>{}</userId><userInfo><organizationId>{}</organizationId><userName>{}</userName></userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"#,
            escape(&session),
            c.user_id,
            c.org_id,
            escape(&c.username)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_found_with_any_prefix_and_unescaped() {
        let envelope = r#"<se:Envelope><se:Body><login xmlns="urn:partner.soap.sforce.com"><username>a&amp;b@x.io</username><password>p&lt;w</password></login></se:Body></se:Envelope>"#;
        assert_eq!(element(envelope, "username").as_deref(), Some("a&b@x.io"));
        assert_eq!(element(envelope, "password").as_deref(), Some("p<w"));
        assert_eq!(element(envelope, "sessionId"), None);
    }
}
