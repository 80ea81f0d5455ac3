//! The REST endpoints: the OAuth token endpoint (password, client credentials and refresh
//! token grants), the versions list, `query`/`queryAll` with query locators, single-record
//! create, read, update and delete, and `/limits`. Errors are Salesforce's:
//! `[{"message", "errorCode", "fields"}]`, OAuth's `{"error", "error_description"}`; every API
//! answer counts against the daily budget and says so in `Sforce-Limit-Info`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query as UrlQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};

use super::store::SfError;
use super::{soql, Salesforce};

/// Runs a request, then posts the units of what it wrote, as the managed package does: after
/// the handler has answered and let go of every lock.
pub async fn push_after(
    State(sf): State<Arc<Salesforce>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    sf.push_changes();
    response
}

/// The managed package's outbound target, set by `PUT /_sandbox/push_to`.
#[derive(serde::Deserialize)]
pub struct PushTarget {
    url: String,
    secret: String,
}

/// `PUT /_sandbox/push_to` `{url, secret}`: from now on every change posts its unit to `url`
/// with `Authorization: Bearer <secret>` (a sandbox control, not a Salesforce endpoint).
pub async fn push_to(
    State(sf): State<Arc<Salesforce>>,
    Json(target): Json<PushTarget>,
) -> Response {
    sf.pushes.lock().expect("push lock").target = Some((target.url, target.secret));
    StatusCode::NO_CONTENT.into_response()
}

/// An API error answer.
pub fn errors(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!([{"message": message, "errorCode": code, "fields": []}])),
    )
        .into_response()
}

/// A refusal, answered in Salesforce's error shape.
pub struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        errors(self.status, self.code, &self.message)
    }
}

/// A refusal of `code` with `status`, for handlers outside this module too.
pub(super) fn refusal(
    status: StatusCode,
    code: &'static str,
    message: impl Into<String>,
) -> Refusal {
    Refusal {
        status,
        code,
        message: message.into(),
    }
}

fn from(e: SfError) -> Response {
    let status = match e.code {
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    errors(status, e.code, &e.message)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// `POST /services/oauth2/token`.
pub async fn token(State(sf): State<Arc<Salesforce>>, body: Bytes) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let c = &sf.config;
    let client_ok = form.get("client_id") == Some(&c.client_id);
    let secret_ok = form.get("client_secret") == Some(&c.client_secret);
    let grant = form.get("grant_type").map(String::as_str).unwrap_or("");
    match grant {
        "password" | "client_credentials" | "refresh_token" if !client_ok => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_client_id",
                "client identifier invalid",
            )
        }
        "password" | "client_credentials" if !secret_ok => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_client",
                "invalid client credentials",
            )
        }
        "password" => {
            let password = format!("{}{}", c.password, c.security_token);
            if form.get("username") != Some(&c.username) || form.get("password") != Some(&password)
            {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "authentication failure",
                );
            }
        }
        "client_credentials" => {}
        "refresh_token" => {
            let known = form
                .get("refresh_token")
                .is_some_and(|t| sf.tokens.lock().expect("tokens lock").refresh.contains(t));
            if !known {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "expired access/refresh token",
                );
            }
        }
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            if let Err(why) = check_assertion(&sf, form.get("assertion").map(String::as_str)) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &why);
            }
        }
        other => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("grant type not supported: {other}"),
            )
        }
    }
    let access = sf.tokens.lock().expect("tokens lock").issue();
    let instance = sf.url();
    Json(serde_json::json!({
        "access_token": access,
        "instance_url": instance,
        "id": format!("{instance}/id/{}/{}", c.org_id, c.user_id),
        "token_type": "Bearer",
        "issued_at": chrono::Utc::now().timestamp_millis().to_string(),
        "signature": "c2FuZGJveA==",
        "scope": "api",
    }))
    .into_response()
}

