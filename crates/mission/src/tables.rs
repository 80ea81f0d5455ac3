//! The tables the mission prints: what each pass's runs did, and what each system holds for a
//! few SKUs side by side.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use syncd_engine::RunReport;

use crate::holdings::Holdings;

/// One row per run: read, written, deleted, dead-lettered, echoes, conflicts, write calls.
pub fn runs(reports: &[RunReport]) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "pipeline",
        "read",
        "unchanged",
        "written",
        "replayed",
        "deleted",
        "dead-lettered",
        "echoes",
        "conflicts",
        "write calls",
        "ms",
    ]);
    for r in reports {
        table.add_row(vec![
            r.pipeline.clone(),
            r.read.to_string(),
            r.unchanged.to_string(),
            r.written.to_string(),
            r.replayed.to_string(),
            r.deleted.to_string(),
            r.dead_lettered.to_string(),
            r.echoes.to_string(),
            r.conflicts.to_string(),
            r.write_calls.to_string(),
            r.duration_ms.to_string(),
        ]);
    }
    table
}

fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// One column per SKU, one row per system.
pub fn samples(holdings: &Holdings, skus: &[&str]) -> Table {
    let mut table = Table::new();
    let mut header = vec!["system".to_string()];
    header.extend(skus.iter().map(|s| s.to_string()));
    table.load_preset(UTF8_FULL_CONDENSED).set_header(header);
    let mut row = |system: &str, cell: &dyn Fn(&str) -> String| {
        let mut cells = vec![system.to_string()];
        cells.extend(skus.iter().map(|sku| cell(sku)));
        table.add_row(cells);
    };
    row("Ergonode: name", &|sku| {
        or_dash(
            holdings
                .catalog
                .get(sku)
                .map(|n| n.clone().unwrap_or_default()),
        )
    });
    row("Salesforce: Product2", &|sku| {
        or_dash(holdings.products.get(sku))
    });
    row("Salesforce: Source Item", &|sku| {
        or_dash(
            holdings
                .source_items
                .get(sku)
                .map(|i| format!("{} (status {})", i.quantity, i.status)),
        )
    });
    row("ShipHero: on hand", &|sku| {
        or_dash(holdings.warehouse.get(sku))
    });
    row("ERP ledger: on hand", &|sku| or_dash(holdings.erp.get(sku)));
    row("NewStore: on hand / ATP", &|sku| {
        or_dash(
            holdings
                .newstore
                .get(sku)
                .map(|s| format!("{} / {}", s.on_hand, s.atp)),
        )
    });
    row("Fluent: on hand", &|sku| or_dash(holdings.fluent.get(sku)));
    table
}
