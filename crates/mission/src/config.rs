//! The reference topology's config, `examples/omnichannel/adapters.toml`, pointed at a running
//! sandbox: the example's fixed sandbox ports (`syncd sandbox --port-base 17400`) become the
//! simulators' real addresses, and its cron schedules are kept, compressed or removed.

use std::net::SocketAddr;

use syncd_sandbox::Sandbox;

use crate::MissionError;

/// The example, as shipped.
pub const EXAMPLE: &str = include_str!("../../../examples/omnichannel/adapters.toml");

/// The example's pipelines in the order one pass of the mission runs them: the catalog first
/// (the guard releases stock of products it brings), the sources NewStore stocks at, the link
/// both ways, the ledger's inputs,
/// then the ledger out to the systems that sell from it.
pub const PIPELINES: [&str; 8] = [
    "catalog-to-salesforce",
    "sources-to-newstore",
    "warehouse-to-salesforce",
    "salesforce-to-warehouse",
    "counts-to-erp",
    "orders-to-erp",
    "erp-to-newstore",
    "erp-to-fluent",
];

/// The link of the example (ShipHero ⇄ Salesforce).
pub const LINK: &str = "msi-stock";

/// How the daemon's runs are started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedules {
    /// No schedule: every run is asked for (`syncd trigger`).
    None,
    /// Every pipeline once per `cycle_secs` (a divisor of 60), at its own offset in
    /// [`PIPELINES`] order, by the daemon's own cron.
    Cycle {
        /// Seconds per cycle.
        cycle_secs: u32,
    },
}

/// The environment variables the example takes its secrets from, with the sandbox's values.
pub fn secrets(sandbox: &Sandbox, admin_token: &str) -> Vec<(&'static str, String)> {
    let fluent = sandbox.fluent.config();
    let newstore = sandbox.newstore.config();
    vec![
        ("SYNCD_ADMIN_TOKEN", admin_token.to_string()),
        (
            "PIM_ENCRYPTION_KEY",
            "mission-catalog-key-0123456789".into(),
        ),
        (
            "SF_PRIVATE_KEY",
            syncd_sandbox::salesforce::SANDBOX_JWT_PRIVATE_KEY.into(),
        ),
        (
            "SHIPHERO_PASSWORD",
            sandbox.shiphero.config().password.clone(),
        ),
        ("NEWSTORE_CLIENT_SECRET", newstore.client_secret.clone()),
        ("NEWSTORE_WEBHOOK_KEY", NEWSTORE_STREAM_KEY.into()),
        ("FLUENT_CLIENT_SECRET", fluent.client_secret.clone()),
        ("FLUENT_PASSWORD", fluent.password.clone()),
    ]
}

/// The api key NewStore's event stream sends (sandbox only).
pub const NEWSTORE_STREAM_KEY: &str = "mission-newstore-stream-key";

fn replace_all(text: &str, from: &str, to: &str) -> Result<String, MissionError> {
    if !text.contains(from) {
        return Err(MissionError::Example(format!(
            "no `{from}` to point at the sandbox"
        )));
    }
    Ok(text.replace(from, to))
}

/// The example with the sandbox's addresses, the daemon's public listener on `public` (the
/// address Ergonode and ShipHero are given), an ephemeral admin port, and `schedules`.
pub fn render(
    sandbox: &Sandbox,
    public: SocketAddr,
    schedules: Schedules,
) -> Result<String, MissionError> {
    let mut text = EXAMPLE.to_string();
    for (port, url) in [
        (17400, sandbox.fluent.url()),
        (17401, sandbox.newstore.url()),
        (17402, sandbox.salesforce.url()),
        (17403, sandbox.shiphero.url()),
    ] {
        text = replace_all(&text, &format!("http://127.0.0.1:{port}"), &url)?;
    }
    text = replace_all(&text, "127.0.0.1:17480", "127.0.0.1:0")?;
    // The sandbox's ShipHero processes a sync in milliseconds, not minutes: poll it often.
    text = replace_all(
        &text,
        "location = \"default\"\n",
        "location = \"default\"\npoll_interval_secs = 0.1\n",
    )?;
    text = replace_all(&text, "127.0.0.1:17481", &public.to_string())?;
    // What the example assumes of the sandbox's accounts, checked rather than trusted.
    let fluent = sandbox.fluent.config();
    let shiphero = sandbox.shiphero.config();
    let salesforce = sandbox.salesforce.config();
    for expected in [
        format!("token_url = \"{}\"", sandbox.newstore.token_url()),
        format!("client_id = \"{}\"", sandbox.newstore.config().client_id),
        format!("account = \"{}\"", fluent.account),
        format!("username = \"{}\"", fluent.username),
        format!("username = \"{}\"", shiphero.username),
        format!("client_id = \"{}\"", salesforce.client_id),
        format!("username = \"{}\"", salesforce.username),
        format!(
            "warehouse_id = \"{}\"",
            sandbox.shiphero.warehouse_id(crate::mission::WAREHOUSE)
        ),
    ] {
        if !text.contains(&expected) {
            return Err(MissionError::Example(format!(
                "the sandbox needs `{expected}`"
            )));
        }
    }
    Ok(with_schedules(&text, schedules))
}

/// `text` with each pipeline's `schedule` line replaced as `schedules` say.
fn with_schedules(text: &str, schedules: Schedules) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pipeline: Option<usize> = None;
    let mut in_pipeline = false;
    for line in text.lines() {
        if line.starts_with('[') {
            in_pipeline = line.trim() == "[[pipelines]]";
            pipeline = None;
        }
        if in_pipeline {
            if let Some(name) = line
                .strip_prefix("name = \"")
                .and_then(|rest| rest.strip_suffix('"'))
            {
                pipeline = PIPELINES.iter().position(|p| *p == name);
            }
            if line.starts_with("schedule = ") {
                match (schedules, pipeline) {
                    (Schedules::None, _) => {
                        out.push_str("# schedule removed: every run is triggered\n");
                        continue;
                    }
                    (Schedules::Cycle { cycle_secs }, Some(at)) => {
                        let step = (cycle_secs as usize / PIPELINES.len()).max(1);
                        out.push_str(&format!(
                            "schedule = \"{}/{cycle_secs} * * * * *\"\n",
                            at * step
                        ));
                        continue;
                    }
                    (Schedules::Cycle { .. }, None) => {}
                }
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pipeline_of_the_example_is_in_the_pass_and_has_a_schedule() {
        let names: Vec<&str> = EXAMPLE
            .lines()
            .filter_map(|l| l.strip_prefix("name = \"")?.strip_suffix('"'))
            .filter(|name| *name != LINK)
            .collect();
        assert_eq!(names.len(), PIPELINES.len(), "{names:?}");
        for name in names {
            assert!(PIPELINES.contains(&name), "{name} is not in the pass");
        }
        assert_eq!(
            EXAMPLE.matches("\nschedule = ").count(),
            PIPELINES.len(),
            "every pipeline runs on a schedule"
        );
    }

    #[test]
    fn a_cycle_gives_each_pipeline_its_own_second_and_none_removes_them() {
        let cycled = with_schedules(EXAMPLE, Schedules::Cycle { cycle_secs: 30 });
        assert!(cycled.contains("schedule = \"0/30 * * * * *\""));
        assert!(cycled.contains("schedule = \"21/30 * * * * *\""));
        let none = with_schedules(EXAMPLE, Schedules::None);
        assert!(!none.contains("\nschedule = "));
    }
}