/// The claims a JWT bearer assertion carries.
#[derive(serde::Deserialize)]
struct Assertion {
    iss: String,
    sub: String,
}

/// Checks a JWT bearer assertion as Salesforce does: RS256 under the connected app's
/// certificate, `iss` its consumer key, `sub` a user of the org, `aud` the login host, `exp` in
/// the future.
fn check_assertion(sf: &Salesforce, assertion: Option<&str>) -> Result<(), String> {
    let assertion = assertion.ok_or("assertion missing")?;
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(sf.config.jwt_public_key.as_bytes())
        .map_err(|e| format!("the connected app has no usable certificate: {e}"))?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    let audiences = [
        "https://login.salesforce.com".to_string(),
        "https://test.salesforce.com".to_string(),
        sf.url(),
    ];
    validation.set_audience(&audiences);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let claims = jsonwebtoken::decode::<Assertion>(assertion, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidAudience => "audience is invalid".to_string(),
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => "expired assertion".to_string(),
            _ => format!("invalid assertion: {e}"),
        })?
        .claims;
    if claims.iss != sf.config.client_id {
        return Err("client identifier invalid".into());
    }
    if claims.sub != sf.config.username {
        return Err("user hasn't approved this consumer".into());
    }
    Ok(())
}

/// `GET /services/data/`: every version, no session needed.
pub async fn versions(State(sf): State<Arc<Salesforce>>) -> Response {
    Json(
        sf.config
            .api_versions
            .iter()
            .map(|v| serde_json::json!({"label": format!("API {v}"), "url": format!("/services/data/v{v}"), "version": v}))
            .collect::<Vec<_>>(),
    )
    .into_response()
}

/// The session's check, the version's, and the budget: an error answer, or the version.
pub(super) fn admit(
    sf: &Salesforce,
    headers: &HeaderMap,
    version: &str,
) -> Result<String, Refusal> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("OAuth "))
        });
    let valid = token.is_some_and(|t| {
        let mut tokens = sf.tokens.lock().expect("tokens lock");
        if sf.core.tokens_expire_now() {
            tokens.access.clear();
        }
        tokens.access.contains(t)
    });
    if !valid {
        return Err(refusal(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        ));
    }
    let version = version.strip_prefix('v').unwrap_or(version).to_string();
    if !sf.config.api_versions.contains(&version) {
        return Err(refusal(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        ));
    }
    let mut used = sf.api_calls.lock().expect("budget lock");
    if *used >= sf.config.daily_api_limit {
        return Err(refusal(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            format!(
                "TotalRequests Limit exceeded. Limit: {}",
                sf.config.daily_api_limit
            ),
        ));
    }
    *used += 1;
    Ok(version)
}

/// `response` with `Sforce-Limit-Info`, which every REST answer but `/services/data/` carries.
pub(super) fn with_limit_info(sf: &Salesforce, mut response: Response) -> Response {
    let used = *sf.api_calls.lock().expect("budget lock");
    if let Ok(value) =
        HeaderValue::from_str(&format!("api-usage={used}/{}", sf.config.daily_api_limit))
    {
        response.headers_mut().insert("sforce-limit-info", value);
    }
    response
}

/// `?q=`.
#[derive(serde::Deserialize)]
pub struct Soql {
    q: String,
}

fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|p| p.trim().strip_prefix("batchSize="))
        })
        .and_then(|n| n.trim().parse::<usize>().ok())
        .map_or(2000, |n| n.clamp(200, 2000))
}

/// How long a query locator lives: "locator + results live 2 days; expired →
/// `INVALID_QUERY_LOCATOR`".
fn locator_life() -> chrono::Duration {
    chrono::Duration::days(2)
}

