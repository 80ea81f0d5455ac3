//! Dates in attributes, as Fluent recommends them: ISO 8601 in UTC, `YYYY-MM-DDTHH:MM:SSZ`
//! (seed 004). A value that reads as a date and time in another ISO 8601 spelling
//! (`2024-10-31T00:00:00.00Z`, `…+02:00`, Fluent's own `…+0000`) is rewritten; a bare date under a
//! date-named key (`expectedOn`, `expiryDate`, …) becomes that day's midnight UTC. Every other
//! value goes out as given.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

const FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

fn is_date_key(key: &str) -> bool {
    key.ends_with("On") || key.ends_with("Date") || key.ends_with("date")
}

fn date_time(text: &str) -> Option<String> {
    let parsed = DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()?;
    Some(parsed.with_timezone(&Utc).format(FORMAT).to_string())
}

fn value(key: &str, v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::String(text) => date_time(text)
            .or_else(|| {
                is_date_key(key)
                    .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
                    .flatten()
                    .map(|d| format!("{d}T00:00:00Z"))
            })
            .map_or_else(|| v.clone(), serde_json::Value::String),
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, inner)| (k.clone(), value(k, inner)))
                .collect(),
        ),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(|inner| value(key, inner)).collect())
        }
        other => other.clone(),
    }
}

/// `attributes` with every date in Fluent's recommended form.
pub fn normalised(
    attributes: &BTreeMap<String, serde_json::Value>,
) -> BTreeMap<String, serde_json::Value> {
    attributes
        .iter()
        .map(|(k, v)| (k.clone(), value(k, v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_take_the_recommended_form_and_nothing_else_changes() {
        let given: BTreeMap<String, serde_json::Value> = serde_json::from_value(json!({
            "expectedOn": "2024-10-31T00:00:00.00Z",
            "expiryDate": "2025-12-31",
            "shippedOn": "2024-10-31T02:00:00+02:00",
            "loggedOn": "2022-10-06T00:31:08.104+0000",
            "manufacturingBatchInfo": {"batchNumber": "2024-01-15", "productionDate": "2024-01-15T00:00:00.00Z"},
            "serialNumber": "SN123456789",
            "condition": "NEW",
            "count": 3
        }))
        .unwrap();
        let out = serde_json::to_value(normalised(&given)).unwrap();
        assert_eq!(
            out,
            json!({
                "expectedOn": "2024-10-31T00:00:00Z",
                "expiryDate": "2025-12-31T00:00:00Z",
                "shippedOn": "2024-10-31T00:00:00Z",
                "loggedOn": "2022-10-06T00:31:08Z",
                "manufacturingBatchInfo": {"batchNumber": "2024-01-15", "productionDate": "2024-01-15T00:00:00Z"},
                "serialNumber": "SN123456789",
                "condition": "NEW",
                "count": 3
            })
        );
    }
}
