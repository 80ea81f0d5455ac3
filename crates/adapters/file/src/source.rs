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
                    &text,
                    &starts[first..=last],
                    (at_byte, at_line + first as u64),
                    room,
                    plain_row,
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

/// Parses whole lines of a CSV file: the lines of `text` (which starts at byte `byte` of
/// `path`) that begin at `line_starts` (the last entry is where the last line ends), the first
/// of them line number `line`. Returns the page items they hold, with room for `room`, and
/// where each ends. A line `plain` can split is split on commas; any other goes through the
/// CSV reader.
fn parse_lines<'t>(
    path: &Path,
    columns: &rows::Columns,
    text: &'t [u8],
    line_starts: &[usize],
    (byte, line): (u64, u64),
    room: usize,
    plain: fn(&[u8]) -> Option<&str>,
) -> io::Result<(Vec<ReadItem>, Ends)> {
    let base = line_starts[0];
    let span = &text[base..line_starts[line_starts.len() - 1]];
    let byte = byte + base as u64;
    let mut items = Vec::with_capacity(room);
    let mut ends = Vec::with_capacity(room);
    let mut fields: Vec<&'t str> = Vec::new();
    let mut quoted: Option<QuotedLines> = None;
    for (k, bounds) in line_starts.windows(2).enumerate() {
        let (start, next) = (bounds[0] - base, bounds[1] - base);
        let at = line + k as u64;
        let body = without_terminator(&span[start..next]);
        if body.iter().all(|&b| b == b'\r') {
            // A blank line holds no record, as the CSV reader reads it.
            continue;
        }
        match plain(body) {
            Some(row) => {
                fields.clear();
                fields.extend(row.split(','));
                let record = row_record(
                    path,
                    columns,
                    at,
                    |i| fields.get(i).copied(),
                    || row.to_string(),
                );
                items.push(ReadItem {
                    position: 0,
                    record,
                    deleted: false,
                });
                ends.push((byte + next as u64, at));
            }
            None => {
                // Carriage returns at the end hold no record: the reader skips them.
                let trailing = body.iter().rev().take_while(|&&b| b == b'\r').count();
                let content_end = start + body.len() - trailing;
                quoted
                    .get_or_insert_with(|| QuotedLines::over(span))
                    .read_line(
                        path,
                        columns,
                        (start, at),
                        (content_end, next),
                        byte,
                        (&mut items, &mut ends),
                    )?;
            }
        }
    }
    Ok((items, ends))
}

/// The position in a row of line `at` whose fields `field` gives by column, or the row
/// refused (as `raw` writes it) with what is wrong with it.
fn row_record<'r>(
    path: &Path,
    columns: &rows::Columns,
    at: u64,
    field: impl Fn(usize) -> Option<&'r str>,
    raw: impl FnOnce() -> String,
) -> Result<Record, RejectedRow> {
    columns
        .position(field)
        .map(Record::StockPosition)
        .map_err(|error| RejectedRow {
            origin: origin(path, at),
            raw: raw(),
            error,
        })
}

/// The row as text where a split on commas reads it as the CSV reader would: valid UTF-8
/// with no quote and no carriage return (nearly every line of a stock export).
fn plain_row(body: &[u8]) -> Option<&str> {
    if body.iter().any(|&b| b == b'"' || b == b'\r') {
        return None;
    }
    std::str::from_utf8(body).ok()
}

