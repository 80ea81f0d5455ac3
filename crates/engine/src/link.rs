//! Field ownership on a bidirectional link: which system's value wins for each field.

use std::collections::BTreeSet;

use syncd_core::Record;

use crate::config::LinkConfig;

/// The fields a pipeline must leave as the target has them, because the target owns them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPolicy {
    /// The link this policy comes from.
    pub link: String,
    target_owned: BTreeSet<String>,
}

impl FieldPolicy {
    /// The policy for the pipeline `from` → `to`, if a link joins the two for `entity`.
    pub fn for_pipeline(link: &LinkConfig, from: &str, to: &str) -> Option<Self> {
        let joins = link.between.iter().any(|c| c == from) && link.between.iter().any(|c| c == to);
        joins.then(|| FieldPolicy {
            link: link.name.clone(),
            target_owned: link
                .owners
                .iter()
                .filter(|(_, owner)| owner.as_str() == to)
                .map(|(field, _)| field.clone())
                .collect(),
        })
    }

    /// The record to write: the source's values, except for target-owned fields, which keep the
    /// target's last known values.
    pub fn merge(&self, source: &Record, target: Option<&Record>) -> Record {
        let Some(target) = target else {
            return source.clone();
        };
        if self.target_owned.is_empty() || source.entity() != target.entity() {
            return source.clone();
        }
        let (Ok(serde_json::Value::Object(mut merged)), Ok(serde_json::Value::Object(theirs))) =
            (serde_json::to_value(source), serde_json::to_value(target))
        else {
            return source.clone();
        };
        for field in &self.target_owned {
            match theirs.get(field) {
                Some(v) => merged.insert(field.clone(), v.clone()),
                None => merged.remove(field),
            };
        }
        serde_json::from_value(serde_json::Value::Object(merged)).unwrap_or_else(|_| source.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use syncd_core::model::StockPosition;
    use syncd_core::EntityKind;

    fn link() -> LinkConfig {
        LinkConfig {
            name: "wms-oms".into(),
            between: ["wms".into(), "oms".into()],
            entity: EntityKind::StockPosition,
            owners: BTreeMap::from([
                ("on_hand".to_string(), "wms".to_string()),
                ("allocated".to_string(), "oms".to_string()),
            ]),
        }
    }

    #[test]
    fn a_target_owned_field_keeps_the_targets_value() {
        let policy = FieldPolicy::for_pipeline(&link(), "wms", "oms").unwrap();
        let mut from_wms = StockPosition::new("S", "L", 10);
        from_wms.allocated = 0;
        let mut in_oms = StockPosition::new("S", "L", 4);
        in_oms.allocated = 3;
        let merged = policy.merge(
            &Record::StockPosition(from_wms),
            Some(&Record::StockPosition(in_oms)),
        );
        let Record::StockPosition(p) = merged else {
            panic!()
        };
        assert_eq!((p.on_hand, p.allocated), (10, 3));
    }

    #[test]
    fn pipelines_outside_the_link_get_no_policy() {
        assert!(FieldPolicy::for_pipeline(&link(), "erp", "oms").is_none());
    }
}
