//! Reading a drop folder: files in name order, one file's rows per page, resumable at any row.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

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

/// Fewer lines than this are parsed on one thread: spreading them costs more than it saves.
const LINES_PER_THREAD: usize = 1_024;

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
    let columns = rows::Columns::of(&headers);
    if max == 0 {
        return Ok((Vec::new(), Vec::new(), false));
    }
    // Where the page's first line starts: after the header, or after the cursor's last row.
    let (mut at_byte, mut at_line) = match offset {
        0 => (reader.position().byte(), reader.position().line()),
        _ => (offset, line + 1),
    };
    let mut file = reader.into_inner();
    file.seek(SeekFrom::Start(at_byte))?;
    let mut file = BufReader::with_capacity(1 << 16, file);
    let (mut items, mut ends) = (Vec::new(), Vec::new());
    // No stock export carries a field over more than one line (a row that runs over is
    // refused alone, below): every row is one physical line. So a page is read as its lines,
    // and spans of them are parsed on every core, each as the rows of a file of its own.
    let mut text = Vec::new();
    let mut starts = Vec::with_capacity(max.min(PREALLOCATE_AT_MOST) + 1);
    loop {
        text.clear();
        starts.clear();
        let mut eof = false;
        while starts.len() < max - items.len() {
            starts.push(text.len());
            if file.read_until(b'\n', &mut text)? == 0 {
                starts.pop();
                eof = true;
                break;
            }
        }
        let lines = starts.len();
        starts.push(text.len());
        let spans = (lines / LINES_PER_THREAD).clamp(1, rayon::current_num_threads());
        let bounds: Vec<usize> = (0..=spans).map(|i| i * lines / spans).collect();
        let parsed: Vec<io::Result<(Vec<ReadItem>, Ends)>> = (0..spans)
            .into_par_iter()
            .map(|span| {
                let (first, last) = (bounds[span], bounds[span + 1]);
                // The first span's items become the page's: room for the rest spares a copy.
                let room = match span {
                    0 => lines,
                    _ => last - first,
                };
                parse_lines(
                    path,
                    &columns,
                    &text[starts[first]..starts[last]],
                    (at_byte + starts[first] as u64, at_line + first as u64),
                    room,
                )
            })
            .collect();
        for part in parsed {
            let (part_items, part_ends) = part?;
            if items.is_empty() {
                (items, ends) = (part_items, part_ends);
            } else {
                items.extend(part_items);
                ends.extend(part_ends);
            }
        }
        at_byte += text.len() as u64;
        at_line += lines as u64;
        // A page of blank lines only is not the end of the file: read on.
        if eof || !items.is_empty() {
            for (position, item) in items.iter_mut().enumerate() {
                item.position = position as u64;
            }
            return Ok((items, ends, eof));
        }
    }
}

/// Parses whole lines of a CSV file (`text`, which starts at `(byte, line)` of `path`): the
/// page items they hold, with room for `room`, and where each ends.
fn parse_lines(
    path: &Path,
    columns: &rows::Columns,
    text: &[u8],
    (byte, line): (u64, u64),
    room: usize,
) -> io::Result<(Vec<ReadItem>, Ends)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(io::Cursor::new(text));
    let mut start = csv::Position::new();
    start.set_byte(0).set_line(line);
    reader
        .seek(start)
        .map_err(|e| io::Error::other(e.to_string()))?;
    let mut items = Vec::with_capacity(room);
    let mut ends = Vec::with_capacity(room);
    let mut row = csv::StringRecord::new();
    loop {
        let result = reader.read_record(&mut row);
        let end = byte + reader.position().byte();
        // Where the record began, when the reader took one (well formed or not).
        let began = match &result {
            Ok(true) => row.position().cloned(),
            Err(e) if !e.is_io_error() => e.position().cloned(),
            _ => None,
        };
        let ran_over = began
            .as_ref()
            .is_some_and(|b| reader.position().line() > b.line() + 1)
            || (matches!(result, Ok(true))
                && row.as_slice().bytes().any(|b| b == b'\n' || b == b'\r'));
        let record = match (result, began) {
            (Ok(false), _) => return Ok((items, ends)),
            (_, Some(began)) if ran_over => {
                // The record ran over more than one line: a quote that was never closed (stock
                // exports carry no multi-line fields), however the reader then judged what it
                // swallowed. Refuse that line alone and go on at the next, so that one stray
                // quote never swallows the rows after it.
                let start = began.byte() as usize;
                let at = began.line();
                let (raw, next) = physical_line(&text[start..]);
                let mut resume = csv::Position::new();
                resume.set_byte((start + next) as u64).set_line(at + 1);
                reader
                    .seek(resume)
                    .map_err(|e| io::Error::other(e.to_string()))?;
                (
                    Err(RejectedRow {
                        origin: origin(path, at),
                        raw,
                        error: "a quoted field is not closed on its line (a stray `\"`?)".into(),
                    }),
                    at,
                    byte + (start + next) as u64,
                )
            }
            (Ok(true), _) => {
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
            (Err(e), _) if e.is_io_error() => return Err(io::Error::other(e.to_string())),
            (Err(e), _) => {
                let at = e.position().map(|p| p.line()).unwrap_or(0);
                (
                    Err(RejectedRow {
                        origin: origin(path, at),
                        raw: String::new(),
                        error: row_error(&e),
                    }),
                    at,
                    end,
                )
            }
        };
        items.push(ReadItem {
            position: 0,
            record: record.0,
            deleted: false,
        });
        ends.push((record.2, record.1));
    }
}

/// What is wrong with a row the CSV reader refused, without the reader's own record and byte
/// counts: those count from where a page began, and the origin already names the line.
fn row_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => format!(
            "invalid UTF-8 in field {} after its first {} bytes",
            err.field() + 1,
            err.valid_up_to()
        ),
        _ => e.to_string(),
    }
}

/// The first physical line of `text` (without its line break, lossily decoded) and where the
/// next line starts.
fn physical_line(text: &[u8]) -> (String, usize) {
    let next = text
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |at| at + 1);
    let line = String::from_utf8_lossy(&text[..next]);
    (line.trim_end_matches(['\r', '\n']).to_string(), next)
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
