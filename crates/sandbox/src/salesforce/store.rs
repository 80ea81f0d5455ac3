//! The org's records: per object, rows of fields with Salesforce's system fields kept on a
//! clock the tests control, soft-deleted rows kept for `queryAll`, and SOQL run over them:
//! parent paths followed through lookups, one child sub-query nested as `{totalSize, done,
//! records}` (null when empty, as Salesforce answers), ORDER BY and LIMIT.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::ids;
use super::schema::Schema;
use super::soql::{self, Item, Query};

/// A refused request or record: Salesforce's code, message and the fields at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SfError {
    /// `MALFORMED_QUERY`, `INVALID_FIELD`, `INVALID_TYPE`, `NOT_FOUND`, `DUPLICATE_VALUE`, …
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// The fields at fault.
    pub fields: Vec<String>,
}

fn refuse(code: &'static str, message: impl Into<String>) -> SfError {
    SfError {
        code,
        message: message.into(),
        fields: Vec::new(),
    }
}

/// One stored record.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Its fields, `Id` and the system fields included.
    pub fields: Map<String, Value>,
    /// Soft-deleted: only `queryAll` sees it.
    pub deleted: bool,
}

/// What a write left behind, to roll back to (`allOrNone`).
pub struct Checkpoint {
    rows: BTreeMap<String, Vec<Row>>,
    serial: u64,
    changes: usize,
}

/// Every record, by object.
pub struct Store {
    schema: Schema,
    rows: BTreeMap<String, Vec<Row>>,
    /// Record writes still to fail with `UNABLE_TO_LOCK_ROW`.
    locked: u32,
    /// Records written since the last `take_changes`: (object, id).
    changes: Vec<(String, String)>,
    /// Where each id's row sits in its object's rows (ids are unique across objects).
    by_id: std::collections::HashMap<String, usize>,
    serial: u64,
    /// The org's clock: `now` plus what tests moved it by.
    offset: Duration,
    /// How far back a write's `SystemModstamp` is set (a commit that lands late).
    late_by: Duration,
}

/// Salesforce's time format in JSON (`2022-03-03T10:53:23.000+0000`).
pub fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