fn page(
    sf: &Salesforce,
    version: &str,
    locator: String,
    rows: Arc<Vec<Value>>,
    offset: usize,
    size: usize,
) -> Value {
    let total = rows.len();
    let end = (offset + size).min(total);
    let records: Vec<Value> = rows[offset..end].to_vec();
    let done = end >= total;
    let mut answer = serde_json::json!({"totalSize": total, "done": done, "records": records});
    if !done {
        answer["nextRecordsUrl"] =
            Value::String(format!("/services/data/v{version}/query/{locator}-{end}"));
        let now = sf.store.lock().expect("store lock").now();
        let mut open = sf.locators.lock().expect("locators lock");
        open.retain(|_, (_, opened)| now - *opened < locator_life());
        open.insert(locator, (rows, now));
    }
    answer
}

async fn run_query(
    sf: Arc<Salesforce>,
    headers: HeaderMap,
    version: String,
    q: String,
    all: bool,
) -> Response {
    let version = match admit(&sf, &headers, &version) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let query = match soql::parse(&q) {
        Ok(query) => query,
        Err(e) => {
            return with_limit_info(
                &sf,
                errors(StatusCode::BAD_REQUEST, "MALFORMED_QUERY", &e.to_string()),
            )
        }
    };
    // The store's lock ends before any answer is made: answering pushes what was written,
    // which takes the lock again.
    let result = sf
        .store
        .lock()
        .expect("store lock")
        .run(&query, all, &version);
    let rows = match result {
        Ok(rows) => rows,
        Err(e) => return with_limit_info(&sf, from(e)),
    };
    let locator = sf.next_locator();
    let answer = page(
        &sf,
        &version,
        locator,
        Arc::new(rows),
        0,
        batch_size(&headers),
    );
    with_limit_info(&sf, Json(answer).into_response())
}

/// `GET /services/data/{version}/query?q=`.
pub async fn query(
    State(sf): State<Arc<Salesforce>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    UrlQuery(q): UrlQuery<Soql>,
) -> Response {
    run_query(sf, headers, version, q.q, false).await
}

/// `GET /services/data/{version}/queryAll?q=`: deleted records too.
pub async fn query_all(
    State(sf): State<Arc<Salesforce>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    UrlQuery(q): UrlQuery<Soql>,
) -> Response {
    run_query(sf, headers, version, q.q, true).await
}

/// `GET /services/data/{version}/query/{locator}-{offset}`: the next page.
pub async fn more(
    State(sf): State<Arc<Salesforce>>,
    Path((version, next)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let version = match admit(&sf, &headers, &version) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let parsed = next
        .rsplit_once('-')
        .and_then(|(locator, offset)| Some((locator.to_string(), offset.parse::<usize>().ok()?)));
    let rows = parsed.as_ref().and_then(|(locator, _)| {
        let now = sf.store.lock().expect("store lock").now();
        sf.locators
            .lock()
            .expect("locators lock")
            .get(locator)
            .filter(|(_, opened)| now - *opened < locator_life())
            .map(|(rows, _)| rows.clone())
    });
    let (Some((locator, offset)), Some(rows)) = (parsed, rows) else {
        return with_limit_info(
            &sf,
            errors(
                StatusCode::BAD_REQUEST,
                "INVALID_QUERY_LOCATOR",
                "invalid query locator",
            ),
        );
    };
    if offset > rows.len() {
        return with_limit_info(
            &sf,
            errors(
                StatusCode::BAD_REQUEST,
                "INVALID_QUERY_LOCATOR",
                "invalid query locator",
            ),
        );
    }
    let answer = page(&sf, &version, locator, rows, offset, batch_size(&headers));
    with_limit_info(&sf, Json(answer).into_response())
}

fn object_body(body: &Bytes) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map.into_iter().filter(|(k, _)| k != "attributes").collect()),
        _ => Err(refusal(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            "The request body is not a JSON object",
        )),
    }
}

