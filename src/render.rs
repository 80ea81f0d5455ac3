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
}
