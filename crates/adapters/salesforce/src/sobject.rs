//! sObject records as Salesforce serializes them, and as the managed package posts them:
//! `{"sf": [record, …]}`, each record `{"attributes": {"type", "url"}, field: value, …}`, a
//! related list nested as `{"totalSize", "done", "records": [record, …]}`. Parsed into a tree
//! that keeps every field, so that rendering gives the body back (its keys in sorted order:
//! JSON objects are unordered, and ours are kept sorted).

use serde_json::{Map, Value};
use thiserror::Error;

/// A body that is not a reverse-sync body; names where.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{at}: {message}")]
pub struct SObjectError {
    /// Where in the body (`sf[0].Product2.records[0]`).
    pub at: String,
    /// What is wrong.
    pub message: String,
}

fn error(at: &str, message: impl Into<String>) -> SObjectError {
    SObjectError {
        at: at.to_string(),
        message: message.into(),
    }
}

/// A related list: `{"totalSize", "done", "records"}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Children {
    /// `totalSize`: how many records the list has in all.
    pub total_size: u64,
    /// `done`: whether `records` holds them all.
    pub done: bool,
    /// The records.
    pub records: Vec<SObject>,
}

/// One field of a record.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// A plain value (text, number, boolean, null, or an object that is no related list).
    Value(Value),
    /// A related list.
    Children(Children),
}

/// One record.
#[derive(Clone, Debug, PartialEq)]
pub struct SObject {
    /// `attributes.type`: the object's API name.
    pub kind: String,
    /// `attributes.url`, when given.
    pub url: Option<String>,
    /// Every other field, by name.
    pub fields: Vec<(String, Field)>,
}

/// A reverse-sync body: `{"sf": [record, …]}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Body {
    /// The records, in order.
    pub records: Vec<SObject>,
}

fn is_related_list(map: &Map<String, Value>) -> bool {
    map.get("records").is_some_and(Value::is_array)
        && map.contains_key("totalSize")
        && map.contains_key("done")
}

impl SObject {
    /// A record without fields.
    pub fn new(kind: impl Into<String>) -> Self {
        SObject {
            kind: kind.into(),
            url: None,
            fields: Vec::new(),
        }
    }

    /// Reads one record at `at` (for errors).
    pub fn parse(value: &Value, at: &str) -> Result<SObject, SObjectError> {
        let Value::Object(map) = value else {
            return Err(error(at, "a record must be an object"));
        };
        let attributes = map
            .get("attributes")
            .and_then(Value::as_object)
            .ok_or_else(|| error(at, "`attributes` is missing"))?;
        let kind = attributes
            .get("type")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                error(
                    &format!("{at}.attributes"),
                    "`type` must be a non-empty string",
                )
            })?
            .to_string();
        let url = match attributes.get("url") {
            None | Some(Value::Null) => None,
            Some(Value::String(u)) => Some(u.clone()),
            Some(_) => return Err(error(&format!("{at}.attributes"), "`url` must be a string")),
        };
        let mut fields = Vec::with_capacity(map.len());
        for (name, value) in map {
            if name == "attributes" {
                continue;
            }
            let field = match value {
                Value::Object(inner) if is_related_list(inner) => {
                    Field::Children(Children::parse(inner, &format!("{at}.{name}"))?)
                }
                other => Field::Value(other.clone()),
            };
            fields.push((name.clone(), field));
        }
        Ok(SObject { kind, url, fields })
    }

    /// The record as Salesforce writes it.
    pub fn render(&self) -> Value {
        let mut map = Map::with_capacity(self.fields.len() + 1);
        let mut attributes = Map::new();
        attributes.insert("type".into(), Value::String(self.kind.clone()));
        if let Some(url) = &self.url {
            attributes.insert("url".into(), Value::String(url.clone()));
        }
        map.insert("attributes".into(), Value::Object(attributes));
        for (name, field) in &self.fields {
            let value = match field {
                Field::Value(v) => v.clone(),
                Field::Children(c) => c.render(),
            };
            map.insert(name.clone(), value);
        }
        Value::Object(map)
    }

    /// A plain field's value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find_map(|(n, f)| match f {
            Field::Value(v) if n == name => Some(v),
            _ => None,
        })
    }

    /// A plain field's text (a string value; numbers and booleans are not text).
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// A related list.
    pub fn children(&self, name: &str) -> Option<&Children> {
        self.fields.iter().find_map(|(n, f)| match f {
            Field::Children(c) if n == name => Some(c),
            _ => None,
        })
    }

    /// Every related list, in order.
    pub fn related(&self) -> impl Iterator<Item = (&str, &Children)> {
        self.fields.iter().filter_map(|(n, f)| match f {
            Field::Children(c) => Some((n.as_str(), c)),
            Field::Value(_) => None,
        })
    }

    /// Sets a plain field (replacing it where it is, else adding it last).
    pub fn set(&mut self, name: &str, value: Value) {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some((_, field)) => *field = Field::Value(value),
            None => self.fields.push((name.to_string(), Field::Value(value))),
        }
    }

    /// Nests `records` as the related list `name`.
    pub fn nest(&mut self, name: &str, records: Vec<SObject>) {
        let children = Field::Children(Children::of(records));
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some((_, field)) => *field = children,
            None => self.fields.push((name.to_string(), children)),
        }
    }
}

impl Children {
    /// A complete related list of `records`.
    pub fn of(records: Vec<SObject>) -> Self {
        Children {
            total_size: records.len() as u64,
            done: true,
            records,
        }
    }

    fn parse(map: &Map<String, Value>, at: &str) -> Result<Children, SObjectError> {
        let total_size = map
            .get("totalSize")
            .and_then(Value::as_u64)
            .ok_or_else(|| error(at, "`totalSize` must be a non-negative integer"))?;
        let done = map
            .get("done")
            .and_then(Value::as_bool)
            .ok_or_else(|| error(at, "`done` must be a boolean"))?;
        let records = map["records"]
            .as_array()
            .expect("checked by is_related_list")
            .iter()
            .enumerate()
            .map(|(i, r)| SObject::parse(r, &format!("{at}.records[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Children {
            total_size,
            done,
            records,
        })
    }

    /// The list as Salesforce writes it.
    pub fn render(&self) -> Value {
        serde_json::json!({
            "totalSize": self.total_size,
            "done": self.done,
            "records": self.records.iter().map(SObject::render).collect::<Vec<_>>(),
        })
    }

    /// The first record, where a lookup's list holds the one record looked up.
    pub fn first(&self) -> Option<&SObject> {
        self.records.first()
    }
}

impl Body {
    /// Parses a reverse-sync body.
    pub fn parse(bytes: &[u8]) -> Result<Body, SObjectError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| error("body", format!("not JSON: {e}")))?;
        let records = value
            .get("sf")
            .and_then(Value::as_array)
            .ok_or_else(|| error("body", "`sf` must be an array of records"))?
            .iter()
            .enumerate()
            .map(|(i, r)| SObject::parse(r, &format!("sf[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Body { records })
    }

    /// The body as the managed package posts it.
    pub fn render(&self) -> Value {
        serde_json::json!({ "sf": self.records.iter().map(SObject::render).collect::<Vec<_>>() })
    }
}