/// `POST /services/data/{version}/sobjects/{object}`: 201 `{id, success, errors}`.
pub async fn create(
    State(sf): State<Arc<Salesforce>>,
    Path((version, object)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = admit(&sf, &headers, &version) {
        return r.into_response();
    }
    let fields = match object_body(&body) {
        Ok(f) => f,
        Err(r) => return with_limit_info(&sf, r.into_response()),
    };
    let answer = match sf.store.lock().expect("store lock").insert(&object, fields) {
        Ok(id) => (
            StatusCode::CREATED,
            Json(serde_json::json!({"id": id, "success": true, "errors": []})),
        )
            .into_response(),
        Err(e) => from(e),
    };
    with_limit_info(&sf, answer)
}

/// `GET`, `PATCH` (204) and `DELETE` (204) `/services/data/{version}/sobjects/{object}/{id}`.
pub async fn record(
    State(sf): State<Arc<Salesforce>>,
    Path((version, object, id)): Path<(String, String, String)>,
    method: axum::http::Method,
    headers: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    body: Bytes,
) -> Response {
    let version = match admit(&sf, &headers, &version) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    if method == axum::http::Method::GET && matches!(id.as_str(), "updated" | "deleted") {
        let form: HashMap<String, String> =
            form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let w = Window {
            start: form.get("start").cloned().unwrap_or_default(),
            end: form.get("end").cloned().unwrap_or_default(),
        };
        return replication_answer(&sf, &object, &id, &w);
    }
    let mut store = sf.store.lock().expect("store lock");
    let answer = match method {
        axum::http::Method::GET => {
            let query = soql::Query {
                items: Vec::new(),
                from: object.clone(),
                filter: Some(soql::Condition::Compare(
                    vec!["Id".into()],
                    soql::Op::Eq,
                    soql::Literal::Text(super::ids::normalize(&id).unwrap_or(id.clone())),
                )),
                order: Vec::new(),
                limit: Some(1),
            };
            match store.run(&query, false, &version) {
                Ok(rows) if rows.is_empty() => errors(
                    StatusCode::NOT_FOUND,
                    "NOT_FOUND",
                    "The requested resource does not exist",
                ),
                Ok(_) => match store.fields(&object, &id) {
                    Some(mut fields) => {
                        fields.insert(
                            "attributes".into(),
                            serde_json::json!({"type": object, "url": format!("/services/data/v{version}/sobjects/{object}/{id}")}),
                        );
                        Json(Value::Object(fields)).into_response()
                    }
                    None => errors(
                        StatusCode::NOT_FOUND,
                        "NOT_FOUND",
                        "The requested resource does not exist",
                    ),
                },
                Err(e) => from(e),
            }
        }
        axum::http::Method::PATCH => match object_body(&body) {
            Ok(fields) => match store.update(&object, &id, fields) {
                Ok(()) => StatusCode::NO_CONTENT.into_response(),
                Err(e) => from(e),
            },
            Err(r) => r.into_response(),
        },
        axum::http::Method::DELETE => match store.delete(&object, &id) {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => from(e),
        },
        _ => errors(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "HTTP method not allowed",
        ),
    };
    drop(store);
    with_limit_info(&sf, answer)
}

/// `GET /services/data/{version}/limits`.
pub async fn limits(
    State(sf): State<Arc<Salesforce>>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = admit(&sf, &headers, &version) {
        return r.into_response();
    }
    let used = *sf.api_calls.lock().expect("budget lock");
    let max = sf.config.daily_api_limit;
    with_limit_info(
        &sf,
        Json(serde_json::json!({"DailyApiRequests": {"Max": max, "Remaining": max.saturating_sub(used)}})).into_response(),
    )
}

/// A version's number (`62.0` → 62.0) for behaviour that changed across versions.
fn version_number(version: &str) -> f64 {
    version.parse().unwrap_or(0.0)
}

/// `PATCH /services/data/{version}/sobjects/{object}/{field}/{value}`: upsert by external id.
pub async fn upsert_one(
    State(sf): State<Arc<Salesforce>>,
    Path((version, object, field, value)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let version = match admit(&sf, &headers, &version) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let fields = match object_body(&body) {
        Ok(f) => f,
        Err(r) => return with_limit_info(&sf, r.into_response()),
    };
    let result = sf
        .store
        .lock()
        .expect("store lock")
        .upsert(&object, &field, &value, fields);
    let answer = match result {
        Ok((id, true)) => (
            StatusCode::CREATED,
            Json(serde_json::json!({"id": id, "success": true, "errors": [], "created": true})),
        )
            .into_response(),
        // An update answers 204 before API 46.0, 200 with the result from it on.
        Ok((_, false)) if version_number(&version) < 46.0 => StatusCode::NO_CONTENT.into_response(),
        Ok((id, false)) => {
            Json(serde_json::json!({"id": id, "success": true, "errors": [], "created": false}))
                .into_response()
        }
        Err(e) if e.code == "MULTIPLE_CHOICES" => {
            errors(StatusCode::MULTIPLE_CHOICES, e.code, &e.message)
        }
        Err(e) => from(e),
    };
    with_limit_info(&sf, answer)
}

/// The most records one Collections call takes.
const COLLECTION_LIMIT: usize = 200;

/// `{"allOrNone", "records"}`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collection {
    #[serde(default)]
    all_or_none: bool,
    records: Vec<Value>,
}

fn record_result(result: Result<(String, Option<bool>), SfError>) -> Value {
    match result {
        Ok((id, created)) => {
            let mut v = serde_json::json!({"id": id, "success": true, "errors": []});
            if let Some(created) = created {
                v["created"] = Value::Bool(created);
            }
            v
        }
        Err(e) => serde_json::json!({
            "success": false,
            "errors": [{"statusCode": e.code, "message": e.message, "fields": e.fields}],
        }),
    }
}

/// Applies `each` to every record of a collection, in order; with `allOrNone`, a failure rolls
/// every other record back.
fn apply_collection(
    sf: &Salesforce,
    all_or_none: bool,
    records: Vec<Value>,
    mut each: impl FnMut(&mut super::store::Store, Value) -> Result<(String, Option<bool>), SfError>,
) -> Response {
    if records.len() > COLLECTION_LIMIT {
        return errors(
            StatusCode::BAD_REQUEST,
            "EXCEEDED_ID_LIMIT",
            &format!(
                "record limit exceeded: {} records, at most {COLLECTION_LIMIT}",
                records.len()
            ),
        );
    }
    let mut store = sf.store.lock().expect("store lock");
    let checkpoint = all_or_none.then(|| store.checkpoint());
    let results: Vec<Result<(String, Option<bool>), SfError>> =
        records.into_iter().map(|r| each(&mut store, r)).collect();
    let failed = results.iter().any(Result::is_err);
    let results: Vec<Value> = match (checkpoint, failed) {
        (Some(checkpoint), true) => {
            store.restore(checkpoint);
            results
                .into_iter()
                .map(|r| match r {
                    Err(e) => record_result(Err(e)),
                    Ok(_) => record_result(Err(SfError {
                        code: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        message: "Record rolled back because not all records were valid and the request was using AllOrNone header".into(),
                        fields: Vec::new(),
                    })),
                })
                .collect()
        }
        _ => results.into_iter().map(record_result).collect(),
    };
    Json(results).into_response()
}

fn type_of(record: &Value) -> Result<String, SfError> {
    record["attributes"]["type"]
        .as_str()
        .map(str::to_string)
        .ok_or(SfError {
            code: "INVALID_TYPE",
            message: "Each record must give attributes.type".into(),
            fields: Vec::new(),
        })
}

fn fields_of(record: Value) -> Map<String, Value> {
    match record {
        Value::Object(map) => map.into_iter().filter(|(k, _)| k != "attributes").collect(),
        _ => Map::new(),
    }
}

fn collection(body: &Bytes) -> Result<Collection, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        refusal(
            StatusCode::BAD_REQUEST,
            "JSON_PARSER_ERROR",
            format!("not a collection `{{allOrNone, records}}`: {e}"),
        )
    })
}

