//! What the benchmarks share: a connector built from an inline section, as the daemon builds
//! one from `adapters.toml`.

use syncd_core::{BuildContext, ConfigSection, ConnectorFactory};
use syncd_engine::ConnectorHandle;

#[allow(dead_code)]
/// The connector `name` of `factory`, configured by `toml`, its files under `dir`.
pub fn connector(
    factory: &dyn ConnectorFactory,
    dir: &std::path::Path,
    name: &str,
    toml: &str,
) -> ConnectorHandle {
    let section = ConfigSection::from_toml(&format!("connectors.{name}"), toml).unwrap();
    let connector = factory
        .build(BuildContext {
            name: name.into(),
            section,
            data_dir: dir.join(name),
            base_dir: dir.to_path_buf(),
        })
        .unwrap();
    ConnectorHandle::new(connector, None)
}

/// Prints one figure as a JSON line: `figure` names it, `syncd_*` keys are ours, `python_*`
/// keys the baseline's, others detail it. `cargo bench --bench suite` collects these lines.
#[allow(dead_code)]
pub fn figure(bench: &str, figure: &str, fields: serde_json::Value) {
    let mut line = serde_json::json!({"bench": bench, "figure": figure});
    if let (Some(line), serde_json::Value::Object(fields)) = (line.as_object_mut(), fields) {
        line.extend(fields);
    }
    println!("{line}");
}

/// How long each request of a paced load took to be answered, and how many failed.
#[allow(dead_code)]
pub struct Latencies {
    sorted: Vec<std::time::Duration>,
    /// Requests not answered 2xx.
    pub failed: u64,
}

#[allow(dead_code)]
impl Latencies {
    /// Requests answered 2xx.
    pub fn ok(&self) -> usize {
        self.sorted.len()
    }

    /// The `q` quantile (0.5 is the median), in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        let at = ((self.sorted.len() as f64 - 1.0) * q) as usize;
        self.sorted
            .get(at)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    }

    /// The slowest, in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.ms(1.0)
    }
}

/// Sends `total` requests at `rate` a second (`request(n)` builds the n-th), each on its own
/// task, and times each until its answer: a steady load, not one that waits for the server.
#[allow(dead_code)]
pub async fn paced(
    rate: u64,
    total: u64,
    mut request: impl FnMut(u64) -> reqwest::RequestBuilder,
) -> Latencies {
    let mut tick = tokio::time::interval(std::time::Duration::from_micros(1_000_000 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..total {
        tick.tick().await;
        let sending = request(n);
        tasks.spawn(async move {
            let sent = std::time::Instant::now();
            let ok = sending.send().await.is_ok_and(|r| r.status().is_success());
            (sent.elapsed(), ok)
        });
    }
    let mut latencies = Latencies {
        sorted: Vec::with_capacity(total as usize),
        failed: 0,
    };
    while let Some(done) = tasks.join_next().await {
        match done.expect("a request task") {
            (latency, true) => latencies.sorted.push(latency),
            (_, false) => latencies.failed += 1,
        }
    }
    latencies.sorted.sort();
    latencies
}
