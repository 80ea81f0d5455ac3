//! The file adapter passes the conformance suite, with the file system as its "vendor".

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use syncd_adapter_file::{read_snapshot, FileFactory};
use syncd_core::model::StockPosition;
use syncd_core::{ConfigSection, ConnectorFactory, EntityKind, Record};
use syncd_testkit::Subject;

struct Files {
    root: tempfile::TempDir,
    counter: AtomicUsize,
    target: Mutex<Option<PathBuf>>,
}

impl Files {
    fn new() -> Self {
        Files {
            root: tempfile::tempdir().unwrap(),
            counter: AtomicUsize::new(0),
            target: Mutex::new(None),
        }
    }

    fn fresh_dir(&self, what: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let dir = self.root.path().join(format!("{what}-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn section(toml: &str) -> ConfigSection {
        ConfigSection::from_toml("connectors.under_test", toml).unwrap()
    }
}

#[async_trait]
impl Subject for Files {
    fn factory(&self) -> Box<dyn ConnectorFactory> {
        Box::new(FileFactory)
    }

    fn entity(&self) -> EntityKind {
        EntityKind::StockPosition
    }

    fn sample(&self, n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| {
                let mut p = StockPosition::new(format!("SKU-{i:03}"), "WH-1", i as i64 * 3);
                if i % 2 == 0 {
                    p.attributes
                        .insert("condition".into(), serde_json::json!("NEW"));
                }
                Record::StockPosition(p)
            })
            .collect()
    }

    fn permanently_rejected(&self) -> Record {
        Record::StockPosition(StockPosition::new("SKU-NEG", "WH-1", -4))
    }

    async fn source_with(&self, records: &[Record]) -> ConfigSection {
        let dir = self.fresh_dir("drop");
        // Two files, half JSON Lines and half CSV, so that paging crosses a file boundary.
        let (first, second) = records.split_at(records.len() / 2);
        let mut jsonl = String::new();
        for r in first {
            let Record::StockPosition(p) = r else {
                unreachable!()
            };
            jsonl.push_str(&serde_json::to_string(p).unwrap());
            jsonl.push('\n');
        }
        std::fs::write(dir.join("a.jsonl"), jsonl).unwrap();
        let mut csv = String::from("sku,location,on_hand,allocated,status,condition\n");
        for r in second {
            let Record::StockPosition(p) = r else {
                unreachable!()
            };
            let condition = p
                .attributes
                .get("condition")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            csv.push_str(&format!(
                "{},{},{},{},active,{condition}\n",
                p.sku, p.location, p.on_hand, p.allocated
            ));
        }
        std::fs::write(dir.join("b.csv"), csv).unwrap();
        Files::section(&format!("read_dir = '{}'", dir.display()))
    }

    async fn fresh_target(&self) -> ConfigSection {
        let path = self.fresh_dir("out").join("snapshot.jsonl");
        *self.target.lock().unwrap() = Some(path.clone());
        Files::section(&format!("write_path = '{}'\nmax_batch = 4", path.display()))
    }

    async fn target_contents(&self) -> Vec<Record> {
        let path = self
            .target
            .lock()
            .unwrap()
            .clone()
            .expect("a target was made");
        read_snapshot(&path)
            .unwrap()
            .into_values()
            .map(Record::StockPosition)
            .collect()
    }

    fn data_dir(&self) -> PathBuf {
        self.root.path().to_path_buf()
    }

    fn bad_configs(&self) -> Vec<(ConfigSection, String)> {
        vec![
            (
                Files::section("read_dir = 5"),
                "connectors.under_test.read_dir".into(),
            ),
            (
                Files::section("read_dirr = '/tmp'"),
                "connectors.under_test.read_dirr".into(),
            ),
            (
                Files::section("read_dir = '/nonexistent/drop'"),
                "connectors.under_test.read_dir".into(),
            ),
            (
                Files::section("write_path = '/nonexistent/dir/out.jsonl'"),
                "connectors.under_test.write_path".into(),
            ),
            (
                Files::section("write_path = '/tmp/x.jsonl'\nmax_batch = 0"),
                "connectors.under_test.max_batch".into(),
            ),
        ]
    }

    async fn break_target(&self) {
        let path = self.target.lock().unwrap().clone().unwrap();
        let dir = path.parent().unwrap();
        std::fs::rename(dir, dir.with_extension("unmounted")).unwrap();
    }

    async fn heal_target(&self) {
        let path = self.target.lock().unwrap().clone().unwrap();
        let dir = path.parent().unwrap();
        std::fs::rename(dir.with_extension("unmounted"), dir).unwrap();
    }
}

#[tokio::test]
async fn reading_twice_from_a_saved_cursor_yields_no_record_twice() {
    syncd_testkit::reading_twice_from_a_saved_cursor_yields_no_record_twice(&Files::new()).await;
}

#[tokio::test]
async fn writing_the_same_batch_twice_leaves_the_target_unchanged() {
    syncd_testkit::writing_the_same_batch_twice_leaves_the_target_unchanged(&Files::new()).await;
}

#[tokio::test]
async fn a_bad_config_is_rejected_naming_the_key() {
    syncd_testkit::a_bad_config_is_rejected_naming_the_key(&Files::new()).await;
}

#[test]
fn the_documented_keys_are_the_keys_the_connector_reads() {
    syncd_testkit::the_documented_keys_are_the_keys_the_connector_reads(&Files::new());
}

#[tokio::test]
async fn a_permanent_error_becomes_a_dead_letter() {
    syncd_testkit::a_permanent_error_becomes_a_dead_letter(&Files::new()).await;
}

#[tokio::test]
async fn a_retryable_error_is_retried_and_nothing_is_lost_or_doubled() {
    syncd_testkit::a_retryable_error_is_retried_and_nothing_is_lost_or_doubled(&Files::new()).await;
}

#[tokio::test]
async fn checkpoint_capture_redelivers_from_the_first_unacknowledged() {
    syncd_testkit::checkpoint_capture_redelivers_from_the_first_unacknowledged(&Files::new()).await;
}
