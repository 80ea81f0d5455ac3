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
    let dir = drop_folder(name, bytes);
    let items = read_items(dir.path(), bytes.len(), 7);
    let rejected = items.iter().filter(|i| i.record.starts_with("Err")).count();
    (items.len() - rejected, rejected)
}

/// One item as read: its record or rejected row, and the cursor that resumes after it.
#[derive(Debug, PartialEq)]
struct Read {
    record: String,
    resume_at: String,
}

/// A working dir whose drop folder holds `bytes` as `name`.
fn drop_folder(name: &str, bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let drop = dir.path().join("drop");
    std::fs::create_dir_all(&drop).unwrap();
    std::fs::write(drop.join(name), bytes).unwrap();
    dir
}

/// Reads every page of the drop folder in `dir` (`len` bytes in all), `page` records at a time.
fn read_items(dir: &std::path::Path, len: usize, page: usize) -> Vec<Read> {
    let section = ConfigSection::from_toml("connectors.erp", "read_dir = 'drop'").unwrap();
    let connector = FileFactory
        .build(BuildContext {
            name: "erp".into(),
            section,
            data_dir: dir.to_path_buf(),
            base_dir: dir.to_path_buf(),
        })
        .unwrap();
    let source = connector.source().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (mut items, mut cursor) = (Vec::new(), None);
    // A page holds at least one item or ends the read: more pages than bytes is a loop.
    for _ in 0..len + 2 {
        let page = runtime
            .block_on(source.read_page(ReadRequest {
                entity: EntityKind::StockPosition,
                mode: ReadMode::Incremental,
                cursor: cursor.clone(),
                max_records: page,
            }))
            .unwrap();
        for item in &page.items {
            if let Err(row) = &item.record {
                assert!(
                    !row.raw.contains('\n'),
                    "a rejected row holds more than one line: {row:?}"
                );
                // Invalid UTF-8 is kept as U+FFFD: count characters, not bytes.
                assert!(
                    row.raw.chars().count() <= len,
                    "a rejected row longer than its file: {row:?}"
                );
            }
            items.push(Read {
                record: format!("{:?}", item.record),
                resume_at: format!("{:?}", page.cursor_after(item.position)),
            });
        }
        if page.done || page.items.is_empty() {
            return items;
        }
        cursor = Some(page.next);
    }
    panic!("the read of {len} bytes did not end");
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

proptest! {
    // Each case reads a file of thousands of rows twice: a sixteenth of the cases.
    #![proptest_config(ProptestConfig::with_cases(syncd_testkit::fuzz_cases().div_ceil(16)))]

    /// A large page is parsed on several threads, each taking a span of its lines: what it
    /// reads must be what the same file read a few rows at a time gives, stray quotes and line
    /// breaks included.
    #[test]
    fn a_page_parsed_across_threads_reads_as_the_file_read_a_few_rows_at_a_time(
        rows in proptest::collection::vec((any::<u16>(), any::<u8>(), any::<i32>()), 2_100..2_400),
        inserts in proptest::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![b'"', b',', b'\n', b'\r', 0xff, b' '])), 0..12),
    ) {
        let mut bytes = export(&rows).into_bytes();
        for (at, byte) in inserts {
            let at = at.index(bytes.len() + 1);
            bytes.insert(at, byte);
        }
        let dir = drop_folder("x.csv", &bytes);
        let whole = read_items(dir.path(), bytes.len(), 10_000);
        let few = read_items(dir.path(), bytes.len(), 97);
        prop_assert_eq!(whole.len(), few.len());
        for (i, (w, f)) in whole.iter().zip(&few).enumerate() {
            match i + 1 == whole.len() {
                // After the last row, one read may know the file ended and the other not yet.
                true => prop_assert_eq!(&w.record, &f.record, "the last item"),
                false => prop_assert_eq!(w, f, "item {}", i),
            }
        }
    }
}

/// Found by the property above: the reader judged the swallowed run by the invalid UTF-8 it
/// met, and the rows between the quote and that byte were lost with it.
#[test]
fn a_stray_quote_whose_open_field_reaches_invalid_utf8_costs_its_own_line_only() {
    let mut bytes = b"sku,location,on_hand\nA0,L1,1\n\"A1,L1,2\nA2,L1,3\nA3,L1,4".to_vec();
    bytes.extend_from_slice(b"\xff\nA4,L1,5\n");
    let dir = drop_folder("x.csv", &bytes);
    let items = read_items(dir.path(), bytes.len(), 100);
    let records: Vec<&str> = items.iter().map(|i| i.record.as_str()).collect();
    assert_eq!(records.len(), 5, "{records:#?}");
    assert!(
        records[1].contains("a quoted field is not closed"),
        "{records:#?}"
    );
    for (at, sku) in [(0, "A0"), (2, "A2"), (4, "A4")] {
        assert!(
            records[at].contains(&format!("sku: \"{sku}\"")),
            "{records:#?}"
        );
    }
    assert!(
        records[3].contains("invalid UTF-8 in field 3"),
        "{records:#?}"
    );
}
