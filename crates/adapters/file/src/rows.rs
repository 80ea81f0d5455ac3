//! Turning one CSV row or JSON line into a stock position, or saying exactly what is wrong.

use std::collections::BTreeMap;

use syncd_core::model::{StockPosition, StockStatus};

/// CSV columns that map to position fields; every other non-empty column becomes an attribute.
pub const CORE_COLUMNS: [&str; 5] = ["sku", "location", "on_hand", "allocated", "status"];

/// Parses a status as written by common exports.
pub fn parse_status(text: &str) -> Result<StockStatus, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "active" | "1" | "true" | "in_stock" => Ok(StockStatus::Active),
        "inactive" | "0" | "false" | "out_of_stock" => Ok(StockStatus::Inactive),
        other => Err(format!(
            "status `{other}` is not one of active, inactive, 1, 0"
        )),
    }
}

fn parse_quantity(column: &str, text: &str) -> Result<i64, String> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| format!("{column} `{text}` is not a whole number"))
}

fn check_identity(p: &StockPosition) -> Result<(), String> {
    if p.sku.trim().is_empty() {
        return Err("sku is empty".into());
    }
    if p.location.trim().is_empty() {
        return Err("location is empty".into());
    }
    Ok(())
}

/// Builds a position from a CSV row, given the header.
pub fn from_csv(
    headers: &csv::StringRecord,
    row: &csv::StringRecord,
) -> Result<StockPosition, String> {
    let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
    let mut attributes = BTreeMap::new();
    for (name, value) in headers.iter().zip(row.iter()) {
        let name = name.trim();
        if CORE_COLUMNS.contains(&name) {
            fields.insert(name, value);
        } else if !value.is_empty() && !name.is_empty() {
            attributes.insert(
                name.to_string(),
                serde_json::Value::String(value.to_string()),
            );
        }
    }
    let get = |c: &str| fields.get(c).copied();
    let sku = get("sku").ok_or("missing column `sku`")?;
    let location = get("location").ok_or("missing column `location`")?;
    let on_hand = parse_quantity("on_hand", get("on_hand").ok_or("missing column `on_hand`")?)?;
    let allocated = match get("allocated") {
        Some(t) if !t.trim().is_empty() => parse_quantity("allocated", t)?,
        _ => 0,
    };
    let status = parse_status(get("status").unwrap_or(""))?;
    let position = StockPosition {
        sku: sku.trim().to_string(),
        location: location.trim().to_string(),
        on_hand,
        allocated,
        status,
        attributes,
    };
    check_identity(&position)?;
    Ok(position)
}

/// Builds a position from a JSON line in the canonical shape
/// (`{"sku", "location", "on_hand", "allocated"?, "status"?, "attributes"?}`).
pub fn from_json(line: &str) -> Result<StockPosition, String> {
    let position: StockPosition = serde_json::from_str(line).map_err(|e| e.to_string())?;
    check_identity(&position)?;
    Ok(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(fields: &[&str]) -> csv::StringRecord {
        csv::StringRecord::from(fields.to_vec())
    }

    #[test]
    fn a_csv_row_with_extra_columns_carries_them_as_attributes() {
        let headers = rec(&["sku", "location", "on_hand", "expectedOn", "condition"]);
        let p = from_csv(
            &headers,
            &rec(&["A", "WH1", "7", "2024-10-31T00:00:00Z", ""]),
        )
        .unwrap();
        assert_eq!(p.on_hand, 7);
        assert_eq!(p.attributes.len(), 1);
        assert_eq!(p.attributes["expectedOn"], "2024-10-31T00:00:00Z");
    }

    #[test]
    fn bad_rows_say_which_field_is_wrong() {
        let headers = rec(&["sku", "location", "on_hand"]);
        assert!(from_csv(&headers, &rec(&["A", "WH1", "seven"]))
            .unwrap_err()
            .contains("on_hand"));
        assert!(from_csv(&headers, &rec(&["", "WH1", "1"]))
            .unwrap_err()
            .contains("sku"));
        assert!(from_json("{\"sku\":\"A\"}")
            .unwrap_err()
            .contains("location"));
    }
}