/// `POST` (create) and `PATCH` (update by `id`) `/services/data/{version}/composite/sobjects`.
pub async fn collection_write(
    State(sf): State<Arc<Salesforce>>,
    Path(version): Path<String>,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = admit(&sf, &headers, &version) {
        return r.into_response();
    }
    let collection = match collection(&body) {
        Ok(c) => c,
        Err(r) => return with_limit_info(&sf, r.into_response()),
    };
    let create = method == axum::http::Method::POST;
    let answer = apply_collection(
        &sf,
        collection.all_or_none,
        collection.records,
        |store, record| {
            let object = type_of(&record)?;
            if create {
                store
                    .insert(&object, fields_of(record))
                    .map(|id| (id, None))
            } else {
                let id = record["id"]
                    .as_str()
                    .or_else(|| record["Id"].as_str())
                    .map(str::to_string)
                    .ok_or(SfError {
                        code: "MISSING_ARGUMENT",
                        message: "Id not specified in an update call".into(),
                        fields: Vec::new(),
                    })?;
                let mut fields = fields_of(record);
                fields.remove("id");
                store.update(&object, &id, fields).map(|()| (id, None))
            }
        },
    );
    with_limit_info(&sf, answer)
}

/// `PATCH /services/data/{version}/composite/sobjects/{object}/{field}`: upsert by external id.
pub async fn collection_upsert(
    State(sf): State<Arc<Salesforce>>,
    Path((version, object, field)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = admit(&sf, &headers, &version) {
        return r.into_response();
    }
    let collection = match collection(&body) {
        Ok(c) => c,
        Err(r) => return with_limit_info(&sf, r.into_response()),
    };
    let answer = apply_collection(
        &sf,
        collection.all_or_none,
        collection.records,
        |store, record| {
            let kind = type_of(&record)?;
            if !kind.eq_ignore_ascii_case(&object) {
                return Err(SfError {
                    code: "INVALID_TYPE",
                    message: format!("this call upserts {object}, not {kind}"),
                    fields: Vec::new(),
                });
            }
            let value = match &record[field.as_str()] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => {
                    return Err(SfError {
                        code: "MISSING_ARGUMENT",
                        message: format!("{field} not specified"),
                        fields: vec![field.clone()],
                    })
                }
            };
            let mut fields = fields_of(record);
            fields.remove(&field);
            store
                .upsert(&object, &field, &value, fields)
                .map(|(id, created)| (id, Some(created)))
        },
    );
    with_limit_info(&sf, answer)
}