/// A line without its terminator (`\n` or `\r\n`).
fn without_terminator(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The CSV reader for the lines a split on commas cannot read (quotes, stray carriage returns,
/// invalid UTF-8): built over a span once one of its lines needs it, and kept for the span.
struct QuotedLines<'t> {
    span: &'t [u8],
    reader: csv::Reader<io::Cursor<&'t [u8]>>,
    row: csv::StringRecord,
}

impl<'t> QuotedLines<'t> {
    fn over(span: &'t [u8]) -> Self {
        QuotedLines {
            span,
            reader: csv::ReaderBuilder::new()
                .flexible(true)
                .has_headers(false)
                .from_reader(io::Cursor::new(span)),
            row: csv::StringRecord::new(),
        }
    }

    /// Reads the records of the line at span offset `start` (line number `line`), whose
    /// content ends at `content_end` and which ends at `next`, into `items` and `ends`.
    fn read_line(
        &mut self,
        path: &Path,
        columns: &rows::Columns,
        (start, line): (usize, u64),
        (content_end, next): (usize, usize),
        byte: u64,
        (items, ends): (&mut Vec<ReadItem>, &mut Ends),
    ) -> io::Result<()> {
        let here = self.reader.position();
        if here.byte() != start as u64 || here.line() != line {
            let mut at = csv::Position::new();
            at.set_byte(start as u64).set_line(line);
            // `seek_raw`, not `seek`: `seek` does nothing when the reader is at that byte
            // already, whatever line it counts (a new reader counts from line 1).
            self.reader
                .seek_raw(SeekFrom::Start(start as u64), at)
                .map_err(|e| io::Error::other(e.to_string()))?;
        }
        let reader = &mut self.reader;
        loop {
            let result = reader.read_record(&mut self.row);
            let row = &self.row;
            let end = reader.position().byte() as usize;
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
            let (record, at, end) = match (result, began) {
                (Ok(false), _) => return Ok(()),
                (_, Some(began)) if ran_over => {
                    // The record ran over more than one line: a quote that was never closed
                    // (stock exports carry no multi-line fields), however the reader then
                    // judged what it swallowed. Refuse that line alone and go on at the next,
                    // so that one stray quote never swallows the rows after it.
                    let start = began.byte() as usize;
                    let at = began.line();
                    let (raw, next) = physical_line(&self.span[start..]);
                    let mut resume = csv::Position::new();
                    resume.set_byte((start + next) as u64).set_line(at + 1);
                    reader
                        .seek(resume)
                        .map_err(|e| io::Error::other(e.to_string()))?;
                    (
                        Err(RejectedRow {
                            origin: origin(path, at),
                            raw,
                            error: "a quoted field is not closed on its line (a stray `\"`?)"
                                .into(),
                        }),
                        at,
                        start + next,
                    )
                }
                (Ok(true), _) => {
                    let at = row.position().map(|p| p.line()).unwrap_or(0);
                    let parsed = row_record(
                        path,
                        columns,
                        at,
                        |i| row.get(i),
                        || row.iter().collect::<Vec<_>>().join(","),
                    );
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
                record,
                deleted: false,
            });
            // The line's last record ends where the next line starts (the reader stops after
            // the `\r` of a `\r\n`), so that a cursor resumes at a line's start.
            let line_done = reader.position().byte() as usize >= content_end;
            let end = match line_done {
                true => end.max(next),
                false => end,
            };
            ends.push((byte + end as u64, at));
            if line_done {
                return Ok(());
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Parses `text` as the lines of a span at the start of a file (line 2, after a header),
    /// splitting with `plain`: each item's record or rejection, where it ends and its line.
    fn parse(text: &[u8], plain: fn(&[u8]) -> Option<&str>) -> Vec<(String, (u64, u64))> {
        let header = csv::StringRecord::from(vec!["sku", "location", "on_hand", "note"]);
        let mut starts: Vec<usize> = vec![0];
        starts.extend(
            text.iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .map(|(at, _)| at + 1)
                .filter(|&at| at < text.len()),
        );
        starts.push(text.len());
        let columns = rows::Columns::of(&header);
        let path = Path::new("drop/1.csv");
        let (items, ends) = parse_lines(path, &columns, text, &starts, (40, 2), 0, plain)
            .expect("parsing bytes in memory");
        items
            .into_iter()
            .map(|item| format!("{:?}", item.record))
            .zip(ends)
            .collect()
    }

    fn through_the_reader(_: &[u8]) -> Option<&str> {
        None
    }

    proptest! {
        #[test]
        fn a_line_split_on_commas_reads_as_the_csv_reader_reads_it(
            bytes in proptest::collection::vec(
                prop::sample::select(b"aZ19-, \"\r\n\n\n,,\xff\xc3\xa9".to_vec()),
                0..200,
            ),
        ) {
            prop_assert_eq!(parse(&bytes, plain_row), parse(&bytes, through_the_reader));
        }
    }

    #[test]
    fn a_crlf_file_read_a_row_at_a_time_names_each_rows_own_line() {
        // A cursor once resumed on the LF of a CRLF and counted it as a line of its own, so
        // every page after the first named its rows one line later than the one before.
        let dir = tempfile::tempdir().unwrap();
        let csv = "sku,location,on_hand\r\nA,W,x\r\nB,W,1\r\nC,W,y\r\n\"D\",W,z\r\nE,W,2\r\n";
        std::fs::write(dir.path().join("1.csv"), csv).unwrap();
        let folder = DropFolder::new(dir.path().to_path_buf());
        let (mut cursor, mut origins) = (FileCursor::default(), Vec::new());
        for _ in 0..10 {
            let page = folder.read_page(cursor, 1).unwrap();
            for item in &page.items {
                if let Err(row) = &item.record {
                    origins.push(row.origin.rsplit(':').next().unwrap().to_string());
                }
            }
            if page.done {
                break;
            }
            cursor = FileCursor::decode(Some(&page.next)).unwrap();
        }
        assert_eq!(origins, ["2", "4", "5"]);
    }

    #[test]
    fn a_crlf_line_ends_where_the_next_line_starts() {
        let text = b"A,W,1\r\n\"B\",W,2\r\nC,W,3";
        let read = parse(text, plain_row);
        let ends: Vec<_> = read.iter().map(|(_, end)| *end).collect();
        // The span starts at byte 40 of the file, on line 2.
        assert_eq!(ends, [(40 + 7, 2), (40 + 16, 3), (40 + 21, 4)]);
    }
}
