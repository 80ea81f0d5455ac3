//! When each pipeline runs next: its cron expression read in the daemon's time zone.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::{parse_schedule, Config};

/// The parsed schedules of one config.
pub struct Schedules {
    by_pipeline: BTreeMap<String, cron::Schedule>,
    timezone: Tz,
}

impl Schedules {
    /// The schedules of every pipeline that has one (the config is already validated).
    pub fn of(config: &Config) -> Self {
        let by_pipeline = config
            .pipelines
            .iter()
            .filter_map(|p| {
                let expr = p.schedule.as_deref()?;
                parse_schedule(expr).ok().map(|s| (p.name.clone(), s))
            })
            .collect();
        Schedules {
            by_pipeline,
            timezone: config.daemon.timezone(),
        }
    }

    /// The first tick of `pipeline` strictly after `after`; `None` when it has no schedule.
    pub fn next_after(&self, pipeline: &str, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let schedule = self.by_pipeline.get(pipeline)?;
        schedule
            .after(&after.with_timezone(&self.timezone))
            .next()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The pipelines that have a schedule.
    pub fn pipelines(&self) -> impl Iterator<Item = &str> {
        self.by_pipeline.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn config(timezone: Option<&str>, schedule: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adapters.toml");
        let tz = timezone
            .map(|t| format!("timezone = \"{t}\"\n"))
            .unwrap_or_default();
        std::fs::write(
            &path,
            format!(
                "[daemon]\n{tz}\n[connectors.a]\nkind = \"file\"\nread_dir = \".\"\n\
                 [connectors.b]\nkind = \"file\"\nwrite_path = \"out.jsonl\"\n\
                 [[pipelines]]\nname = \"p\"\nfrom = \"a\"\nto = \"b\"\nentity = \"stock_position\"\nschedule = \"{schedule}\"\n"
            ),
        )
        .unwrap();
        let (config, errors) = crate::config::load(&path).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        config
    }

    #[test]
    fn schedules_are_read_in_utc_by_default() {
        let s = Schedules::of(&config(None, "0 2 * * *"));
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        assert_eq!(
            s.next_after("p", now),
            Some(Utc.with_ymd_and_hms(2026, 11, 24, 2, 0, 0).unwrap())
        );
    }

    #[test]
    fn schedules_follow_the_configured_time_zone() {
        // 02:00 in Melbourne (UTC+11 in November) is 15:00 UTC the day before.
        let s = Schedules::of(&config(Some("Australia/Melbourne"), "0 2 * * *"));
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        assert_eq!(
            s.next_after("p", now),
            Some(Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap())
        );
    }

    #[test]
    fn an_unscheduled_pipeline_has_no_next_run() {
        let s = Schedules::of(&config(None, "* * * * * *"));
        assert!(s.next_after("other", Utc::now()).is_none());
        assert_eq!(s.pipelines().collect::<Vec<_>>(), vec!["p"]);
    }
}