impl Store {
    /// An empty org of `schema`.
    pub fn new(schema: Schema) -> Self {
        Store {
            schema,
            rows: BTreeMap::new(),
            locked: 0,
            changes: Vec::new(),
            by_id: std::collections::HashMap::new(),
            serial: 0,
            offset: Duration::zero(),
            late_by: Duration::zero(),
        }
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The org's time now.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }

    /// Moves the org's clock by `by`.
    pub fn advance(&mut self, by: Duration) {
        self.offset += by;
    }

    /// Stamps the next writes `by` in the past, as a transaction that commits late does.
    pub fn commit_late(&mut self, by: Duration) {
        self.late_by = by;
    }

    fn canonical(&self, object: &str) -> Result<String, SfError> {
        self.schema
            .object(object)
            .map(|o| o.name.clone())
            .ok_or_else(|| {
                refuse(
                    "INVALID_TYPE",
                    format!("sObject type '{object}' is not supported."),
                )
            })
    }

    /// Makes the next `n` record writes fail with `UNABLE_TO_LOCK_ROW`, as contention does.
    pub fn lock_rows(&mut self, n: u32) {
        self.locked = n;
    }

    /// The state to roll back to.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            rows: self.rows.clone(),
            serial: self.serial,
            changes: self.changes.len(),
        }
    }

    /// Rolls back to `checkpoint`.
    pub fn restore(&mut self, checkpoint: Checkpoint) {
        self.rows = checkpoint.rows;
        self.serial = checkpoint.serial;
        self.changes.truncate(checkpoint.changes);
        self.by_id = self
            .rows
            .values()
            .flat_map(|rows| rows.iter().enumerate())
            .filter_map(|(i, r)| Some((r.fields.get("Id")?.as_str()?.to_string(), i)))
            .collect();
    }

    /// The records written since the last call: (object, id), in order.
    pub fn take_changes(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.changes)
    }

    /// The live records of `object` whose `field` holds `id` (a lookup's children).
    pub fn children(&self, object: &str, field: &str, id: &str) -> Vec<Map<String, Value>> {
        let Ok(object) = self.canonical(object) else {
            return Vec::new();
        };
        self.rows
            .get(&object)
            .into_iter()
            .flatten()
            .filter(|r| !r.deleted && r.fields.get(field).and_then(Value::as_str) == Some(id))
            .map(|r| r.fields.clone())
            .collect()
    }

    /// A write's turn: refused while rows are locked.
    fn write_turn(&mut self) -> Result<(), SfError> {
        if self.locked > 0 {
            self.locked -= 1;
            return Err(refuse(
                "UNABLE_TO_LOCK_ROW",
                "unable to obtain exclusive access to this record",
            ));
        }
        Ok(())
    }

    /// Refuses `fields` where an external id would repeat another live record's value.
    fn unique(
        &self,
        object: &str,
        fields: &Map<String, Value>,
        except: Option<&str>,
    ) -> Result<(), SfError> {
        let externals = &self.schema.object(object).expect("known").external_ids;
        for field in externals {
            let Some(value) = fields.get(field).filter(|v| !v.is_null()) else {
                continue;
            };
            let clash = self.rows.get(object).and_then(|rows| {
                rows.iter().find(|r| {
                    !r.deleted
                        && r.fields.get(field) == Some(value)
                        && r.fields.get("Id").and_then(Value::as_str) != except
                })
            });
            if let Some(row) = clash {
                return Err(SfError {
                    code: "DUPLICATE_VALUE",
                    message: format!(
                        "duplicate value found: {field} duplicates value on record with id: {}",
                        row.fields["Id"].as_str().unwrap_or("")
                    ),
                    fields: vec![field.clone()],
                });
            }
        }
        Ok(())
    }

    /// Creates or updates the record of `object` whose external id `field` is `value`: its
    /// id, and whether it was created. More than one match is `MULTIPLE_CHOICES` (300).
    pub fn upsert(
        &mut self,
        object: &str,
        field: &str,
        value: &str,
        mut fields: Map<String, Value>,
    ) -> Result<(String, bool), SfError> {
        let object = self.canonical(object)?;
        let external = self
            .schema
            .object(&object)
            .expect("known")
            .external_ids
            .iter()
            .find(|f| f.eq_ignore_ascii_case(field))
            .cloned()
            .ok_or_else(|| {
                refuse(
                    "NOT_FOUND",
                    format!(
                        "Provided external ID field does not exist or is not accessible: {field}"
                    ),
                )
            })?;
        let matches: Vec<String> = self
            .rows
            .get(&object)
            .map(|rows| {
                rows.iter()
                    .filter(|r| {
                        !r.deleted && r.fields.get(&external).and_then(Value::as_str) == Some(value)
                    })
                    .filter_map(|r| {
                        r.fields
                            .get("Id")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default();
        fields.remove("Id");
        match matches.as_slice() {
            [] => {
                fields.insert(external, Value::String(value.to_string()));
                self.insert(&object, fields).map(|id| (id, true))
            }
            [id] => {
                let id = id.clone();
                self.update(&object, &id, fields).map(|()| (id, false))
            }
            _ => Err(refuse(
                "MULTIPLE_CHOICES",
                format!("{} records match {external} = {value}", matches.len()),
            )),
        }
    }

    /// Creates a record of `object` with `fields`; its id.
    pub fn insert(
        &mut self,
        object: &str,
        mut fields: Map<String, Value>,
    ) -> Result<String, SfError> {
        let object = self.canonical(object)?;
        self.write_turn()?;
        self.unique(&object, &fields, None)?;
        let prefix = self
            .schema
            .object(&object)
            .expect("known")
            .key_prefix
            .clone();
        self.serial += 1;
        let id = ids::id(&prefix, "5f", self.serial);
        let at = stamp(self.now() - self.late_by);
        fields.insert("Id".into(), Value::String(id.clone()));
        fields.insert("IsDeleted".into(), Value::Bool(false));
        for system in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
            fields.insert(system.into(), Value::String(at.clone()));
        }
        self.changes.push((object.clone(), id.clone()));
        let rows = self.rows.entry(object).or_default();
        self.by_id.insert(id.clone(), rows.len());
        rows.push(Row {
            fields,
            deleted: false,
        });
        Ok(id)
    }

    fn find_mut(&mut self, object: &str, id: &str) -> Result<&mut Row, SfError> {
        let object = self.canonical(object)?;
        let id = ids::normalize(id).unwrap_or_default();
        let at = self.by_id.get(&id).copied();
        self.rows
            .get_mut(&object)
            .and_then(|rows| rows.get_mut(at?))
            .filter(|r| r.fields["Id"] == id.as_str() && !r.deleted)
            .ok_or_else(|| refuse("NOT_FOUND", "The requested resource does not exist"))
    }

    /// Sets `fields` on record `id` of `object`, stamping it.
    pub fn update(
        &mut self,
        object: &str,
        id: &str,
        fields: Map<String, Value>,
    ) -> Result<(), SfError> {
        let at = stamp(self.now() - self.late_by);
        let canonical = self.canonical(object)?;
        let full = ids::normalize(id).unwrap_or_default();
        self.find_mut(object, id)?;
        self.write_turn()?;
        self.unique(&canonical, &fields, Some(&full))?;
        let row = self.find_mut(object, id)?;
        for (k, v) in fields {
            if !matches!(
                k.as_str(),
                "Id" | "IsDeleted" | "CreatedDate" | "SystemModstamp" | "LastModifiedDate"
            ) {
                row.fields.insert(k, v);
            }
        }
        row.fields
            .insert("LastModifiedDate".into(), Value::String(at.clone()));
        row.fields
            .insert("SystemModstamp".into(), Value::String(at));
        self.changes.push((canonical, full));
        Ok(())
    }

    /// Soft-deletes record `id` of `object`.
    pub fn delete(&mut self, object: &str, id: &str) -> Result<(), SfError> {
        let at = stamp(self.now() - self.late_by);
        self.find_mut(object, id)?;
        self.write_turn()?;
        let row = self.find_mut(object, id)?;
        row.deleted = true;
        row.fields.insert("IsDeleted".into(), Value::Bool(true));
        row.fields
            .insert("SystemModstamp".into(), Value::String(at));
        let id = row.fields["Id"].as_str().unwrap_or("").to_string();
        let object = self.canonical(object)?;
        self.changes.push((object, id));
        Ok(())
    }

    /// `describe` of `object`: its fields (system fields, external ids, lookups, and every
    /// other field its records hold) and the child relationships pointing at it.
    pub fn describe(&self, object: &str) -> Option<Value> {
        let o = self.schema.object(object)?;
        let field = |name: &str, kind: &str| {
            serde_json::json!({
                "name": name, "label": name, "type": kind, "length": 255, "nillable": name != "Id",
                "createable": !matches!(name, "Id" | "IsDeleted" | "CreatedDate" | "LastModifiedDate" | "SystemModstamp"),
                "updateable": !matches!(name, "Id" | "IsDeleted" | "CreatedDate" | "LastModifiedDate" | "SystemModstamp"),
                "externalId": o.external_ids.iter().any(|e| e == name),
                "idLookup": name == "Id" || o.external_ids.iter().any(|e| e == name),
                "unique": o.external_ids.iter().any(|e| e == name),
                "relationshipName": null, "referenceTo": [],
            })
        };
        let mut fields = vec![
            field("Id", "id"),
            field("IsDeleted", "boolean"),
            field("CreatedDate", "datetime"),
            field("LastModifiedDate", "datetime"),
            field("SystemModstamp", "datetime"),
        ];
        let mut seen: std::collections::BTreeSet<String> = fields
            .iter()
            .map(|f| f["name"].as_str().unwrap_or("").to_string())
            .collect();
        for lookup in &o.lookups {
            let mut f = field(&lookup.field, "reference");
            f["relationshipName"] = Value::String(lookup.relationship.clone());
            f["referenceTo"] = serde_json::json!([lookup.target]);
            seen.insert(lookup.field.clone());
            fields.push(f);
        }
        let held = self
            .rows
            .get(&o.name)
            .into_iter()
            .flatten()
            .flat_map(|r| r.fields.keys().cloned());
        for name in o.external_ids.iter().cloned().chain(held) {
            if seen.insert(name.clone()) {
                fields.push(field(&name, "string"));
            }
        }
        let children: Vec<Value> = self
            .schema
            .objects
            .iter()
            .flat_map(|child| {
                child
                    .lookups
                    .iter()
                    .filter(|l| l.target == o.name)
                    .map(|l| serde_json::json!({"childSObject": child.name, "field": l.field, "relationshipName": l.child_relationship}))
            })
            .collect();
        Some(serde_json::json!({
            "name": o.name, "label": o.name, "keyPrefix": o.key_prefix, "custom": o.name.ends_with("__c"),
            "createable": true, "updateable": true, "queryable": true,
            "fields": fields, "childRelationships": children,
        }))
    }

    /// Records of `object` whose `SystemModstamp` lies in `start..end`: the live ones, or with
    /// `deleted` the deleted ones; (id, stamp) each.
    pub fn changed_between(
        &self,
        object: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        deleted: bool,
    ) -> Result<Vec<(String, String)>, SfError> {
        let object = self.canonical(object)?;
        Ok(self
            .rows
            .get(&object)
            .into_iter()
            .flatten()
            .filter(|r| r.deleted == deleted)
            .filter_map(|r| {
                let at = r.fields.get("SystemModstamp").and_then(Value::as_str)?;
                let when = soql::datetime(at)?.with_timezone(&Utc);
                (start <= when && when < end).then(|| {
                    (
                        r.fields["Id"].as_str().unwrap_or("").to_string(),
                        at.to_string(),
                    )
                })
            })
            .collect())
    }

    /// The fields of record `id` of `object`, deleted or not.
    pub fn fields_even_deleted(&self, object: &str, id: &str) -> Option<Map<String, Value>> {
        let object = self.canonical(object).ok()?;
        let id = ids::normalize(id)?;
        self.row(&object, &id).map(|r| r.fields.clone())
    }

    /// The fields of live record `id` of `object`.
    pub fn fields(&self, object: &str, id: &str) -> Option<Map<String, Value>> {
        let object = self.canonical(object).ok()?;
        let id = ids::normalize(id)?;
        self.row(&object, &id)
            .filter(|r| !r.deleted)
            .map(|r| r.fields.clone())
    }

    fn row(&self, object: &str, id: &str) -> Option<&Row> {
        self.rows
            .get(object)?
            .get(*self.by_id.get(id)?)
            .filter(|r| r.fields.get("Id").and_then(Value::as_str) == Some(id))
    }

    /// The value at `path` from `row` of `object`: a field, or a field of a parent reached
    /// through lookups.
    fn value(&self, object: &str, row: &Row, path: &[String]) -> Result<Value, SfError> {
        match path {
            [] => Ok(Value::Null),
            [field] => Ok(row
                .fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(field))
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Null)),
            [relationship, rest @ ..] => {
                let lookup = self.schema.parent(object, relationship).ok_or_else(|| {
                    refuse(
                        "INVALID_FIELD",
                        format!("Didn't understand relationship '{relationship}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name."),
                    )
                })?;
                let parent_id = row.fields.get(&lookup.field).and_then(Value::as_str);
                match parent_id.and_then(|id| self.row(&lookup.target, id)) {
                    Some(parent) => self.value(&lookup.target, parent, rest),
                    None => Ok(Value::Null),
                }
            }
        }
    }

    fn attributes(object: &str, id: &Value, version: &str) -> Value {
        serde_json::json!({
            "type": object,
            "url": format!("/services/data/v{version}/sobjects/{object}/{}", id.as_str().unwrap_or("")),
        })
    }

    /// Puts `value` at `path` of a rendered record, nesting parents as Salesforce does.
    fn put_path(
        &self,
        out: &mut Map<String, Value>,
        object: &str,
        row: &Row,
        path: &[String],
        version: &str,
    ) -> Result<(), SfError> {
        match path {
            [] => Ok(()),
            [field] => {
                out.insert(field.clone(), self.value(object, row, path)?);
                Ok(())
            }
            [relationship, rest @ ..] => {
                let lookup = self.schema.parent(object, relationship).ok_or_else(|| {
                    refuse(
                        "INVALID_FIELD",
                        format!("Didn't understand relationship '{relationship}' in field path."),
                    )
                })?;
                let parent = row
                    .fields
                    .get(&lookup.field)
                    .and_then(Value::as_str)
                    .and_then(|id| self.row(&lookup.target, id));
                let Some(parent) = parent else {
                    out.insert(relationship.clone(), Value::Null);
                    return Ok(());
                };
                let entry = out.entry(relationship.clone()).or_insert_with(|| {
                    serde_json::json!({"attributes": Self::attributes(&lookup.target, &parent.fields["Id"], version)})
                });
                if let Value::Object(nested) = entry {
                    let mut nested = std::mem::take(nested);
                    self.put_path(&mut nested, &lookup.target, parent, rest, version)?;
                    *entry = Value::Object(nested);
                }
                Ok(())
            }
        }
    }

    /// Every relationship `query` names exists, as Salesforce checks before it runs a query
    /// (so an empty result never hides a bad path).
    fn validate(&self, object: &str, query: &Query) -> Result<(), SfError> {
        let check_path = |path: &[String]| -> Result<(), SfError> {
            let mut at = object.to_string();
            for relationship in &path[..path.len().saturating_sub(1)] {
                let lookup = self.schema.parent(&at, relationship).ok_or_else(|| {
                    refuse(
                        "INVALID_FIELD",
                        format!("Didn't understand relationship '{relationship}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name."),
                    )
                })?;
                at = lookup.target.clone();
            }
            Ok(())
        };
        fn paths(condition: &soql::Condition, out: &mut Vec<Vec<String>>) {
            match condition {
                soql::Condition::And(a, b) | soql::Condition::Or(a, b) => {
                    paths(a, out);
                    paths(b, out);
                }
                soql::Condition::Not(c) => paths(c, out),
                soql::Condition::Compare(p, _, _) | soql::Condition::In(p, _, _) => {
                    out.push(p.clone())
                }
            }
        }
        let mut all = Vec::new();
        if let Some(filter) = &query.filter {
            paths(filter, &mut all);
        }
        all.extend(query.order.iter().map(|o| o.path.clone()));
        for item in &query.items {
            match item {
                Item::Field(path) => all.push(path.clone()),
                Item::Subquery(sub) => {
                    let (child, _) = self.schema.child(object, &sub.from).ok_or_else(|| {
                        refuse(
                            "INVALID_TYPE",
                            format!(
                                "Didn't understand relationship '{}' in FROM part of query call.",
                                sub.from
                            ),
                        )
                    })?;
                    self.validate(&child.name.clone(), sub)?;
                }
            }
        }
        all.iter().try_for_each(|p| check_path(p))
    }

    /// Runs `query` (with soft-deleted rows when `all`), each record rendered for API `version`.
    pub fn run(&self, query: &Query, all: bool, version: &str) -> Result<Vec<Value>, SfError> {
        let object = self.canonical(&query.from)?;
        self.validate(&object, query)?;
        let rows: Vec<&Row> = self
            .rows
            .get(&object)
            .map(|r| r.iter().collect())
            .unwrap_or_default();
        self.select(&object, rows, query, all, version)
    }

    fn select(
        &self,
        object: &str,
        rows: Vec<&Row>,
        query: &Query,
        all: bool,
        version: &str,
    ) -> Result<Vec<Value>, SfError> {
        // The filter's reads cannot fail mid-way; the first bad path is kept and answered.
        let failure: std::cell::RefCell<Option<SfError>> = std::cell::RefCell::new(None);
        let mut matching: Vec<&Row> = rows
            .into_iter()
            .filter(|r| all || !r.deleted)
            .filter(|r| match &query.filter {
                None => true,
                Some(filter) => {
                    filter.matches(&|path: &[String]| match self.value(object, r, path) {
                        Ok(v) => Some(v),
                        Err(e) => {
                            failure.borrow_mut().get_or_insert(e);
                            None
                        }
                    })
                }
            })
            .collect();
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        if !query.order.is_empty() {
            let keys: Result<Vec<Vec<Value>>, SfError> = matching
                .iter()
                .map(|r| {
                    query
                        .order
                        .iter()
                        .map(|o| self.value(object, r, &o.path))
                        .collect()
                })
                .collect();
            let keys = keys?;
            let mut indexed: Vec<(usize, &Row)> = matching.into_iter().enumerate().collect();
            indexed.sort_by(|(a, _), (b, _)| {
                query
                    .order
                    .iter()
                    .enumerate()
                    .map(|(i, o)| soql::order(&keys[*a][i], &keys[*b][i], o))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            matching = indexed.into_iter().map(|(_, r)| r).collect();
        }
        if let Some(limit) = query.limit {
            matching.truncate(limit as usize);
        }
        matching
            .into_iter()
            .map(|row| self.render(object, row, query, all, version))
            .collect()
    }

    fn render(
        &self,
        object: &str,
        row: &Row,
        query: &Query,
        all: bool,
        version: &str,
    ) -> Result<Value, SfError> {
        let mut out = Map::new();
        out.insert(
            "attributes".into(),
            Self::attributes(object, &row.fields["Id"], version),
        );
        for item in &query.items {
            match item {
                Item::Field(path) => self.put_path(&mut out, object, row, path, version)?,
                Item::Subquery(sub) => {
                    let (child, lookup) = self.schema.child(object, &sub.from).ok_or_else(|| {
                        refuse(
                            "INVALID_TYPE",
                            format!("Didn't understand relationship '{}' in FROM part of query call.", sub.from),
                        )
                    })?;
                    let id = row.fields["Id"].as_str().unwrap_or("");
                    let children: Vec<&Row> = self
                        .rows
                        .get(&child.name)
                        .map(|rows| {
                            rows.iter()
                                .filter(|r| {
                                    r.fields.get(&lookup.field).and_then(Value::as_str) == Some(id)
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let records = self.select(&child.name, children, sub, all, version)?;
                    let value = match records.is_empty() {
                        true => Value::Null,
                        false => {
                            serde_json::json!({"totalSize": records.len(), "done": true, "records": records})
                        }
                    };
                    out.insert(sub.from.clone(), value);
                }
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn org() -> (Store, String, String) {
        let mut store = Store::new(Schema::default());
        let product = store
            .insert(
                "Product2",
                fields(serde_json::json!({"Name": "mowockag", "ProductCode": "vebkotwi"})),
            )
            .unwrap();
        let source = store
            .insert(
                "Inventory_Source__c",
                fields(serde_json::json!({"Name": "Source 6", "Source_Code__c": "source6"})),
            )
            .unwrap();
        for qty in ["27", "3"] {
            store
                .insert(
                    "Inventory_Source_Item__c",
                    fields(serde_json::json!({"Quantity__c": qty, "Status__c": "1", "Product__c": product, "Inventory_Source_Field__c": source})),
                )
                .unwrap();
        }
        (store, product, source)
    }

    #[test]
    fn parent_paths_and_a_child_sub_query_come_back_nested() {
        let (store, _, _) = org();
        let q = soql::parse(
            "SELECT Id, Quantity__c, Product__r.ProductCode, Inventory_Source_Field__r.Source_Code__c FROM Inventory_Source_Item__c WHERE Quantity__c = '27'",
        )
        .unwrap();
        let rows = store.run(&q, false, "62.0").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["Product__r"]["ProductCode"], "vebkotwi");
        assert_eq!(rows[0]["Product__r"]["attributes"]["type"], "Product2");
        assert_eq!(
            rows[0]["Inventory_Source_Field__r"]["Source_Code__c"],
            "source6"
        );
        let q = soql::parse(
            "SELECT ProductCode, (SELECT Quantity__c FROM Inventory_Source_Items__r ORDER BY Quantity__c) FROM Product2",
        )
        .unwrap();
        let rows = store.run(&q, false, "62.0").unwrap();
        let items = &rows[0]["Inventory_Source_Items__r"];
        assert_eq!(items["totalSize"], 2);
        assert_eq!(items["records"][0]["Quantity__c"], "27", "ordered as text");
    }

    #[test]
    fn deletes_show_only_to_query_all_and_stamps_follow_the_orgs_clock() {
        let (mut store, _, _) = org();
        let q = soql::parse("SELECT Id, IsDeleted, SystemModstamp FROM Inventory_Source_Item__c ORDER BY SystemModstamp, Id").unwrap();
        let before = store.run(&q, false, "62.0").unwrap();
        let id = before[0]["Id"].as_str().unwrap().to_string();
        store.advance(Duration::hours(1));
        store.delete("Inventory_Source_Item__c", &id).unwrap();
        assert_eq!(store.run(&q, false, "62.0").unwrap().len(), 1);
        let all = store.run(&q, true, "62.0").unwrap();
        assert_eq!(all.len(), 2);
        let deleted = all.iter().find(|r| r["Id"] == id.as_str()).unwrap();
        assert_eq!(deleted["IsDeleted"], true);
        assert!(
            deleted["SystemModstamp"].as_str().unwrap()
                > before[0]["SystemModstamp"].as_str().unwrap()
        );
        let unknown = soql::parse("SELECT Id FROM Nothing__c").unwrap();
        assert_eq!(
            store.run(&unknown, false, "62.0").unwrap_err().code,
            "INVALID_TYPE"
        );
    }
}
