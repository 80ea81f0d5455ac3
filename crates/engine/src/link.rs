//! Bidirectional links: two systems, one entity, each field owned by one side (or by neither).
//!
//! A pipeline that is one direction of a link writes a three-way merge:
//! - fields the source owns take the source's value;
//! - fields the target owns keep the target's live value;
//! - unowned fields take whichever side changed since the last sync (the *base*, kept in the
//!   store per link); when both changed, the preferred connector wins and a conflict is counted.
//!
//! Echo suppression falls out of the base: a value we wrote into B that comes back from B
//! equals the base, so it is not a change.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use syncd_core::Record;

use crate::config::LinkConfig;

/// How one pipeline of a link merges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPolicy {
    /// The link's name.
    pub link: String,
    source: String,
    target: String,
    owners: BTreeMap<String, String>,
    source_wins_conflicts: bool,
    target_keeps: Option<&'static [&'static str]>,
}

/// The merged record and the unowned fields that changed on both sides.
#[derive(Debug, PartialEq)]
pub struct Merge {
    /// What the target must hold.
    pub record: Record,
    /// Fields both sides changed since the base, each with the values and the winner.
    pub conflicts: Vec<syncd_store::conflicts::ConflictField>,
}

/// Fields that identify a record are never merged.
const IDENTITY: [&str; 1] = ["entity"];

impl FieldPolicy {
    /// The policy for the pipeline `from` → `to`, if `link` joins the two.
    pub fn for_pipeline(link: &LinkConfig, from: &str, to: &str) -> Option<Self> {
        let joins = from != to
            && link.between.iter().any(|c| c == from)
            && link.between.iter().any(|c| c == to);
        joins.then(|| FieldPolicy {
            link: link.name.clone(),
            source: from.to_string(),
            target: to.to_string(),
            owners: link.owners.clone(),
            source_wins_conflicts: link.prefer.as_deref().is_none_or(|p| p == from),
            target_keeps: None,
        })
    }

