//! One inventory sync's life: the CSV served at an unguessable URL, `inventory_sync` called with
//! it, the sync followed by `inventory_sync_status` until it ends (or aborted with
//! `inventory_sync_abort` once it has run too long), then every row's outcome read from
//! `inventory_sync_items_status`, and the file withdrawn.
//!
//! The sync is kept in flight under a digest of its CSV, first as an intent (the file's name)
//! and then with its `sync_id`, so that a retry or a restart (the engine replays the write from
//! its outbox) re-attaches to the sync instead of uploading the rows again. An intent without
//! an id (the process died around the mutation) is looked up among the warehouse's recent
//! syncs by its URL before anything is uploaded.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use syncd_core::in_flight::InFlightCalls;
use syncd_core::{ConnectorError, WriteOutcome};
use syncd_http::files::FileHost;

use crate::client::ShipHeroClient;

/// One CSV row: the batch item it stands for, and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The write's index in its batch.
    pub index: usize,
    /// The SKU.
    pub sku: String,
    /// The absolute quantity (`replace`).
    pub quantity: i64,
    /// The bin, on a Dynamic Slotting account.
    pub location: Option<String>,
}

/// The CSV of `rows`: `sku,quantity,action,reason` (and `location` on a Dynamic Slotting
/// account), `replace` being "the only action supported".
pub fn csv_of(rows: &[Row], reason: &str, dynamic_slotting: bool) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["sku", "quantity", "action", "reason"];
    if dynamic_slotting {
        header.push("location");
    }
    out.write_record(&header).expect("writing to memory");
    for row in rows {
        let quantity = row.quantity.to_string();
        let mut record = vec![row.sku.as_str(), quantity.as_str(), "replace", reason];
        if dynamic_slotting {
            record.push(row.location.as_deref().unwrap_or(""));
        }
        out.write_record(&record).expect("writing to memory");
    }
    out.into_inner().expect("writing to memory")
}

/// A sync kept in flight.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Kept {
    /// The served file's name.
    name: String,
    /// Its URL, as given to ShipHero.
    url: String,
    /// The sync, once ShipHero answered.
    sync_id: Option<String>,
    /// When it was created (ms), for its time limit.
    created_ms: i64,
}

/// What one sync ended as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    /// The sync's id.
    pub sync_id: String,
    /// Its final status.
    pub status: String,
    /// Whether we aborted it.
    pub aborted: bool,
    /// Its `total_count`, `success_count` and `error_count`, when it said them.
    pub counts: Option<(u64, u64, u64)>,
}

fn counts_of(status: &Value) -> Option<(u64, u64, u64)> {
    Some((
        status["total_count"].as_u64()?,
        status["success_count"].as_u64()?,
        status["error_count"].as_u64()?,
    ))
}

/// Statuses a sync may still leave.
fn running(status: &str) -> bool {
    matches!(
        status,
        "pending" | "processing" | "queued" | "created" | "running" | "in_progress"
    )
}

fn text(value: &str) -> String {
    serde_json::to_string(value).expect("a string serializes")
}

/// Syncs of one warehouse.
pub struct Syncs<'a> {
    /// The account.
    pub client: &'a ShipHeroClient,
    /// Where the CSVs are served.
    pub files: &'a FileHost,
    /// The syncs in flight.
    pub in_flight: &'a InFlightCalls,
    /// Names the connector in errors.
    pub context: &'a str,
}

