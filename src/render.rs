//! Reports for people (tables) and machines (JSON).

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, ContentArrangement, Table};
use syncd_core::WriteOp;
use syncd_engine::{Plan, RunOutcome, RunReport};
use syncd_store::DeadLetter;

use crate::operate::{CursorRow, StatusRow};

/// Run reports as a table, one row per pipeline.
pub fn reports_table(reports: &[RunReport]) -> String {
    let mut table = table(&[
        "pipeline",
        "started",
        "result",
        "read",
        "unchanged",
        "written",
        "deleted",
        "replayed",
        "dead-lettered",
        "calls",
        "retries",
        "pending",
        "duration",
    ]);
    for r in reports {
        let result = match &r.outcome {
            RunOutcome::Failed(_) => "FAILED".to_string(),
            _ => r.outcome_label().to_string(),
        };
        table.add_row(vec![
            Cell::new(&r.pipeline),
            Cell::new(when(&r.started_at)),
            Cell::new(result),
            Cell::new(r.read),
            Cell::new(r.unchanged),
            Cell::new(r.written),
            Cell::new(r.deleted),
            Cell::new(r.replayed),
            Cell::new(r.dead_lettered),
            Cell::new(r.write_calls),
            Cell::new(r.retries),
            Cell::new(r.pending),
            Cell::new(format!("{:.2}s", r.duration_ms as f64 / 1000.0)),
        ]);
    }
    let mut out = table.to_string();
    for r in reports {
        if let RunOutcome::Failed(e) = &r.outcome {
            out.push_str(&format!("\n{}: {e}", r.pipeline));
        }
    }
    out
}

/// The conflict log: one row per field.
pub fn conflicts_table(conflicts: &[syncd_store::conflicts::Conflict]) -> String {
    let mut table = table(&[
        "at", "link", "key", "field", "source", "target", "base", "winner",
    ]);
    for c in conflicts {
        for f in &c.fields {
            table.add_row(vec![
                c.at.clone(),
                c.link.clone(),
                c.key.clone(),
                f.field.clone(),
                f.source.to_string(),
                f.target.to_string(),
                f.base.to_string(),
                f.winner.clone(),
            ]);
        }
    }
    format!("{table}\n{} conflict(s)", conflicts.len())
}

