//! `POST /graphql`: a query and its variables in, `data` or classified `errors` out. GraphQL
//! answers 200 with `errors` for every kind of failure, so the class comes from the errors:
//! a rate limit waits (what `extensions` asks, else a second), a query over Fluent's complexity
//! limit is the caller's to make smaller, a validation error is permanent, and anything else
//! (an internal error, a timeout) is retried.

use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use syncd_core::ConnectorError;

use crate::client::FluentClient;
use crate::wire::GraphqlAnswer;

/// Why a query gave no data.
#[derive(Debug)]
pub enum Failure {
    /// Over the complexity limit: ask for fewer nodes.
    TooComplex(ConnectorError),
    /// Anything else, classified.
    Failed(ConnectorError),
}

impl From<Failure> for ConnectorError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::TooComplex(e) | Failure::Failed(e) => e,
        }
    }
}

impl From<ConnectorError> for Failure {
    fn from(e: ConnectorError) -> Self {
        Failure::Failed(e)
    }
}

/// What one error says about itself: its code (from `extensions`) and message, lower case.
fn marks(error: &serde_json::Value) -> (String, String) {
    let extensions = &error["extensions"];
    let code = ["code", "classification", "errorType"]
        .iter()
        .find_map(|k| extensions[*k].as_str().or_else(|| error[*k].as_str()))
        .unwrap_or("")
        .to_ascii_lowercase();
    let message = error["message"].as_str().unwrap_or("").to_ascii_lowercase();
    (code, message)
}

fn any(errors: &[serde_json::Value], test: impl Fn(&str, &str) -> bool) -> bool {
    errors.iter().map(marks).any(|(c, m)| test(&c, &m))
}

/// The class of a GraphQL answer's `errors`.
pub fn classify(errors: &[serde_json::Value], context: &str) -> Failure {
    let text = serde_json::Value::Array(errors.to_vec()).to_string();
    let rate_limited = any(errors, |c, m| {
        c.contains("rate")
            || c.contains("throttl")
            || c.contains("too_many")
            || m.contains("rate limit")
            || m.contains("too many requests")
            || m.contains("throttl")
    });
    let too_complex = any(errors, |c, m| {
        c.contains("complex") || m.contains("complex")
    });
    let invalid = any(errors, |c, m| {
        c.contains("validation")
            || c.contains("bad_user_input")
            || c.contains("parse")
            || m.starts_with("unknown field")
            || m.starts_with("unknown argument")
            || m.starts_with("cannot query field")
            || m.starts_with("invalid value")
            || m.contains("is not defined")
            || m.contains("expected type")
    });
    if rate_limited {
        let wait = errors
            .iter()
            .find_map(|e| e["extensions"]["retryAfter"].as_f64())
            .map_or(Duration::from_secs(1), Duration::from_secs_f64);
        return Failure::Failed(ConnectorError::rate_limited(context, wait));
    }
    if too_complex {
        return Failure::TooComplex(ConnectorError::retryable(
            context,
            format!("over Fluent's query complexity limit: {text}"),
        ));
    }
    if invalid {
        return Failure::Failed(ConnectorError::permanent(
            context,
            format!("GraphQL refused the query: {text}"),
        ));
    }
    Failure::Failed(ConnectorError::retryable(
        context,
        format!("GraphQL errors: {text}"),
    ))
}

/// Runs `query` with `variables`; `T` is the shape of its `data`.
pub async fn query<T: DeserializeOwned>(
    client: &FluentClient,
    context: &str,
    query: &str,
    variables: serde_json::Value,
) -> Result<T, Failure> {
    let body = serde_json::json!({ "query": query, "variables": variables });
    let answer: GraphqlAnswer<T> = client.call(Method::POST, "/graphql", Some(&body)).await?;
    match answer.data {
        Some(data) if answer.errors.is_empty() => Ok(data),
        _ if answer.errors.is_empty() => Err(Failure::Failed(ConnectorError::retryable(
            context,
            "GraphQL answered neither data nor errors",
        ))),
        _ => Err(classify(&answer.errors, context)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use syncd_core::ErrorClass;

    fn class(errors: serde_json::Value) -> (bool, ErrorClass, Option<Duration>) {
        match classify(errors.as_array().unwrap(), "t") {
            Failure::TooComplex(e) => (true, e.class(), e.requested_wait()),
            Failure::Failed(e) => (false, e.class(), e.requested_wait()),
        }
    }

    #[test]
    fn rate_limits_wait_complexity_shrinks_validation_is_permanent_and_the_rest_retries() {
        assert_eq!(
            class(
                json!([{"message": "Too many requests", "extensions": {"code": "RATE_LIMITED", "retryAfter": 3}}])
            ),
            (false, ErrorClass::RateLimited, Some(Duration::from_secs(3)))
        );
        assert_eq!(
            class(json!([{"message": "Query is too complex."}])),
            (true, ErrorClass::Retryable, None)
        );
        assert_eq!(
            class(
                json!([{"message": "Unknown field \"onHnd\" on type \"InventoryPosition\".", "extensions": {"classification": "ValidationError"}}])
            ),
            (false, ErrorClass::Permanent, None)
        );
        assert_eq!(
            class(
                json!([{"message": "Internal server error", "extensions": {"classification": "INTERNAL_ERROR"}}])
            ),
            (false, ErrorClass::Retryable, None)
        );
    }
}