impl Syncs<'_> {
    /// Syncs `rows` (at most a CSV's worth) and gives each row's outcome, by batch index.
    pub async fn write(&self, rows: &[Row]) -> Result<Vec<(usize, WriteOutcome)>, ConnectorError> {
        let config = self.client.config();
        let csv = csv_of(rows, &config.reason, config.dynamic_slotting);
        let mut identity = csv.clone();
        identity.extend_from_slice(config.warehouse_id.as_bytes());
        let digest = InFlightCalls::digest(&identity);
        let kept = match self.in_flight.find::<Kept>(&digest) {
            Some(kept) => {
                // The file may be needed again (a sync still fetching, or not yet made).
                let published = self.files.publish_as(&kept.name, csv.clone()).await?;
                tracing::info!(sync = ?kept.sync_id, url = %published.url, "re-attaching to an inventory sync in flight");
                kept
            }
            None => {
                let name = self.files.fresh_name("csv")?;
                let published = self.files.publish_as(&name, csv.clone()).await?;
                let kept = Kept {
                    name,
                    url: published.url,
                    sync_id: None,
                    created_ms: syncd_core::clock::now_millis(),
                };
                self.in_flight.keep(&digest, &kept)?;
                syncd_core::crash::point("sync_intent");
                kept
            }
        };
        let kept = match kept.sync_id {
            Some(_) => kept,
            None => {
                let sync_id = match self.find_by_url(&kept.url).await? {
                    Some(id) => id,
                    None => self.create(&kept.url).await?,
                };
                let kept = Kept {
                    sync_id: Some(sync_id),
                    ..kept
                };
                self.in_flight.keep(&digest, &kept)?;
                syncd_core::crash::point("sync_kept");
                kept
            }
        };
        let sync_id = kept.sync_id.clone().expect("set above");
        let ended = self.follow(&sync_id, kept.created_ms).await?;
        let outcomes = self.outcomes(&ended, rows).await?;
        self.files.withdraw_name(&kept.name);
        self.in_flight.forget(&digest)?;
        Ok(outcomes)
    }

    async fn create(&self, url: &str) -> Result<String, ConnectorError> {
        let config = self.client.config();
        let customer = config
            .customer_account_id
            .as_deref()
            .map(|c| format!(", customer_account_id: {}", text(c)))
            .unwrap_or_default();
        let mutation = format!(
            "mutation {{ inventory_sync(data: {{ url: {}, warehouse_id: {}{customer} }}) {{ request_id complexity sync_id }} }}",
            text(url),
            text(&config.warehouse_id)
        );
        let answer = self
            .client
            .run("inventory_sync", &mutation, json!({}), 1)
            .await?;
        let sync_id = answer["sync_id"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ConnectorError::retryable(
                    self.context,
                    format!("inventory_sync answered no sync_id: {answer}"),
                )
            })?
            .to_string();
        tracing::info!(sync_id = %sync_id, "inventory sync created");
        Ok(sync_id)
    }

    /// The sync already made for `url`, among the warehouse's recent ones.
    async fn find_by_url(&self, url: &str) -> Result<Option<String>, ConnectorError> {
        let config = self.client.config();
        let query = format!(
            "query {{ inventory_sync_statuses(warehouse_id: {}) {{ request_id complexity data(first: 25) {{ edges {{ node {{ id url status }} }} }} }} }}",
            text(&config.warehouse_id)
        );
        let answer = self
            .client
            .run("inventory_sync_statuses", &query, json!({}), 26)
            .await?;
        Ok(answer["data"]["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| &e["node"])
            .find(|n| n["url"].as_str() == Some(url))
            .and_then(|n| n["id"].as_str())
            .map(str::to_string))
    }

    async fn status(&self, sync_id: &str) -> Result<Value, ConnectorError> {
        let query = format!(
            "query {{ inventory_sync_status(id: {}) {{ request_id complexity data {{ id status error total_count success_count error_count finished_count }} }} }}",
            text(sync_id)
        );
        let answer = self
            .client
            .run("inventory_sync_status", &query, json!({}), 1)
            .await?;
        Ok(answer["data"].clone())
    }

    /// Polls the sync until it ends, at most once per interval (the interval growing while it
    /// runs); aborts it once it has run past the time limit.
    async fn follow(&self, sync_id: &str, created_ms: i64) -> Result<Ended, ConnectorError> {
        let config = self.client.config();
        let least = Duration::from_secs_f64(config.poll_interval_secs);
        let most = least * 8;
        let mut interval = least;
        loop {
            let status = self.status(sync_id).await?;
            let state = status["status"].as_str().unwrap_or("").to_string();
            if !state.is_empty() && !running(&state) {
                return Ok(Ended {
                    sync_id: sync_id.to_string(),
                    status: state,
                    aborted: false,
                    counts: counts_of(&status),
                });
            }
            let age_ms = syncd_core::clock::now_millis() - created_ms;
            if age_ms >= (config.sync_timeout_secs * 1000) as i64 {
                return self.abort(sync_id, age_ms).await;
            }
            tokio::time::sleep(interval).await;
            interval = (interval.mul_f64(1.5)).min(most);
        }
    }

    async fn abort(&self, sync_id: &str, age_ms: i64) -> Result<Ended, ConnectorError> {
        let reason = format!(
            "syncd: unfinished after {} s (sync_timeout_secs)",
            age_ms / 1000
        );
        let mutation = format!(
            "mutation {{ inventory_sync_abort(data: {{ sync_id: {}, reason: {} }}) {{ request_id complexity sync {{ id status success_count error_count finished_count }} }} }}",
            text(sync_id),
            text(&reason)
        );
        let answer = self
            .client
            .run("inventory_sync_abort", &mutation, json!({}), 1)
            .await?;
        tracing::warn!(sync_id, %reason, "inventory sync aborted");
        Ok(Ended {
            sync_id: sync_id.to_string(),
            status: answer["sync"]["status"]
                .as_str()
                .unwrap_or("aborted")
                .to_string(),
            aborted: true,
            counts: None,
        })
    }

    /// Every row's outcome, read page by page from `inventory_sync_items_status`. A row costs
    /// a credit to read, so when the sync's counts say every row was processed, only the rows
    /// in error are read and the others are written; otherwise every row is read.
    async fn outcomes(
        &self,
        ended: &Ended,
        rows: &[Row],
    ) -> Result<Vec<(usize, WriteOutcome)>, ConnectorError> {
        let all_processed = !ended.aborted
            && ended.counts.is_some_and(|(total, success, error)| {
                total == rows.len() as u64 && success + error == total
            });
        let mut seen: HashMap<usize, WriteOutcome> = HashMap::new();
        if all_processed {
            if let Some((_, _, 0)) = ended.counts {
                return Ok(rows
                    .iter()
                    .map(|r| (r.index, WriteOutcome::Applied))
                    .collect());
            }
        }
        let filter = match all_processed {
            true => ", status: \"error\"",
            false => "",
        };
        let mut after: Option<String> = None;
        let page = 100;
        loop {
            let after_arg = after
                .as_deref()
                .map(|a| format!(", after: {}", text(a)))
                .unwrap_or_default();
            let query = format!(
                "query {{ inventory_sync_items_status(id: {}{filter}) {{ request_id complexity data(first: {page}{after_arg}) {{ pageInfo {{ hasNextPage endCursor }} edges {{ node {{ row sku quantity status error }} }} }} }} }}",
                text(&ended.sync_id)
            );
            let answer = self
                .client
                .run("inventory_sync_items_status", &query, json!({}), page + 1)
                .await?;
            let data = &answer["data"];
            for edge in data["edges"].as_array().into_iter().flatten() {
                let node = &edge["node"];
                let row_number = node["row"].as_u64().unwrap_or(0) as usize;
                let sku = node["sku"].as_str().unwrap_or("");
                // Rows are numbered from 1 in the CSV's order; the SKU confirms which it is.
                let index = rows
                    .get(row_number.wrapping_sub(1))
                    .filter(|r| r.sku == sku)
                    .or_else(|| rows.iter().find(|r| r.sku == sku))
                    .map(|r| r.index);
                let Some(index) = index else { continue };
                let status = node["status"].as_str().unwrap_or("");
                let outcome = match status {
                    "success" => WriteOutcome::Applied,
                    "error" | "failed" => WriteOutcome::Failed(ConnectorError::permanent(
                        self.context,
                        format!(
                            "sku {sku}, row {row_number} of sync {}: {}",
                            ended.sync_id,
                            node["error"].as_str().unwrap_or("refused")
                        ),
                    )),
                    other => WriteOutcome::Failed(ConnectorError::retryable(
                        self.context,
                        format!(
                            "sku {sku}, row {row_number} of sync {}: {} ({other})",
                            ended.sync_id,
                            match ended.aborted {
                                true => "unfinished when the sync was aborted",
                                false => "not processed",
                            }
                        ),
                    )),
                };
                seen.insert(index, outcome);
            }
            let next = data["pageInfo"]["hasNextPage"].as_bool().unwrap_or(false);
            after = data["pageInfo"]["endCursor"].as_str().map(str::to_string);
            if !next || after.is_none() {
                break;
            }
        }
        Ok(rows
            .iter()
            .map(|r| {
                if all_processed && !seen.contains_key(&r.index) {
                    // Processed, and not among the rows in error.
                    return (r.index, WriteOutcome::Applied);
                }
                let outcome = seen.remove(&r.index).unwrap_or_else(|| {
                    WriteOutcome::Failed(ConnectorError::retryable(
                        self.context,
                        format!(
                            "sku {}: sync {} ({}) gave no outcome for its row{}",
                            r.sku,
                            ended.sync_id,
                            ended.status,
                            if ended.aborted {
                                "; it was aborted unfinished"
                            } else {
                                ""
                            }
                        ),
                    ))
                });
                (r.index, outcome)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_has_the_seed_columns_and_quotes_what_it_must() {
        let rows = vec![
            Row {
                index: 0,
                sku: "45933041".into(),
                quantity: 10,
                location: None,
            },
            Row {
                index: 1,
                sku: "A,\"B\"".into(),
                quantity: 0,
                location: Some("Bin 1".into()),
            },
        ];
        assert_eq!(
            String::from_utf8(csv_of(&rows, "Reason for changing inventory", false)).unwrap(),
            "sku,quantity,action,reason\n45933041,10,replace,Reason for changing inventory\n\"A,\"\"B\"\"\",0,replace,Reason for changing inventory\n"
        );
        assert_eq!(
            String::from_utf8(csv_of(&rows[1..], "r", true)).unwrap(),
            "sku,quantity,action,reason,location\n\"A,\"\"B\"\"\",0,replace,r,Bin 1\n"
        );
    }
}
