//! Turning one CSV row or JSON line into a stock position, or saying exactly what is wrong.

use std::collections::BTreeMap;

use syncd_core::model::{StockPosition, StockStatus};

/// Parses a status as written by common exports.
pub fn parse_status(text: &str) -> Result<StockStatus, String> {
    if text.is_empty() {
        return Ok(StockStatus::Active);
    }
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "active" | "1" | "true" | "in_stock" => Ok(StockStatus::Active),
        "inactive" | "0" | "false" | "out_of_stock" => Ok(StockStatus::Inactive),
        other => Err(format!(
            "status `{other}` is not one of active, inactive, 1, 0"
        )),
    }
}

/// `text.trim()`, without scanning for Unicode whitespace when both ends are plain ASCII
/// characters that are not whitespace (nearly every field of an export): the same result.
fn trimmed(text: &str) -> &str {
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(&first), Some(&last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

fn parse_quantity(column: &str, text: &str) -> Result<i64, String> {
    trimmed(text)
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

/// Where a CSV file's columns are: worked out once from its header, used for every row.
#[derive(Clone, Debug, Default)]
pub struct Columns {
    sku: Option<usize>,
    location: Option<usize>,
    on_hand: Option<usize>,
    allocated: Option<usize>,
    corrected: Option<usize>,
    status: Option<usize>,
    /// Every other named column: an attribute when the row has a value there.
    attributes: Vec<(usize, String)>,
}

impl Columns {
    /// The layout of a file with this header row.
    pub fn of(headers: &csv::StringRecord) -> Self {
        let mut columns = Columns::default();
        for (i, name) in headers.iter().enumerate() {
            let slot = match name.trim() {
                "sku" => &mut columns.sku,
                "location" => &mut columns.location,
                "on_hand" => &mut columns.on_hand,
                "allocated" => &mut columns.allocated,
                "corrected" => &mut columns.corrected,
                "status" => &mut columns.status,
                "" => continue,
                other => {
                    columns.attributes.push((i, other.to_string()));
                    continue;
                }
            };
            // As a map of the header would: the last column of a name wins.
            *slot = Some(i);
        }
        columns
    }

    /// Builds a position from one row of the file, given its fields by column number.
    pub fn position<'r>(
        &self,
        field: impl Fn(usize) -> Option<&'r str>,
    ) -> Result<StockPosition, String> {
        let get = |at: Option<usize>| at.map(|i| field(i).unwrap_or(""));
        let sku = get(self.sku).ok_or("missing column `sku`")?;
        let location = get(self.location).ok_or("missing column `location`")?;
        let on_hand = parse_quantity(
            "on_hand",
            get(self.on_hand).ok_or("missing column `on_hand`")?,
        )?;
        let allocated = match get(self.allocated) {
            Some(t) if !trimmed(t).is_empty() => parse_quantity("allocated", t)?,
            _ => 0,
        };
        let corrected = match get(self.corrected) {
            Some(t) if !trimmed(t).is_empty() => Some(parse_quantity("corrected", t)?),
            _ => None,
        };
        let status = parse_status(get(self.status).unwrap_or(""))?;
        let mut attributes = BTreeMap::new();
        for (i, name) in &self.attributes {
            match field(*i) {
                Some(value) if !value.is_empty() => {
                    attributes.insert(name.clone(), serde_json::Value::String(value.to_string()));
                }
                _ => {}
            }
        }
        let position = StockPosition {
            sku: trimmed(sku).to_string(),
            location: trimmed(location).to_string(),
            on_hand,
            allocated,
            corrected,
            status,
            attributes,
        };
        check_identity(&position)?;
        Ok(position)
    }
}

/// Builds a position from a CSV row, given the header.
pub fn from_csv(
    headers: &csv::StringRecord,
    row: &csv::StringRecord,
) -> Result<StockPosition, String> {
    Columns::of(headers).position(|i| row.get(i))
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
    fn the_fast_trim_is_str_trim() {
        for text in [
            "",
            " ",
            "A",
            " A",
            "A ",
            "\tA\n",
            "\u{a0}A",
            "A\u{a0}",
            "\u{1}A\u{1}",
            "é",
            " é ",
            "A B",
            "\u{2003}",
        ] {
            assert_eq!(trimmed(text), text.trim(), "{text:?}");
        }
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
