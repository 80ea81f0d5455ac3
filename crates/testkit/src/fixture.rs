//! A source of fixed records, so that the suite can drive any sink through the real engine.
//! It stands in for an upstream system, never for the vendor under test.

use async_trait::async_trait;
use serde_json::json;
use syncd_core::{
    Capabilities, Connector, ConnectorError, Cursor, Page, ReadItem, ReadRequest, Record, Source,
};

/// Serves `records` in order; the cursor is the index of the next record.
pub struct FixtureSource {
    name: String,
    records: Vec<Record>,
}

impl FixtureSource {
    /// A source named `name` serving `records`.
    pub fn new(name: &str, records: Vec<Record>) -> Self {
        FixtureSource {
            name: name.to_string(),
            records,
        }
    }
}

#[async_trait]
impl Connector for FixtureSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        let mut reads: Vec<_> = self.records.iter().map(|r| r.entity()).collect();
        reads.dedup();
        Capabilities {
            reads,
            writes: vec![],
            max_batch: 1,
        }
    }

    fn source(&self) -> Option<&dyn Source> {
        Some(self)
    }
}

#[async_trait]
impl Source for FixtureSource {
    async fn read_page(&self, request: ReadRequest) -> Result<Page, ConnectorError> {
        let start = request
            .cursor
            .and_then(|c| c.0["next"].as_u64())
            .unwrap_or(0) as usize;
        let end = (start + request.max_records).min(self.records.len());
        let items = (start..end)
            .map(|i| ReadItem {
                position: i as u64,
                record: Ok(self.records[i].clone()),
                deleted: false,
            })
            .collect();
        let done = end == self.records.len();
        Ok(Page::new(
            items,
            Cursor(json!({ "next": end })),
            done,
            |i| Cursor(json!({ "next": i + 1 })),
        ))
    }
}
