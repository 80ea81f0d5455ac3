//! The daemon's Prometheus metrics: run outcomes and counts per pipeline, run durations, skipped
//! ticks, reloads, connector health, and the depth of the inbox, outbox and dead letters (read
//! from the store at scrape time, so they are right even after a restart).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use syncd_engine::RunReport;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PipelineLabel {
    pipeline: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    pipeline: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectorLabel {
    connector: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    connector: String,
    result: String,
}

type PerPipeline = Family<PipelineLabel, Counter>;

/// Every metric the daemon exports.
pub struct Metrics {
    registry: Registry,
    runs: Family<RunLabels, Counter>,
    read: PerPipeline,
    written: PerPipeline,
    dead_lettered: PerPipeline,
    write_calls: PerPipeline,
    retries: PerPipeline,
    rate_limit_waits: PerPipeline,
    skipped_ticks: PerPipeline,
    duration: Family<PipelineLabel, Histogram>,
    last_success: Family<PipelineLabel, Gauge>,
    outbox: Family<PipelineLabel, Gauge>,
    dead_letters: Family<PipelineLabel, Gauge>,
    inbox: Family<ConnectorLabel, Gauge>,
    connector_up: Family<ConnectorLabel, Gauge>,
    api_used: Family<ConnectorLabel, Gauge>,
    api_limit: Family<ConnectorLabel, Gauge>,
    reloads: Family<ResultLabel, Counter>,
    webhooks: Family<WebhookLabels, Counter>,
    allocations_held: Family<PipelineLabel, Gauge>,
    allocation_ranges: PerPipeline,
}

fn label(pipeline: &str) -> PipelineLabel {
    PipelineLabel {
        pipeline: pipeline.to_string(),
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("syncd");
        let runs = Family::<RunLabels, Counter>::default();
        registry.register("runs", "Pipeline runs by outcome", runs.clone());
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let family = PerPipeline::default();
            registry.register(name, help, family.clone());
            family
        };
        let read = counter(&mut registry, "records_read", "Records read from sources");
        let written = counter(
            &mut registry,
            "records_written",
            "Records written to targets",
        );
        let dead_lettered = counter(
            &mut registry,
            "records_dead_lettered",
            "Records that became dead letters",
        );
        let write_calls = counter(&mut registry, "write_calls", "Write calls made to targets");
        let retries = counter(&mut registry, "retries", "Calls retried after an error");
        let rate_limit_waits = counter(
            &mut registry,
            "rate_limit_waits",
            "Waits a vendor asked for by rate limiting",
        );
        let skipped_ticks = counter(
            &mut registry,
            "skipped_ticks",
            "Scheduled ticks skipped because the previous run was still going",
        );
        let duration = Family::<PipelineLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.05, 2.5, 12))
        });
        registry.register(
            "run_duration_seconds",
            "How long runs took",
            duration.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let family = Family::<PipelineLabel, Gauge>::default();
            registry.register(name, help, family.clone());
            family
        };
        let last_success = gauge(
            &mut registry,
            "last_success_timestamp_seconds",
            "When the last successful run ended (Unix time)",
        );
        let outbox = gauge(
            &mut registry,
            "outbox_depth",
            "Writes planned and not yet acknowledged",
        );
        let dead_letters = gauge(
            &mut registry,
            "dead_letters",
            "Dead letters waiting for an operator",
        );
        let inbox = Family::<ConnectorLabel, Gauge>::default();
        registry.register(
            "inbox_depth",
            "Webhook events waiting to be processed",
            inbox.clone(),
        );
        let connector_up = Family::<ConnectorLabel, Gauge>::default();
        registry.register(
            "connector_up",
            "1 when the connector's last check passed",
            connector_up.clone(),
        );
        let reloads = Family::<ResultLabel, Counter>::default();
        registry.register("reloads", "Config reloads by result", reloads.clone());
        let webhooks = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "webhooks",
            "Webhook requests by result (stored, ignored, unauthorized, rejected, failed)",
            webhooks.clone(),
        );
        let allocations_held = gauge(
            &mut registry,
            "allocation_timestamps_held",
            "Logical timestamps whose allocations must stay for now (an item still only assigned, a completion not yet in the stock authority), as of the pipeline's last run",
        );
        let allocation_ranges = counter(
            &mut registry,
            "allocation_ranges",
            "Allocation-removal ranges the target acknowledged",
        );
        let api_used = Family::<ConnectorLabel, Gauge>::default();
        registry.register(
            "vendor_api_used",
            "API requests the vendor counts as used in its window (Salesforce: the rolling day), as its last answer said",
            api_used.clone(),
        );
        let api_limit = Family::<ConnectorLabel, Gauge>::default();
        registry.register(
            "vendor_api_limit",
            "API requests the vendor allows in that window",
            api_limit.clone(),
        );
        Metrics {
            api_used,
            api_limit,
            registry,
            runs,
            read,
            written,
            dead_lettered,
            write_calls,
            retries,
            rate_limit_waits,
            skipped_ticks,
            duration,
            last_success,
            outbox,
            dead_letters,
            inbox,
            connector_up,
            reloads,
            webhooks,
            allocations_held,
            allocation_ranges,
        }
    }
}

