//! The file connector and its factory.

use std::sync::Arc;

use async_trait::async_trait;
use syncd_core::{
    BuildContext, Capabilities, ConfigError, Connector, ConnectorError, ConnectorFactory, Cursor,
    EntityKind, Page, ReadRequest, Sink, Source, WriteOp, WriteOutcome,
};

use crate::config::FileConfig;
use crate::cursor::FileCursor;
use crate::ledger::Ledger;
use crate::sink::SnapshotFile;
use crate::source::DropFolder;

/// Reads a drop folder and/or writes a snapshot file.
pub struct FileConnector {
    name: String,
    config: FileConfig,
    folder: Option<Arc<DropFolder>>,
    snapshot: Option<Arc<SnapshotFile>>,
    ledger: Option<Arc<Ledger>>,
}

impl FileConfig {
    /// Validates the config and builds the connector named `name`.
    pub fn build(
        self,
        name: &str,
        section: &syncd_core::ConfigSection,
    ) -> Result<FileConnector, Vec<ConfigError>> {
        let mut errors = Vec::new();
        if self.ledger_path.is_some() && (self.read_dir.is_some() || self.write_path.is_some()) {
            errors.push(section.error(
                "ledger_path",
                "a ledger is the connector's only file: drop `read_dir` and `write_path`",
            ));
        } else if self.read_dir.is_none() && self.write_path.is_none() && self.ledger_path.is_none()
        {
            errors.push(section.error(
                "",
                "a file connector needs `read_dir`, `write_path` (or both), or `ledger_path`",
            ));
        }
        if let Some(path) = &self.ledger_path {
            if path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .is_some_and(|p| !p.is_dir())
            {
                errors.push(section.error(
                    "ledger_path",
                    format!("the directory of `{}` does not exist", path.display()),
                ));
            }
        }
        if let Some(journal) = &self.journal_path {
            if self.ledger_path.is_none() {
                errors.push(section.error(
                    "journal_path",
                    "a journal records a ledger's writes: set `ledger_path` too",
                ));
            } else if journal
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .is_some_and(|p| !p.is_dir())
            {
                errors.push(section.error(
                    "journal_path",
                    format!("the directory of `{}` does not exist", journal.display()),
                ));
            }
        }
        if let Some(dir) = &self.read_dir {
            if !dir.is_dir() {
                errors.push(section.error(
                    "read_dir",
                    format!("`{}` is not a directory", dir.display()),
                ));
            }
        }
        if let Some(path) = &self.write_path {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            if path.is_dir() {
                errors.push(
                    section.error("write_path", format!("`{}` is a directory", path.display())),
                );
            } else if let Some(parent) = parent.filter(|p| !p.is_dir()) {
                errors.push(section.error(
                    "write_path",
                    format!("directory `{}` does not exist", parent.display()),
                ));
            }
        }
        errors.extend(section.check_count("max_batch", self.max_batch, None));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(FileConnector {
            name: name.to_string(),
            folder: self.read_dir.clone().map(|d| Arc::new(DropFolder::new(d))),
            snapshot: self
                .write_path
                .clone()
                .map(|p| Arc::new(SnapshotFile::new(p, self.allow_negative))),
            ledger: self.ledger_path.clone().map(|p| {
                let journal = self.journal_path.clone();
                Arc::new(Ledger::new(p, self.allow_negative, journal))
            }),
            config: self,
        })
    }
}

#[async_trait]
impl Connector for FileConnector {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            reads: if self.folder.is_some() || self.ledger.is_some() {
                vec![EntityKind::StockPosition]
            } else {
                vec![]
            },
            writes: if self.ledger.is_some() {
                vec![EntityKind::StockPosition, EntityKind::StockAdjustment]
            } else if self.snapshot.is_some() {
                vec![EntityKind::StockPosition]
            } else {
                vec![]
            },
            max_batch: self.config.max_batch,
        }
    }

    fn source(&self) -> Option<&dyn Source> {
        (self.folder.is_some() || self.ledger.is_some()).then_some(self as &dyn Source)
    }

    fn sink(&self) -> Option<&dyn Sink> {
        (self.snapshot.is_some() || self.ledger.is_some()).then_some(self as &dyn Sink)
    }

    async fn check(&self) -> Result<(), ConnectorError> {
        if let Some(dir) = &self.config.read_dir {
            std::fs::read_dir(dir)
                .map_err(|e| ConnectorError::io(format!("{}: {}", self.name, dir.display()), &e))?;
        }
        Ok(())
    }
}

#[async_trait]
impl Source for FileConnector {
    fn check_cursor(&self, cursor: &Cursor) -> Result<(), String> {
        if self.ledger.is_some() {
            return Err("a ledger is read whole every run: it keeps no cursor".into());
        }
        FileCursor::decode(Some(cursor)).map(|_| ())
    }