/// `?ids=a,b&allOrNone=`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ids {
    ids: String,
    #[serde(default)]
    all_or_none: bool,
}

/// `DELETE /services/data/{version}/composite/sobjects?ids=`.
pub async fn collection_delete(
    State(sf): State<Arc<Salesforce>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    UrlQuery(ids): UrlQuery<Ids>,
) -> Response {
    if let Err(r) = admit(&sf, &headers, &version) {
        return r.into_response();
    }
    let schema = sf.store.lock().expect("store lock").schema().clone();
    let records: Vec<Value> = ids
        .ids
        .split(',')
        .map(|id| Value::String(id.trim().to_string()))
        .collect();
    let answer = apply_collection(&sf, ids.all_or_none, records, |store, id| {
        let id = id.as_str().unwrap_or_default().to_string();
        let object = schema
            .objects
            .iter()
            .find(|o| id.starts_with(&o.key_prefix))
            .map(|o| o.name.clone())
            .ok_or(SfError {
                code: "MALFORMED_ID",
                message: format!("bad id {id}"),
                fields: Vec::new(),
            })?;
        store.delete(&object, &id).map(|()| (id, None))
    });
    with_limit_info(&sf, answer)
}

/// `GET /services/data/{version}/sobjects`.
pub async fn sobjects(
    State(sf): State<Arc<Salesforce>>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = admit(&sf, &headers, &version) {
        return r.into_response();
    }
    let schema = sf.store.lock().expect("store lock").schema().clone();
    let objects: Vec<Value> = schema
        .objects
        .iter()
        .map(|o| serde_json::json!({"name": o.name, "label": o.name.trim_end_matches("__c").replace('_', " "), "keyPrefix": o.key_prefix, "custom": o.name.ends_with("__c"), "queryable": true}))
        .collect();
    with_limit_info(
        &sf,
        Json(serde_json::json!({"encoding": "UTF-8", "maxBatchSize": COLLECTION_LIMIT, "sobjects": objects})).into_response(),
    )
}