/// What a run's pages have already added to the record counters (see `run_progress`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counted {
    /// Records read.
    pub read: u64,
    /// Records written, replayed or deleted.
    pub written: u64,
    /// Records dead-lettered.
    pub dead_lettered: u64,
    /// Write calls made.
    pub write_calls: u64,
}

impl Counted {
    fn of(report: &RunReport) -> Self {
        Counted {
            read: report.read,
            written: report.written + report.replayed + report.deleted,
            dead_lettered: report.dead_lettered,
            write_calls: report.write_calls,
        }
    }
}

impl Metrics {
    /// Adds to the record counters what a running run did since `counted`; returns the new
    /// counted totals.
    pub fn run_progress(&self, report: &RunReport, counted: Counted) -> Counted {
        let now = Counted::of(report);
        let p = label(&report.pipeline);
        self.read
            .get_or_create(&p)
            .inc_by(now.read.saturating_sub(counted.read));
        self.written
            .get_or_create(&p)
            .inc_by(now.written.saturating_sub(counted.written));
        self.dead_lettered
            .get_or_create(&p)
            .inc_by(now.dead_lettered.saturating_sub(counted.dead_lettered));
        self.write_calls
            .get_or_create(&p)
            .inc_by(now.write_calls.saturating_sub(counted.write_calls));
        Counted {
            read: now.read.max(counted.read),
            written: now.written.max(counted.written),
            dead_lettered: now.dead_lettered.max(counted.dead_lettered),
            write_calls: now.write_calls.max(counted.write_calls),
        }
    }

    /// Counts a finished run; its record counters only for what its pages had not (`counted`).
    pub fn run_finished(&self, report: &RunReport, counted: Counted) {
        let p = label(&report.pipeline);
        self.runs
            .get_or_create(&RunLabels {
                pipeline: report.pipeline.clone(),
                outcome: report.outcome_label().to_string(),
            })
            .inc();
        self.run_progress(report, counted);
        self.retries.get_or_create(&p).inc_by(report.retries);
        self.rate_limit_waits
            .get_or_create(&p)
            .inc_by(report.rate_limit_waits);
        self.allocations_held
            .get_or_create(&p)
            .set(report.allocations_held as i64);
        self.allocation_ranges
            .get_or_create(&p)
            .inc_by(report.allocation_ranges);
        self.duration
            .get_or_create(&p)
            .observe(report.duration_ms as f64 / 1000.0);
        if report.succeeded() {
            self.last_success
                .get_or_create(&p)
                .set(chrono::Utc::now().timestamp());
        }
    }

    /// Counts a scheduled tick skipped because the pipeline was still running.
    pub fn tick_skipped(&self, pipeline: &str) {
        self.skipped_ticks.get_or_create(&label(pipeline)).inc();
    }

    /// Counts a webhook request by how it ended.
    pub fn webhook(&self, connector: &str, result: &str) {
        self.webhooks
            .get_or_create(&WebhookLabels {
                connector: connector.to_string(),
                result: result.to_string(),
            })
            .inc();
    }

    /// Counts a reload attempt.
    pub fn reloaded(&self, ok: bool) {
        self.reloads
            .get_or_create(&ResultLabel {
                result: if ok { "ok" } else { "rejected" }.into(),
            })
            .inc();
    }

    /// Sets the queue depths of a pipeline.
    pub fn set_pipeline_depths(&self, pipeline: &str, outbox: usize, dead_letters: usize) {
        let p = label(pipeline);
        self.outbox.get_or_create(&p).set(outbox as i64);
        self.dead_letters.get_or_create(&p).set(dead_letters as i64);
    }

    /// Sets a connector's inbox depth and health.
    pub fn set_connector(&self, connector: &str, inbox: usize, up: bool) {
        let c = ConnectorLabel {
            connector: connector.to_string(),
        };
        self.inbox.get_or_create(&c).set(inbox as i64);
        self.connector_up.get_or_create(&c).set(i64::from(up));
    }

    /// Sets a connector's API quota use, as the vendor last reported it.
    pub fn set_api_usage(&self, connector: &str, usage: syncd_core::ApiUsage) {
        let c = ConnectorLabel {
            connector: connector.to_string(),
        };
        self.api_used.get_or_create(&c).set(usage.used as i64);
        self.api_limit.get_or_create(&c).set(usage.limit as i64);
    }

    /// The metrics in the Prometheus / OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