    /// The policy for a target that keeps only `fields` (`Connector::fields_kept`): a field it
    /// does not keep is merged as the target's own value, so that a value it cannot hold (a
    /// status ShipHero has none of) is neither written nor, read back as its default, taken
    /// for a difference to write again on every run.
    pub fn keeping(mut self, fields: Option<&'static [&'static str]>) -> Self {
        self.target_keeps = fields;
        self
    }

    fn target_keeps(&self, field: &str) -> bool {
        self.target_keeps.is_none_or(|kept| kept.contains(&field))
    }

    /// The connector that owns `field`, if the link names one.
    pub fn owner_of(&self, field: &str) -> Option<String> {
        self.owners.get(field).cloned()
    }

    /// The shadow namespace that holds this link's base records.
    pub fn base_namespace(&self) -> String {
        format!("link:{}", self.link)
    }

    /// Merges the source's record with the target's live record and the last synced base.
    pub fn merge(&self, source: &Record, target: Option<&Record>, base: Option<&Record>) -> Merge {
        let (Some(target), Ok(Value::Object(s))) = (target, serde_json::to_value(source)) else {
            return Merge {
                record: source.clone(),
                conflicts: Vec::new(),
            };
        };
        let Ok(Value::Object(t)) = serde_json::to_value(target) else {
            return Merge {
                record: source.clone(),
                conflicts: Vec::new(),
            };
        };
        let b = base.and_then(|b| match serde_json::to_value(b) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        });
        let mut merged = Map::new();
        let mut conflicts = Vec::new();
        let fields: std::collections::BTreeSet<&String> = s.keys().chain(t.keys()).collect();
        for field in fields {
            let (sv, tv) = (s.get(field), t.get(field));
            let chosen = if IDENTITY.contains(&field.as_str()) {
                sv
            } else if !self.target_keeps(field) {
                tv.or(sv)
            } else {
                match self.owners.get(field) {
                    Some(owner) if *owner == self.source => sv,
                    Some(owner) if *owner == self.target => tv,
                    _ => {
                        let bv = b.as_ref().and_then(|b| b.get(field));
                        match &b {
                            None => sv,
                            Some(_) if sv == bv => tv,
                            Some(_) if tv == bv => sv,
                            Some(_) if sv == tv => sv,
                            Some(_) => {
                                let winner = match self.source_wins_conflicts {
                                    true => &self.source,
                                    false => &self.target,
                                };
                                conflicts.push(syncd_store::conflicts::ConflictField {
                                    field: field.clone(),
                                    source: sv.cloned().unwrap_or(Value::Null),
                                    target: tv.cloned().unwrap_or(Value::Null),
                                    base: bv.cloned().unwrap_or(Value::Null),
                                    winner: winner.clone(),
                                });
                                if self.source_wins_conflicts {
                                    sv
                                } else {
                                    tv
                                }
                            }
                        }
                    }
                }
            };
            if let Some(v) = chosen {
                merged.insert(field.clone(), v.clone());
            }
        }
        match serde_json::from_value(Value::Object(merged)) {
            Ok(record) => Merge { record, conflicts },
            Err(_) => Merge {
                record: source.clone(),
                conflicts,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncd_core::model::StockPosition;
    use syncd_core::EntityKind;

    fn link(prefer: Option<&str>) -> LinkConfig {
        LinkConfig {
            name: "wms-oms".into(),
            between: ["wms".into(), "oms".into()],
            entity: EntityKind::StockPosition,
            owners: BTreeMap::from([
                ("on_hand".to_string(), "wms".to_string()),
                ("allocated".to_string(), "oms".to_string()),
            ]),
            prefer: prefer.map(String::from),
        }
    }

    fn pos(on_hand: i64, allocated: i64, condition: &str) -> Record {
        let mut p = StockPosition::new("S", "L", on_hand);
        p.allocated = allocated;
        p.attributes
            .insert("condition".into(), serde_json::json!(condition));
        Record::StockPosition(p)
    }

    #[test]
    fn owned_fields_come_from_their_owner_whichever_way_the_pipeline_runs() {
        let wms_to_oms = FieldPolicy::for_pipeline(&link(None), "wms", "oms").unwrap();
        let m = wms_to_oms.merge(&pos(10, 0, "NEW"), Some(&pos(4, 3, "NEW")), None);
        assert_eq!(m.record, pos(10, 3, "NEW"));
        let oms_to_wms = FieldPolicy::for_pipeline(&link(None), "oms", "wms").unwrap();
        let m = oms_to_wms.merge(&pos(4, 3, "NEW"), Some(&pos(10, 0, "NEW")), None);
        assert_eq!(m.record, pos(10, 3, "NEW"));
    }

    #[test]
    fn a_field_the_target_does_not_keep_is_merged_as_the_target_holds_it() {
        // oms owns `allocated`, but a wms that keeps only quantities reads a default there:
        // the merge into wms must equal what wms holds, or every run would write it again.
        let p = FieldPolicy::for_pipeline(&link(None), "oms", "wms")
            .unwrap()
            .keeping(Some(&["sku", "location", "on_hand", "attributes"]));
        let m = p.merge(&pos(4, 3, "NEW"), Some(&pos(10, 0, "NEW")), None);
        assert_eq!(m.record, pos(10, 0, "NEW"));
        let keeps_all = FieldPolicy::for_pipeline(&link(None), "oms", "wms").unwrap();
        let m = keeps_all.merge(&pos(4, 3, "NEW"), Some(&pos(10, 0, "NEW")), None);
        assert_eq!(m.record, pos(10, 3, "NEW"));
    }

    #[test]
    fn an_unowned_field_follows_the_side_that_changed_since_the_base() {
        let p = FieldPolicy::for_pipeline(&link(None), "wms", "oms").unwrap();
        let base = pos(10, 3, "NEW");
        // Only the target changed it: the target's value stays (no echo of the old source value).
        let m = p.merge(
            &pos(10, 3, "NEW"),
            Some(&pos(10, 3, "DAMAGED")),
            Some(&base),
        );
        assert_eq!(m.record, pos(10, 3, "DAMAGED"));
        // Only the source changed it: it flows.
        let m = p.merge(&pos(10, 3, "USED"), Some(&pos(10, 3, "NEW")), Some(&base));
        assert_eq!((m.record, m.conflicts.len()), (pos(10, 3, "USED"), 0));
        // Both changed: a conflict, settled by the preferred side.
        let m = p.merge(
            &pos(10, 3, "USED"),
            Some(&pos(10, 3, "DAMAGED")),
            Some(&base),
        );
        assert_eq!((m.record, m.conflicts.len()), (pos(10, 3, "USED"), 1));
        let prefer_oms = FieldPolicy::for_pipeline(&link(Some("oms")), "wms", "oms").unwrap();
        let m = prefer_oms.merge(
            &pos(10, 3, "USED"),
            Some(&pos(10, 3, "DAMAGED")),
            Some(&base),
        );
        assert_eq!((m.record, m.conflicts.len()), (pos(10, 3, "DAMAGED"), 1));
    }

    #[test]
    fn pipelines_outside_the_link_get_no_policy() {
        assert!(FieldPolicy::for_pipeline(&link(None), "erp", "oms").is_none());
    }
}
