//! Records read as one entity and written as another: a completed fulfillment event becomes
//! one −1 stock adjustment per item; assignments and failures change no stock.

use syncd_core::model::{FulfillmentEvent, FulfillmentEventKind, StockAdjustment};
use syncd_core::{EntityKind, Record};

/// The id of the adjustment for `item_id` of fulfillment event `event_id`: the same delivery
/// seen twice makes the same adjustment, which the target applies once.
pub fn adjustment_id(event_id: &str, item_id: &str) -> String {
    format!("{event_id}:{item_id}")
}

/// The adjustments a fulfillment event stands for.
pub fn adjustments_of(event: &FulfillmentEvent) -> Vec<StockAdjustment> {
    if event.kind != FulfillmentEventKind::ItemsCompleted {
        return Vec::new();
    }
    event
        .items
        .iter()
        .map(|item| StockAdjustment {
            id: adjustment_id(&event.id, &item.id),
            sku: item.product_id.clone(),
            location: event.location.clone(),
            delta: -1,
            reason: "fulfillment_request.items_completed".into(),
            logical_timestamp: Some(event.logical_timestamp),
        })
        .collect()
}

/// `record` as `kind` records, or why it cannot be.
pub fn expand(record: Record, kind: EntityKind) -> Result<Vec<Record>, String> {
    match (record, kind) {
        (record, kind) if record.entity() == kind => Ok(vec![record]),
        (Record::FulfillmentEvent(event), EntityKind::StockAdjustment) => {
            Ok(adjustments_of(&event)
                .into_iter()
                .map(Record::StockAdjustment)
                .collect())
        }
        (record, kind) => Err(format!("a {} cannot be written as {kind}", record.entity())),
    }
}

/// Whether records of `from` can be written as `to`.
pub fn supported(from: EntityKind, to: EntityKind) -> bool {
    from == to || (from == EntityKind::FulfillmentEvent && to == EntityKind::StockAdjustment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncd_core::model::FulfillmentItem;

    fn event(kind: FulfillmentEventKind) -> FulfillmentEvent {
        FulfillmentEvent {
            id: "ffr-1".into(),
            kind,
            logical_timestamp: 10,
            location: "DC01".into(),
            order_id: None,
            items: vec![
                FulfillmentItem {
                    id: "i1".into(),
                    product_id: "SKU1".into(),
                },
                FulfillmentItem {
                    id: "i2".into(),
                    product_id: "SKU1".into(),
                },
            ],
        }
    }

    #[test]
    fn a_completion_becomes_one_decrement_per_item_and_nothing_else_changes_stock() {
        let adjustments = adjustments_of(&event(FulfillmentEventKind::ItemsCompleted));
        assert_eq!(adjustments.len(), 2);
        assert!(adjustments
            .iter()
            .all(|a| a.delta == -1 && a.logical_timestamp == Some(10)));
        assert_eq!(adjustments[1].id, "ffr-1:i2");
        assert!(adjustments_of(&event(FulfillmentEventKind::Assigned)).is_empty());
        assert!(adjustments_of(&event(FulfillmentEventKind::ItemsFailed)).is_empty());
    }
}