/// `GET /services/data/{version}/sobjects/{object}/describe`.
pub async fn describe(
    State(sf): State<Arc<Salesforce>>,
    Path((version, object)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = admit(&sf, &headers, &version) {
        return r.into_response();
    }
    let described = sf.store.lock().expect("store lock").describe(&object);
    let Some(described) = described else {
        return with_limit_info(
            &sf,
            errors(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                &format!("The requested resource does not exist: {object}"),
            ),
        );
    };
    with_limit_info(&sf, Json(described).into_response())
}

/// `?start=&end=` of `/updated` and `/deleted`.
#[derive(serde::Deserialize)]
pub struct Window {
    start: String,
    end: String,
}

fn window(
    w: &Window,
) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), Refusal> {
    let parse = |t: &str| {
        soql::datetime(t)
            .map(|t| t.with_timezone(&chrono::Utc))
            .ok_or_else(|| {
                refusal(
                    StatusCode::BAD_REQUEST,
                    "INVALID_REPLICATION_DATE",
                    format!("`{t}` is not a date and time"),
                )
            })
    };
    Ok((parse(&w.start)?, parse(&w.end)?))
}

/// `GET /services/data/{version}/sobjects/{object}/updated/?start=&end=` and `…/deleted/?…`
/// (jsforce sends them without the trailing slash: `record` hands those here).
pub async fn replication(
    State(sf): State<Arc<Salesforce>>,
    Path((version, object, which)): Path<(String, String, String)>,
    headers: HeaderMap,
    UrlQuery(w): UrlQuery<Window>,
) -> Response {
    if let Err(r) = admit(&sf, &headers, &version) {
        return r.into_response();
    }
    replication_answer(&sf, &object, &which, &w)
}

