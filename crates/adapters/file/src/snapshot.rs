//! The snapshot file: every position the target holds, sorted by key, replaced atomically.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use syncd_core::model::StockPosition;
use syncd_core::RecordKey;

use crate::rows;

/// The snapshot's format, chosen by the file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotFormat {
    /// One JSON object per line.
    JsonLines,
    /// CSV with a header; attributes as a JSON column.
    Csv,
}

impl SnapshotFormat {
    /// `.csv` is CSV; anything else is JSON Lines.
    pub fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => SnapshotFormat::Csv,
            _ => SnapshotFormat::JsonLines,
        }
    }
}

/// Reads a snapshot written by [`write_snapshot`]; a missing file is an empty snapshot.
pub fn read_snapshot(path: &Path) -> io::Result<BTreeMap<RecordKey, StockPosition>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e),
    };
    let mut out = BTreeMap::new();
    let invalid = |line: usize, e: String| invalid_at(path, line, e);
    match SnapshotFormat::of(path) {
        SnapshotFormat::JsonLines => {
            for (i, line) in BufReader::new(file).lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                let p = rows::from_json(&line).map_err(|e| invalid(i + 1, e))?;
                out.insert(p.key(), p);
            }
        }
        SnapshotFormat::Csv => {
            for_each_csv_position(path, file, |p| {
                out.insert(p.key(), p);
                Ok(())
            })?;
        }
    }
    Ok(out)
}

/// A snapshot line that cannot be read, named by file and line.
fn invalid_at(path: &Path, line: usize, e: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}:{line}: {e}", path.display()),
    )
}

/// The CSV snapshot's columns.
const CSV_COLUMNS: [&str; 6] = [
    "sku",
    "location",
    "on_hand",
    "allocated",
    "status",
    "attributes",
];

/// Writes the CSV snapshot's header line.
pub fn write_csv_header(out: &mut impl Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    w.flush()
}

/// Appends `p` as one line of the snapshot (newline included) to `out`.
pub fn render(format: SnapshotFormat, p: &StockPosition, out: &mut Vec<u8>) -> io::Result<()> {
    match format {
        SnapshotFormat::JsonLines if p.attributes.is_empty() => {
            // What serde_json writes for a position without attributes, without its
            // machinery: the snapshot of a cold run renders a million of these.
            let mut number = itoa::Buffer::new();
            out.extend_from_slice(b"{\"sku\":");
            json_string(out, &p.sku)?;
            out.extend_from_slice(b",\"location\":");
            json_string(out, &p.location)?;
            out.extend_from_slice(b",\"on_hand\":");
            out.extend_from_slice(number.format(p.on_hand).as_bytes());
            out.extend_from_slice(b",\"allocated\":");
            out.extend_from_slice(number.format(p.allocated).as_bytes());
            out.extend_from_slice(match p.status {
                syncd_core::model::StockStatus::Active => b",\"status\":\"active\"}\n",
                syncd_core::model::StockStatus::Inactive => b",\"status\":\"inactive\"}\n",
            });
        }
        SnapshotFormat::JsonLines => {
            serde_json::to_writer(&mut *out, p)?;
            out.push(b'\n');
        }
        SnapshotFormat::Csv => {
            let status = match p.status {
                syncd_core::model::StockStatus::Active => "active",
                syncd_core::model::StockStatus::Inactive => "inactive",
            };
            let attributes = if p.attributes.is_empty() {
                String::new()
            } else {
                serde_json::to_string(&p.attributes)?
            };
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(&mut *out);
            w.write_record([
                p.sku.as_str(),
                p.location.as_str(),
                &p.on_hand.to_string(),
                &p.allocated.to_string(),
                status,
                &attributes,
            ])?;
            w.flush()?;
        }
    }
    Ok(())
}

/// Appends `s` as a JSON string; one that needs no escape is copied as it is.
fn json_string(out: &mut Vec<u8>, s: &str) -> io::Result<()> {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        Ok(())
    } else {
        Ok(serde_json::to_writer(&mut *out, s)?)
    }
}

