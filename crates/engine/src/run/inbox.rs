//! A webhook-fed source: its events are read from the daemon's durable inbox, and the events
//! the saved cursor has moved past are pruned.

use syncd_core::{Cursor, Page};
use syncd_store::{cursors, inbox, StateStore, WriteBatch};

use crate::error::RunError;

use super::Pipeline;

impl Pipeline {
    /// Deletes the inbox events of this pipeline's entity kind that the saved cursor has moved
    /// past, in `cleanup` (another kind's events wait for their own pipeline; an event that
    /// cannot be decoded was dead-lettered by every pipeline and goes with the first).
    pub(crate) fn prune_inbox(
        &self,
        store: &dyn StateStore,
        cleanup: &mut WriteBatch,
    ) -> Result<(), RunError> {
        let Some(after) = cursors::get(store, &self.config.name)?.and_then(|c| inbox_after(&c))
        else {
            return Ok(());
        };
        let receiver = self
            .source
            .connector
            .webhooks()
            .expect("checked when the pipeline was built");
        let single = receiver.entities().len() <= 1;
        for (id, payload) in inbox::list(store, self.source.name())? {
            if id > after {
                break;
            }
            let ours = single
                || serde_json::from_slice::<syncd_core::InboundEvent>(&payload)
                    .map_err(|e| e.to_string())
                    .and_then(|event| receiver.decode(&event))
                    .map_or(true, |r| r.entity() == self.config.entity);
            if ours {
                inbox::delete(cleanup, self.source.name(), id);
            }
        }
        Ok(())
    }

    /// A page of the source's inbox after `cursor`, each event decoded by its connector.
    pub(crate) fn read_inbox(
        &self,
        store: &dyn StateStore,
        cursor: Option<Cursor>,
    ) -> Result<Page, RunError> {
        let receiver = self
            .source
            .connector
            .webhooks()
            .expect("checked when the pipeline was built");
        // Inbox ids start at 0: no cursor (or an empty one) means from the first event.
        let after = cursor.as_ref().and_then(inbox_after);
        let name = self.source.name();
        let mut items = Vec::new();
        // The last event looked at: events of another entity kind (a connector whose pushes
        // carry several, each read by its own pipeline) are passed over, not read.
        let mut scanned = after;
        let mut done = true;
        for (id, payload) in inbox::list(store, name)? {
            if after.is_some_and(|after| id <= after) {
                continue;
            }
            if items.len() == self.config.page_size {
                done = false;
                break;
            }
            scanned = Some(id);
            let origin = format!("inbox:{name}:{id}");
            let event = serde_json::from_slice::<syncd_core::InboundEvent>(&payload)
                .map_err(|e| e.to_string());
            let deleted = event.as_ref().is_ok_and(|e| receiver.deleted(e));
            let record = event
                .and_then(|event| receiver.decode(&event))
                .map_err(|error| syncd_core::RejectedRow {
                    origin,
                    raw: String::from_utf8_lossy(&payload).into_owned(),
                    error,
                });
            if record
                .as_ref()
                .is_ok_and(|r| r.entity() != self.config.entity)
            {
                continue;
            }
            items.push(match (record, deleted) {
                (Ok(record), true) => syncd_core::ReadItem::tombstone(id, record),
                (record, _) => syncd_core::ReadItem::new(id, record),
            });
        }
        let next = match scanned {
            Some(id) => inbox_cursor(id),
            None => Cursor(serde_json::json!({})),
        };
        Ok(Page::new(items, next, done, inbox_cursor))
    }
}

fn inbox_cursor(after: u64) -> Cursor {
    Cursor(serde_json::json!({ "inbox_after": after }))
}

/// An inbox cursor is `{"inbox_after": <event id>}` and nothing else.
pub(crate) fn check_cursor(cursor: &Cursor) -> Result<(), String> {
    match cursor.0.as_object() {
        Some(o) if o.len() == 1 && inbox_after(cursor).is_some() => Ok(()),
        _ => Err(format!(
            "a webhook pipeline's cursor is {{\"inbox_after\": <event id>}}, not {}",
            cursor.0
        )),
    }
}

fn inbox_after(cursor: &Cursor) -> Option<u64> {
    cursor
        .0
        .get("inbox_after")
        .and_then(serde_json::Value::as_u64)
}