/// A drift report: one row per differing field (or missing record), its owner on a link.
pub fn drift_table(drift: &syncd_engine::Drift) -> String {
    use syncd_engine::KeyDrift;
    let mut table = table(&["key", "difference", "field", "source", "target", "owner"]);
    for d in &drift.differences {
        match d {
            KeyDrift::MissingInTarget { key } => {
                table.add_row(vec![
                    key.clone(),
                    "missing in target".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
            }
            KeyDrift::MissingInSource { key } => {
                table.add_row(vec![
                    key.clone(),
                    "missing in source".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
            }
            KeyDrift::Differs { key, fields } => {
                for f in fields {
                    table.add_row(vec![
                        key.clone(),
                        "differs".into(),
                        f.field.clone(),
                        f.source.to_string(),
                        f.target.to_string(),
                        f.owner.clone().unwrap_or_default(),
                    ]);
                }
            }
        }
    }
    let verdict = match drift.in_sync() {
        true => "in sync".to_string(),
        false => format!("{} difference(s)", drift.differences.len()),
    };
    format!(
        "{table}\n{}: {} source record(s), {} target record(s), {verdict}",
        drift.pipeline, drift.source_records, drift.target_records
    )
}

/// A plan as a table of writes, with a summary line.
pub fn plan_table(plan: &Plan) -> String {
    let mut table = table(&["", "key", "record"]);
    let rows = plan
        .replay
        .iter()
        .map(|op| ("replay", op))
        .chain(plan.writes.iter().map(|op| ("write", op)));
    for (what, op) in rows {
        let (kind, key, body) = match op {
            WriteOp::Upsert { record } => (
                what,
                record.key().to_string(),
                serde_json::to_string(record).unwrap_or_default(),
            ),
            WriteOp::Delete { key, .. } => ("delete", key.to_string(), String::new()),
            WriteOp::RemoveAllocations { scope, from, to } => (
                "remove allocations",
                scope.clone(),
                format!("logical timestamps {from}..={to}"),
            ),
        };
        table.add_row(vec![kind.to_string(), key, body]);
    }
    format!(
        "{table}\n{}: read {}, unchanged {}, {} write(s), {} to replay, {} dead letter(s)",
        plan.pipeline,
        plan.read,
        plan.unchanged,
        plan.writes.len(),
        plan.replay.len(),
        plan.dead_letters.len()
    )
}

/// The connector kinds of this build, each with a table of its keys.
pub fn connectors_table(registry: &syncd_core::Registry) -> String {
    let mut out = String::new();
    for factory in registry.factories() {
        let heading = format!("{}: {}", factory.kind(), factory.about());
        out.push_str(&wrapped(&heading, terminal_width()));
        out.push('\n');
        let mut table = table(&["key", "type", "default", "what it does"]);
        for key in factory.keys() {
            let need = match key.need {
                syncd_core::KeyNeed::Required => "required".to_string(),
                syncd_core::KeyNeed::Optional => "-".to_string(),
                syncd_core::KeyNeed::Default(v) => v.to_string(),
            };
            table.add_row(vec![key.name, key.shape, &need, key.about]);
        }
        out.push_str(&table.to_string());
        out.push_str("\n\n");
    }
    out.push_str(&wrapped(
        "Every [connectors.<name>] section also takes `kind` (required) and \
         `rate_limit = { per_second = N, burst = M }` (optional: calls the daemon allows). \
         A secret is `{ env = \"NAME\" }`, `{ file = \"/path\" }` or `{ credential = \"name\" }`.",
        terminal_width(),
    ));
    out
}

/// The terminal's width (`COLUMNS`), when known.
fn terminal_width() -> Option<usize> {
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
}

/// `text` broken at spaces into lines of at most `width` characters (a longer word stays whole).
fn wrapped(text: &str, width: Option<usize>) -> String {
    let Some(width) = width else {
        return text.to_string();
    };
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines.join("\n")
}

/// A table that fits the terminal it is printed to: long cells wrap instead of widening it.
fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    if let Some(width) = terminal_width() {
        table.set_width(width as u16);
    }
    table
}

/// An RFC 3339 time as a person scans it: `2026-12-01 01:40:12Z`.
fn when(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%SZ")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// At most `max` characters of `text`, with `…` where it was cut (the whole is in `--json`).
fn clipped(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

fn or_dash(value: Option<&str>) -> String {
    value.unwrap_or("-").to_string()
}

/// `syncd status` as a table.
pub fn status_table(rows: &[StatusRow]) -> String {
    let mut t = table(&[
        "pipeline",
        "schedule",
        "last run",
        "result",
        "next run",
        "outbox",
        "dead letters",
    ]);
    for r in rows {
        let result = match (&r.result, r.running) {
            (_, true) => "running".to_string(),
            (Some(res), false) => res.clone(),
            (None, false) => "never run".to_string(),
        };
        t.add_row(vec![
            Cell::new(&r.pipeline),
            Cell::new(or_dash(r.schedule.as_deref())),
            Cell::new(or_dash(r.last_run.as_deref())),
            Cell::new(result),
            Cell::new(or_dash(r.next_run.as_deref())),
            Cell::new(r.outbox),
            Cell::new(r.dead_letters),
        ]);
    }
    let mut out = t.to_string();
    for r in rows {
        if let Some(e) = &r.error {
            out.push_str(&format!("\n{}: {e}", r.pipeline));
        }
    }
    out
}

/// One line of `syncd top`: a pipeline's status and, while it runs, its speed and ETA.
#[derive(Clone, Debug)]
pub struct TopRow {
    /// The status the daemon gave.
    pub status: StatusRow,
    /// Records read per second since the previous frame, while a run goes on.
    pub read_per_sec: Option<f64>,
    /// The time the run still needs at its current speed, when its source knows its size.
    pub eta: Option<std::time::Duration>,
}

impl TopRow {
    /// The row for `status`, given the same run as seen `elapsed` ago (for rates).
    pub fn of(
        status: &StatusRow,
        before: Option<(std::time::Duration, &syncd_engine::RunReport)>,
    ) -> Self {
        let secs = |elapsed: std::time::Duration| elapsed.as_secs_f64().max(1e-3);
        let (read_per_sec, eta) = match (&status.current, before) {
            (Some(now), Some((elapsed, then))) => {
                let read = now.read.saturating_sub(then.read) as f64 / secs(elapsed);
                let eta = match (now.extent, then.extent) {
                    (Some(n), Some(t)) if n.done > t.done => {
                        let per_sec = (n.done - t.done) as f64 / secs(elapsed);
                        Some(std::time::Duration::from_secs_f64(
                            n.total.saturating_sub(n.done) as f64 / per_sec,
                        ))
                    }
                    _ => None,
                };
                (Some(read), eta)
            }
            _ => (None, None),
        };
        TopRow {
            status: status.clone(),
            read_per_sec,
            eta,
        }
    }
}

/// `syncd top`'s frame: one row per pipeline.
pub fn top_table(rows: &[TopRow]) -> String {
    let mut t = table(&[
        "pipeline",
        "state",
        "done",
        "eta",
        "read",
        "read/s",
        "written",
        "dead letters",
        "outbox",
        "next run",
    ]);
    for row in rows {
        let s = &row.status;
        let (state, done, read, written) = match &s.current {
            Some(run) => (
                format!("running since {}", when(&run.started_at)),
                run.extent
                    .filter(|e| e.total > 0)
                    .map(|e| format!("{:.0}%", e.done as f64 * 100.0 / e.total as f64))
                    .unwrap_or_else(|| "-".into()),
                run.read.to_string(),
                (run.written + run.deleted + run.replayed).to_string(),
            ),
            None => (
                match (&s.result, &s.last_run) {
                    (Some(result), Some(at)) => format!("{result} at {}", when(at)),
                    _ => "never run".into(),
                },
                "-".into(),
                "-".into(),
                "-".into(),
            ),
        };
        t.add_row(vec![
            Cell::new(&s.pipeline),
            Cell::new(state),
            Cell::new(done),
            Cell::new(
                row.eta
                    .map(|d| humantime(d.as_secs()))
                    .unwrap_or_else(|| "-".into()),
            ),
            Cell::new(read),
            Cell::new(
                row.read_per_sec
                    .map(|r| format!("{r:.0}"))
                    .unwrap_or_else(|| "-".into()),
            ),
            Cell::new(written),
            Cell::new(s.dead_letters),
            Cell::new(s.outbox),
            Cell::new(
                s.next_run
                    .as_deref()
                    .map(when)
                    .unwrap_or_else(|| "-".into()),
            ),
        ]);
    }
    t.to_string()
}

/// Seconds as `1h02m`, `4m05s` or `12s`.
fn humantime(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

/// `syncd cursors list` as a table.
pub fn cursors_table(rows: &[CursorRow]) -> String {
    let mut t = table(&["pipeline", "cursor"]);
    for r in rows {
        let cursor = r
            .cursor
            .as_ref()
            .map(|c| c.0.to_string())
            .unwrap_or_else(|| "- (from the beginning)".into());
        t.add_row(vec![Cell::new(&r.pipeline), Cell::new(cursor)]);
    }
    t.to_string()
}

/// `syncd dlq list` as a table.
pub fn dead_letters_table(letters: &[DeadLetter]) -> String {
    let mut t = table(&["pipeline", "id", "stage", "attempts", "at", "error"]);
    for l in letters {
        t.add_row(vec![
            Cell::new(&l.pipeline),
            Cell::new(&l.id),
            Cell::new(l.stage.as_str()),
            Cell::new(l.attempts),
            Cell::new(when(&l.at)),
            Cell::new(clipped(&l.error, 120)),
        ]);
    }
    let mut out = t.to_string();
    out.push_str(&format!(
        "\n{} dead letter(s); `syncd dlq show <pipeline> <id>` or `--json` for the whole error",
        letters.len()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_cell_wraps_inside_the_width_instead_of_widening_the_table() {
        let mut t = table(&["pipeline", "error"]);
        t.set_width(100);
        t.add_row(vec!["to-shop".to_string(), "x".repeat(400)]);
        let widest = t.to_string().lines().map(|l| l.chars().count()).max();
        assert!(widest.is_some_and(|w| w <= 100), "{widest:?}");
    }

    #[test]
    fn long_errors_are_clipped_and_times_are_readable() {
        assert_eq!(clipped("abcdef", 3), "abc…");
        assert_eq!(clipped("abc", 3), "abc");
        assert_eq!(clipped("ééé", 2), "éé…");
        assert_eq!(when("2026-12-01T01:40:12.345Z"), "2026-12-01 01:40:12Z");
        assert_eq!(when("not a time"), "not a time");
    }

    #[test]
    fn top_gives_a_runs_speed_and_its_eta_from_two_frames() {
        let mut then = syncd_engine::RunReport::start("p");
        then.read = 1_000;
        then.extent = Some(syncd_engine::Extent {
            done: 100,
            total: 1_000,
            unit: syncd_core::SizeUnit::Bytes,
        });
        let mut now = then.clone();
        now.read = 3_000;
        now.extent = Some(syncd_engine::Extent {
            done: 200,
            ..then.extent.unwrap()
        });
        let status = StatusRow {
            pipeline: "p".into(),
            schedule: None,
            last_run: None,
            result: None,
            error: None,
            next_run: None,
            running: true,
            current: Some(now),
            outbox: 0,
            dead_letters: 0,
        };
        let row = TopRow::of(&status, Some((std::time::Duration::from_secs(2), &then)));
        assert_eq!(row.read_per_sec, Some(1_000.0));
        assert_eq!(row.eta, Some(std::time::Duration::from_secs(16)));
        let frame = top_table(&[row]);
        assert!(frame.contains("20%") && frame.contains("16s"), "{frame}");
        assert_eq!(humantime(3_725), "1h02m");
        assert_eq!(humantime(245), "4m05s");
    }
}