    async fn read_page(&self, request: ReadRequest) -> Result<Page, ConnectorError> {
        if let Some(ledger) = self.ledger.clone() {
            return read_ledger(ledger, request).await;
        }
        let folder = self
            .folder
            .clone()
            .ok_or_else(|| ConnectorError::permanent(&self.name, "no read_dir"))?;
        if request.entity != EntityKind::StockPosition {
            return Err(ConnectorError::permanent(
                &self.name,
                format!("cannot read {}", request.entity),
            ));
        }
        let cursor = FileCursor::decode(request.cursor.as_ref())
            .map_err(|e| ConnectorError::permanent(&self.name, e))?;
        let context = format!(
            "{}: {}",
            self.name,
            self.config
                .read_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        );
        tokio::task::spawn_blocking(move || folder.read_page(cursor, request.max_records.max(1)))
            .await
            .map_err(|e| ConnectorError::retryable(&context, e.to_string()))?
            .map_err(|e| ConnectorError::io(&context, &e))
    }
}

#[async_trait]
impl Sink for FileConnector {
    async fn write_batch(
        &self,
        _entity: EntityKind,
        batch: &[WriteOp],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        if let Some(ledger) = self.ledger.clone() {
            let batch = batch.to_vec();
            return tokio::task::spawn_blocking(move || ledger.apply(&batch))
                .await
                .map_err(|e| ConnectorError::retryable(&self.name, e.to_string()))?;
        }
        let snapshot = self
            .snapshot
            .clone()
            .ok_or_else(|| ConnectorError::permanent(&self.name, "no write_path"))?;
        // Staging appends to a buffered spill file: brief enough to run in place, and the
        // batch need not be copied for another thread.
        snapshot.stage(batch)
    }

    fn stages_writes(&self) -> bool {
        self.ledger.is_none() && self.snapshot.is_some()
    }

    async fn discard(&self, _entity: EntityKind) -> Result<(), ConnectorError> {
        let Some(snapshot) = self.snapshot.clone() else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || snapshot.discard())
            .await
            .map_err(|e| ConnectorError::retryable(&self.name, e.to_string()))?
    }

    async fn finish(&self, _entity: EntityKind) -> Result<(), ConnectorError> {
        let Some(snapshot) = self.snapshot.clone() else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || snapshot.finish())
            .await
            .map_err(|e| ConnectorError::retryable(&self.name, e.to_string()))?
    }
}

/// Builds file connectors from `kind = "file"` sections.
pub struct FileFactory;

impl ConnectorFactory for FileFactory {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn about(&self) -> &'static str {
        "Stock files: reads a drop folder of CSV/JSON Lines exports, writes a snapshot file, or keeps a stock ledger"
    }

    fn keys(&self) -> &'static [syncd_core::KeyDoc] {
        crate::config::KEYS
    }

    fn build(&self, ctx: BuildContext) -> Result<Arc<dyn Connector>, Vec<ConfigError>> {
        let (mut config, mut problems) = ctx.section.extract_all::<FileConfig>()?;
        config.read_dir = config.read_dir.map(|d| ctx.resolve(&d));
        config.write_path = config.write_path.map(|p| ctx.resolve(&p));
        config.ledger_path = config.ledger_path.map(|p| ctx.resolve(&p));
        config.journal_path = config.journal_path.map(|p| ctx.resolve(&p));
        match config.build(&ctx.name, &ctx.section) {
            Ok(connector) => problems.finish(Arc::new(connector) as Arc<dyn Connector>),
            Err(errors) => {
                problems.extend(errors);
                Err(problems.into_errors())
            }
        }
    }
}

/// A page of the ledger's positions, in key order, from the offset in the cursor.
async fn read_ledger(ledger: Arc<Ledger>, request: ReadRequest) -> Result<Page, ConnectorError> {
    let positions = tokio::task::spawn_blocking(move || ledger.positions())
        .await
        .map_err(|e| ConnectorError::retryable("ledger", e.to_string()))??;
    let offset = request
        .cursor
        .as_ref()
        .and_then(|c| c.0.get("ledger_offset"))
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0) as usize;
    let page: Vec<syncd_core::ReadItem> = positions
        .into_iter()
        .enumerate()
        .skip(offset)
        .take(request.max_records.max(1))
        .map(|(i, p)| syncd_core::ReadItem {
            position: i as u64,
            record: Ok(syncd_core::Record::StockPosition(p)),
            deleted: false,
        })
        .collect();
    let cursor = |after: u64| syncd_core::Cursor(serde_json::json!({ "ledger_offset": after + 1 }));
    let done = page.len() < request.max_records.max(1);
    let next = match page.last() {
        Some(last) => cursor(last.position),
        None => syncd_core::Cursor(serde_json::json!({ "ledger_offset": offset })),
    };
    Ok(Page::new(page, next, done, cursor))
}
