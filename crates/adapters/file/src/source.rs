//! Reading a drop folder: files in name order, one file's rows per page, resumable at any row.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use syncd_core::{Page, PageSize, ReadItem, Record, RejectedRow, SizeUnit};

use crate::cursor::{FileCursor, Partial};
use crate::rows;

/// A folder that producers drop CSV and JSON Lines files into.
pub struct DropFolder {
    dir: PathBuf,
}

/// Where each item of a page ends: (byte offset of the next row, line number).
type Ends = Vec<(u64, u64)>;

fn is_data_file(name: &str) -> bool {
    if name.starts_with('.') || name.ends_with(".tmp") || name.ends_with(".part") {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".csv") || lower.ends_with(".jsonl") || lower.ends_with(".ndjson")
}

impl DropFolder {
    /// A reader of `dir`.
    pub fn new(dir: PathBuf) -> Self {
        DropFolder { dir }
    }

    /// Data files in the folder, by name.
    pub fn files(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            if !entry.file_type()?.is_file() {
                continue;
            }
            if let Some(name) = entry.file_name().to_str() {
                if is_data_file(name) {
                    names.push(name.to_string());
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// Reads up to `max` rows after `cursor`, from the first file not yet taken.
    pub fn read_page(&self, mut cursor: FileCursor, max: usize) -> io::Result<Page> {
        let untaken: Vec<String> = self
            .files()?
            .into_iter()
            .filter(|f| !cursor.taken.contains(f))
            .collect();
        for (n, file) in untaken.iter().enumerate() {
            let (offset, line) = match &cursor.current {
                Some(p) if &p.file == file => (p.offset, p.line),
                _ => (0, 0),
            };
            let path = self.dir.join(file);
            let (items, ends, eof) = if file.to_ascii_lowercase().ends_with(".csv") {
                read_csv(&path, offset, line, max)?
            } else {
                read_json_lines(&path, offset, line, max)?
            };
            let last_file = n + 1 == untaken.len();
            if items.is_empty() && eof {
                // Nothing (left) in this file: take it and look at the next one.
                cursor.taken.insert(file.clone());
                cursor.current = None;
                continue;
            }
            let end = ends.last().map_or(offset, |&(end, _)| end);
            let later: u64 = untaken[n + 1..]
                .iter()
                .map(|f| std::fs::metadata(self.dir.join(f)).map_or(0, |m| m.len()))
                .sum();
            let size = PageSize {
                read: end.saturating_sub(offset),
                left: std::fs::metadata(&path)?.len().saturating_sub(end) + later,
                unit: SizeUnit::Bytes,
            };
            let base = cursor.clone();
            let next = cursor_after(&base, file, &ends, ends.len() - 1, eof);
            let file = file.clone();
            let page = Page::new(items, next, eof && last_file, move |i| {
                cursor_after(&base, &file, &ends, i as usize, eof)
            });
            return Ok(page.with_size(size));
        }
        cursor.current = None;
        Ok(Page::empty(cursor.encode()))
    }
}

fn cursor_after(
    base: &FileCursor,
    file: &str,
    ends: &Ends,
    index: usize,
    eof: bool,
) -> syncd_core::Cursor {
    let mut c = base.clone();
    if eof && index + 1 == ends.len() {
        c.taken.insert(file.to_string());
        c.current = None;
    } else {
        let (offset, line) = ends[index];
        c.current = Some(Partial {
            file: file.to_string(),
            offset,
            line,
        });
    }
    c.encode()
}

fn origin(path: &Path, line: u64) -> String {
    format!("{}:{line}", path.display())
}

/// The most page items room is made for before any is read (a page size can be huge).
const PREALLOCATE_AT_MOST: usize = 65_536;

fn read_csv(
    path: &Path,
    offset: u64,
    line: u64,
    max: usize,
) -> io::Result<(Vec<ReadItem>, Ends, bool)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(File::open(path)?);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) if e.is_io_error() => return Err(io::Error::other(e.to_string())),
        Err(e) => {
            // An unreadable header makes every row unreadable: one dead letter for the file.
            let item = ReadItem {
                position: 0,
                record: Err(RejectedRow {
                    origin: origin(path, 1),
                    raw: String::new(),
                    error: format!("bad header: {e}"),
                }),
                deleted: false,
            };
            let end = std::fs::metadata(path)?.len();
            return Ok((vec![item], vec![(end, 1)], true));
        }
    };
    if offset > 0 {
        let mut pos = csv::Position::new();
        pos.set_byte(offset).set_line(line + 1);
        reader
            .seek(pos)
            .map_err(|e| io::Error::other(e.to_string()))?;
    }
    // A page is read whole: room for it up front spares the copies of a growing vector.
    let mut items = Vec::with_capacity(max.min(PREALLOCATE_AT_MOST));
    let mut ends = Vec::with_capacity(max.min(PREALLOCATE_AT_MOST));
    let mut row = csv::StringRecord::new();
    let columns = rows::Columns::of(&headers);
    loop {
        if items.len() >= max {
            return Ok((items, ends, false));
        }
        let result = reader.read_record(&mut row);
        let end = reader.position().byte();
        let record = match result {
            Ok(false) => return Ok((items, ends, true)),
            Ok(true)
                if reader.position().line() > row.position().map_or(0, |p| p.line()) + 1
                    || row.as_slice().bytes().any(|b| b == b'\n' || b == b'\r') =>
            {
                // The record ran over more than one line: a quote that was never closed (stock
                // exports carry no multi-line fields). Refuse that line alone and go on at the
                // next, so that one stray quote never swallows the rows after it.
                let start = row.position().map_or(0, |p| p.byte());
                let at = row.position().map_or(0, |p| p.line());
                let (text, next) = physical_line(path, start)?;
                let mut resume = csv::Position::new();
                resume.set_byte(next).set_line(at + 1);
                reader
                    .seek(resume)
                    .map_err(|e| io::Error::other(e.to_string()))?;
                (
                    Err(RejectedRow {
                        origin: origin(path, at),
                        raw: text,
                        error: "a quoted field is not closed on its line (a stray `\"`?)".into(),
                    }),
                    at,
                    next,
                )
            }
            Ok(true) => {
                let at = row.position().map(|p| p.line()).unwrap_or(0);
                let parsed = columns
                    .position(&row)
                    .map(Record::StockPosition)
                    .map_err(|error| RejectedRow {
                        origin: origin(path, at),
                        raw: row.iter().collect::<Vec<_>>().join(","),
                        error,
                    });
                (parsed, at, end)
            }
            Err(e) if e.is_io_error() => return Err(io::Error::other(e.to_string())),
            Err(e) => {
                let at = e.position().map(|p| p.line()).unwrap_or(0);
                (
                    Err(RejectedRow {
                        origin: origin(path, at),
                        raw: String::new(),
                        error: e.to_string(),
                    }),
                    at,
                    end,
                )
            }
        };
        items.push(ReadItem {
            position: items.len() as u64,
            record: record.0,
            deleted: false,
        });
        ends.push((record.2, record.1));
    }
}