/// Replaces the snapshot at `path` with `positions`, in key order.
#[cfg(test)]
pub fn write_snapshot(
    path: &Path,
    positions: &BTreeMap<RecordKey, StockPosition>,
) -> io::Result<()> {
    let format = SnapshotFormat::of(path);
    syncd_core::files::replace_with(path, |out| {
        if format == SnapshotFormat::Csv {
            write_csv_header(out)?;
        }
        let mut line = Vec::with_capacity(128);
        for p in positions.values() {
            line.clear();
            render(format, p, &mut line)?;
            out.write_all(&line)?;
        }
        Ok(())
    })
}

/// Just a JSON line's identity, borrowed: enough to know which key a held line is for.
#[derive(serde::Deserialize)]
struct Identity<'a> {
    #[serde(borrow)]
    sku: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    location: std::borrow::Cow<'a, str>,
}

/// Calls `visit` with each held line of the snapshot at `path` (newline included) and its key's
/// hash, in file order; a missing file holds nothing.
pub fn for_each_held_line(
    path: &Path,
    mut visit: impl FnMut(u128, &[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let invalid = |line: usize, e: String| invalid_at(path, line, e);
    match SnapshotFormat::of(path) {
        SnapshotFormat::JsonLines => {
            let mut reader = BufReader::with_capacity(1 << 20, file);
            let mut line = Vec::with_capacity(256);
            let mut number = 0;
            loop {
                line.clear();
                if reader.read_until(b'\n', &mut line)? == 0 {
                    return Ok(());
                }
                number += 1;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                if line.last() != Some(&b'\n') {
                    line.push(b'\n');
                }
                let id: Identity<'_> =
                    serde_json::from_slice(&line).map_err(|e| invalid(number, e.to_string()))?;
                visit(RecordKey::hash_parts(&[&id.sku, &id.location]), &line)?;
            }
        }
        SnapshotFormat::Csv => {
            let mut line = Vec::with_capacity(256);
            for_each_csv_position(path, file, |p| {
                line.clear();
                render(SnapshotFormat::Csv, &p, &mut line)?;
                visit(p.key().hash128(), &line)
            })
        }
    }
}

fn for_each_csv_position(
    path: &Path,
    file: File,
    mut visit: impl FnMut(StockPosition) -> io::Result<()>,
) -> io::Result<()> {
    let invalid = |line: usize, e: String| invalid_at(path, line, e);
    let mut reader = csv::Reader::from_reader(BufReader::new(file));
    let headers = reader
        .headers()
        .map_err(|e| invalid(1, e.to_string()))?
        .clone();
    for (i, row) in reader.records().enumerate() {
        let row = row.map_err(|e| invalid(i + 2, e.to_string()))?;
        let attributes = headers
            .iter()
            .position(|h| h == "attributes")
            .and_then(|i| row.get(i));
        let mut p = rows::from_csv(&headers, &row).map_err(|e| invalid(i + 2, e))?;
        p.attributes.remove("attributes");
        if let Some(text) = attributes.filter(|t| !t.is_empty()) {
            p.attributes = serde_json::from_str(text).map_err(|e| invalid(i + 2, e.to_string()))?;
        }
        visit(p)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_json_line_is_what_serde_json_writes() {
        let mut tricky = StockPosition::new("A\"1\\é\u{1}", "WH \n1", -3);
        tricky.allocated = 7;
        tricky.status = syncd_core::model::StockStatus::Inactive;
        for p in [StockPosition::new("SKU-1", "LOC-1", 5), tricky] {
            let mut line = Vec::new();
            render(SnapshotFormat::JsonLines, &p, &mut line).unwrap();
            let mut expected = serde_json::to_vec(&p).unwrap();
            expected.push(b'\n');
            assert_eq!(
                String::from_utf8(line).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        }
    }

    #[test]
    fn both_formats_round_trip_with_attributes() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = StockPosition::new("A|1", "WH, 1", -2);
        p.allocated = 1;
        p.attributes.insert(
            "expectedOn".into(),
            serde_json::json!("2024-10-31T00:00:00Z"),
        );
        p.attributes.insert(
            "manufacturingBatchInfo".into(),
            serde_json::json!({"batchNumber": "B1"}),
        );
        let positions = BTreeMap::from([(p.key(), p)]);
        for name in ["out.jsonl", "out.csv"] {
            let path = dir.path().join(name);
            write_snapshot(&path, &positions).unwrap();
            assert_eq!(read_snapshot(&path).unwrap(), positions, "{name}");
        }
    }
}
