//! Reports for people (tables) and machines (JSON).

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, Table};
use syncd_core::WriteOp;
use syncd_engine::{Plan, RunOutcome, RunReport};

/// Run reports as a table, one row per pipeline.
pub fn reports_table(reports: &[RunReport]) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "pipeline",
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
            RunOutcome::Succeeded => "ok".to_string(),
            RunOutcome::Failed(_) => "FAILED".to_string(),
            RunOutcome::Stopped => "stopped".to_string(),
        };
        table.add_row(vec![
            Cell::new(&r.pipeline),
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
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(["", "key", "record"]);
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