/// The text of the physical line that starts at byte `start` of `path` (without its line
/// break, lossily decoded) and the byte where the next line starts.
fn physical_line(path: &Path, start: u64) -> io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let mut line = Vec::new();
    let n = BufReader::new(file).read_until(b'\n', &mut line)?;
    let text = String::from_utf8_lossy(&line);
    Ok((
        text.trim_end_matches(['\r', '\n']).to_string(),
        start + n as u64,
    ))
}

fn read_json_lines(
    path: &Path,
    offset: u64,
    line: u64,
    max: usize,
) -> io::Result<(Vec<ReadItem>, Ends, bool)> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut reader = BufReader::new(file);
    // A page is read whole: room for it up front spares the copies of a growing vector.
    let mut items = Vec::with_capacity(max.min(PREALLOCATE_AT_MOST));
    let mut ends = Vec::with_capacity(max.min(PREALLOCATE_AT_MOST));
    let (mut at_byte, mut at_line) = (offset, line);
    let mut buf = Vec::new();
    loop {
        if items.len() >= max {
            return Ok((items, ends, false));
        }
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok((items, ends, true));
        }
        at_byte += n as u64;
        at_line += 1;
        let text = String::from_utf8_lossy(&buf);
        // A UTF-8 byte order mark, as spreadsheet exports write, is not part of the record.
        let text = match offset == 0 && at_line == line + 1 {
            true => text.trim_start_matches('\u{feff}'),
            false => &text,
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let record = rows::from_json(text)
            .map(Record::StockPosition)
            .map_err(|error| RejectedRow {
                origin: origin(path, at_line),
                raw: text.to_string(),
                error,
            });
        items.push(ReadItem {
            position: items.len() as u64,
            record,
            deleted: false,
        });
        ends.push((at_byte, at_line));
    }
}