fn replication_answer(sf: &Salesforce, object: &str, which: &str, w: &Window) -> Response {
    let (start, end) = match window(w) {
        Ok(range) => range,
        Err(r) => return with_limit_info(sf, r.into_response()),
    };
    let store = sf.store.lock().expect("store lock");
    let answer = match which {
        "updated" => match store.changed_between(object, start, end, false) {
            Ok(rows) => Json(serde_json::json!({
                "ids": rows.iter().map(|(id, _)| id).collect::<Vec<_>>(),
                "latestDateCovered": super::store::stamp(end.min(store.now())),
            }))
            .into_response(),
            Err(e) => from(e),
        },
        "deleted" => match store.changed_between(object, start, end, true) {
            Ok(rows) => Json(serde_json::json!({
                "deletedRecords": rows.iter().map(|(id, at)| serde_json::json!({"id": id, "deletedDate": at})).collect::<Vec<_>>(),
                "earliestDateAvailable": super::store::stamp(store.now() - chrono::Duration::days(15)),
                "latestDateCovered": super::store::stamp(end.min(store.now())),
            }))
            .into_response(),
            Err(e) => from(e),
        },
        _ => errors(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource does not exist"),
    };
    drop(store);
    with_limit_info(sf, answer)
}

/// `GET /services/data/{version}/`: the version's resources, each name mapped to its URL (the
/// keys Salesforce lists are not confirmed; these are the ones the simulator serves).
pub async fn version_root(
    State(sf): State<Arc<Salesforce>>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    let version = match admit(&sf, &headers, &version) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let base = format!("/services/data/v{version}");
    let c = &sf.config;
    let mut resources = Map::new();
    for name in [
        "sobjects",
        "query",
        "queryAll",
        "limits",
        "composite",
        "jobs",
    ] {
        resources.insert(name.into(), Value::String(format!("{base}/{name}")));
    }
    resources.insert(
        "identity".into(),
        Value::String(format!("{}/id/{}/{}", sf.url(), c.org_id, c.user_id)),
    );
    with_limit_info(&sf, Json(Value::Object(resources)).into_response())
}

/// The most ids one Collections retrieve takes.
const RETRIEVE_LIMIT: usize = 2000;

/// `{"ids", "fields"}` of a Collections retrieve.
#[derive(serde::Deserialize)]
pub struct Retrieve {
    ids: Vec<String>,
    fields: Vec<String>,
}

/// `POST /services/data/{version}/composite/sobjects/{object}` `{ids, fields}`: the records in
/// the order of `ids`, `null` where an id names no live record of `object`.
pub async fn collection_retrieve(
    State(sf): State<Arc<Salesforce>>,
    Path((version, object)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let version = match admit(&sf, &headers, &version) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let retrieve: Retrieve = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return with_limit_info(
                &sf,
                errors(
                    StatusCode::BAD_REQUEST,
                    "JSON_PARSER_ERROR",
                    &format!("not a retrieve `{{ids, fields}}`: {e}"),
                ),
            )
        }
    };
    if retrieve.ids.len() > RETRIEVE_LIMIT || retrieve.fields.is_empty() {
        let message = match retrieve.fields.is_empty() {
            true => "fields must name at least one field".to_string(),
            false => format!(
                "id limit exceeded: {} ids, at most {RETRIEVE_LIMIT}",
                retrieve.ids.len()
            ),
        };
        let code = match retrieve.fields.is_empty() {
            true => "MISSING_ARGUMENT",
            false => "EXCEEDED_ID_LIMIT",
        };
        return with_limit_info(&sf, errors(StatusCode::BAD_REQUEST, code, &message));
    }
    let wanted: Vec<String> = retrieve
        .ids
        .iter()
        .filter_map(|id| super::ids::normalize(id))
        .collect();
    // Id rides along so each record can be matched to its place in `ids`, then leaves again
    // unless it was asked for.
    let asked_id = retrieve.fields.iter().any(|f| f.eq_ignore_ascii_case("Id"));
    let mut items: Vec<soql::Item> = retrieve
        .fields
        .iter()
        .map(|f| soql::Item::Field(f.split('.').map(|p| p.trim().to_string()).collect()))
        .collect();
    if !asked_id {
        items.push(soql::Item::Field(vec!["Id".into()]));
    }
    let query = soql::Query {
        items,
        from: object.clone(),
        filter: Some(soql::Condition::In(
            vec!["Id".into()],
            wanted.into_iter().map(soql::Literal::Text).collect(),
            false,
        )),
        order: Vec::new(),
        limit: None,
    };
    let result = sf
        .store
        .lock()
        .expect("store lock")
        .run(&query, false, &version);
    let rows = match result {
        Ok(rows) => rows,
        Err(e) => return with_limit_info(&sf, from(e)),
    };
    let by_id: HashMap<String, Value> = rows
        .into_iter()
        .filter_map(|mut row| {
            let id = row["Id"].as_str()?.to_string();
            if !asked_id {
                if let Value::Object(fields) = &mut row {
                    fields.remove("Id");
                }
            }
            Some((id, row))
        })
        .collect();
    let answer: Vec<Value> = retrieve
        .ids
        .iter()
        .map(|id| {
            super::ids::normalize(id)
                .and_then(|id| by_id.get(&id).cloned())
                .unwrap_or(Value::Null)
        })
        .collect();
    with_limit_info(&sf, Json(answer).into_response())
}
