//! Applying a pipeline's SKU and location maps to a record.

use syncd_core::Record;

use crate::config::{Maps, Unmapped};

/// The result of mapping one record.
#[derive(Debug, PartialEq)]
pub enum Mapped {
    /// The record, with its identifiers translated.
    Record(Record),
    /// A map had no entry and the policy says to leave the record out.
    Skipped,
    /// A map had no entry and the policy says to dead-letter the record.
    Unmapped(String),
}

/// Translates the record's SKU and location through `maps`.
pub fn apply(maps: &Maps, mut record: Record) -> Mapped {
    if !maps.sku.is_empty() {
        if let Some(sku) = record.sku_mut() {
            match maps.sku.get(sku.as_str()) {
                Some(to) => *sku = to.clone(),
                None => match maps.unmapped {
                    Unmapped::Pass => {}
                    Unmapped::Skip => return Mapped::Skipped,
                    Unmapped::DeadLetter => {
                        return Mapped::Unmapped(format!("SKU `{sku}` has no entry in maps.sku"))
                    }
                },
            }
        }
    }
    if !maps.location.is_empty() {
        if let Some(location) = record.location_mut() {
            match maps.location.get(location.as_str()) {
                Some(to) => *location = to.clone(),
                None => match maps.unmapped {
                    Unmapped::Pass => {}
                    Unmapped::Skip => return Mapped::Skipped,
                    Unmapped::DeadLetter => {
                        return Mapped::Unmapped(format!(
                            "location `{location}` has no entry in maps.location"
                        ))
                    }
                },
            }
        }
    }
    Mapped::Record(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncd_core::model::StockPosition;

    fn pos(sku: &str, loc: &str) -> Record {
        Record::StockPosition(StockPosition::new(sku, loc, 1))
    }

    #[test]
    fn mapped_identifiers_are_translated_and_others_follow_the_policy() {
        let mut maps = Maps::default();
        maps.location.insert("WH1".into(), "LOC_MEL".into());
        assert_eq!(
            apply(&maps, pos("A", "WH1")),
            Mapped::Record(pos("A", "LOC_MEL"))
        );
        assert_eq!(
            apply(&maps, pos("A", "WH9")),
            Mapped::Record(pos("A", "WH9"))
        );
        maps.unmapped = Unmapped::Skip;
        assert_eq!(apply(&maps, pos("A", "WH9")), Mapped::Skipped);
        maps.unmapped = Unmapped::DeadLetter;
        assert!(matches!(apply(&maps, pos("A", "WH9")), Mapped::Unmapped(m) if m.contains("WH9")));
    }
}
