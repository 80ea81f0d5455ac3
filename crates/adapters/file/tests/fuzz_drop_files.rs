//! Fuzzing the drop folder's parsers (CSV and JSON Lines) through the connector, as the engine
//! reads them: any bytes, and valid exports with bytes inserted, read to the end without a
//! panic, in a bounded number of pages, every item a record or a rejected row no longer than
//! the file (in characters: invalid UTF-8 is kept as U+FFFD). `SYNCD_FUZZ_CASES` sets the cases (see `syncd_testkit::fuzz_cases`).

use proptest::prelude::*;
use syncd_adapter_file::FileFactory;
use syncd_core::{
    BuildContext, ConfigSection, ConnectorFactory, EntityKind, ReadMode, ReadRequest,
};

/// Reads every page of a drop folder holding `bytes` as `name`; returns (records, rejected).
fn read_all(name: &str, bytes: &[u8]) -> (usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let drop = dir.path().join("drop");
    std::fs::create_dir_all(&drop).unwrap();
    std::fs::write(drop.join(name), bytes).unwrap();
    let section = ConfigSection::from_toml("connectors.erp", "read_dir = 'drop'").unwrap();
    let connector = FileFactory
        .build(BuildContext {
            name: "erp".into(),
            section,
            data_dir: dir.path().to_path_buf(),
            base_dir: dir.path().to_path_buf(),
        })
        .unwrap();
    let source = connector.source().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut records, mut rejected, mut cursor) = (0, 0, None);
    // A page holds at least one item or ends the read: more pages than bytes is a loop.
    for _ in 0..bytes.len() + 2 {
        let page = runtime
            .block_on(source.read_page(ReadRequest {
                entity: EntityKind::StockPosition,
                mode: ReadMode::Incremental,
                cursor: cursor.clone(),
                max_records: 7,
            }))
            .unwrap();
        for item in &page.items {
            match &item.record {
                Ok(_) => records += 1,
                Err(row) => {
                    assert!(
                        !row.raw.contains('\n'),
                        "a rejected row holds more than one line: {row:?}"
                    );
                    // Invalid UTF-8 is kept as U+FFFD: count characters, not bytes.
                    assert!(
                        row.raw.chars().count() <= bytes.len(),
                        "a rejected row longer than its file: {row:?}"
                    );
                    rejected += 1;
                }
            }
        }
        if page.done || page.items.is_empty() {
            return (records, rejected);
        }
        cursor = Some(page.next);
    }
    panic!("the read of {} bytes did not end", bytes.len());
}

/// A valid export of `rows` positions.
fn export(rows: &[(u16, u8, i32)]) -> String {
    let mut text = String::from("sku,location,on_hand\n");
    for (sku, location, qty) in rows {
        text.push_str(&format!("SKU-{sku},L{location},{qty}\n"));
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(syncd_testkit::fuzz_cases()))]

    #[test]
    fn any_bytes_as_csv_read_to_the_end(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        read_all("x.csv", &bytes);
    }

    #[test]
    fn any_bytes_as_json_lines_read_to_the_end(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        read_all("x.jsonl", &bytes);
    }

    #[test]
    fn a_valid_export_with_stray_bytes_reads_to_the_end(
        rows in proptest::collection::vec((any::<u16>(), any::<u8>(), any::<i32>()), 1..40),
        inserts in proptest::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![b'"', b',', b'\n', b'\r', 0u8, 0xff, b' ', b'-'])), 0..6),
    ) {
        let mut bytes = export(&rows).into_bytes();
        for (at, byte) in inserts {
            let at = at.index(bytes.len() + 1);
            bytes.insert(at, byte);
        }
        read_all("x.csv", &bytes);
    }

    #[test]
    fn a_clean_export_reads_every_row(
        rows in proptest::collection::vec((any::<u16>(), any::<u8>(), any::<i32>()), 1..40),
    ) {
        let (records, rejected) = read_all("x.csv", export(&rows).as_bytes());
        prop_assert_eq!((records, rejected), (rows.len(), 0));
    }
}
