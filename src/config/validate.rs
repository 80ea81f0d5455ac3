//! Checks across sections: names, references between pipelines, links and connectors, and
//! schedules.

use std::collections::HashSet;
use std::str::FromStr;

use syncd_core::ConfigError;

use super::Config;

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Parses a cron expression; a 5-field crontab expression means second 0.
pub fn parse_schedule(expr: &str) -> Result<cron::Schedule, String> {
    let fields = expr.split_whitespace().count();
    let full = if fields == 5 {
        format!("0 {expr}")
    } else {
        expr.to_string()
    };
    cron::Schedule::from_str(&full).map_err(|e| {
        let reason = e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        format!("`{expr}` is not a cron expression ({reason})")
    })
}

/// Every cross-section problem.
pub fn cross_references(config: &Config) -> Vec<ConfigError> {
    let origin = &config.origin;
    let mut errors = Vec::new();
    if config.pipelines.is_empty() && !config.daemon.allow_empty {
        errors.push(ConfigError::new(
            origin,
            "pipelines",
            "no pipeline is configured (an empty or truncated file?); set `[daemon] allow_empty = true` to run with none",
        ));
    }
    for name in config.connectors.keys() {
        if !valid_name(name) {
            errors.push(ConfigError::new(
                origin,
                format!("connectors.{name}"),
                "names may use only letters, digits, `-` and `_`",
            ));
        }
    }
    let mut names = HashSet::new();
    for (i, p) in config.pipelines.iter().enumerate() {
        let at = format!("pipelines[{i}]");
        if !valid_name(&p.name) {
            errors.push(ConfigError::new(
                origin,
                format!("{at}.name"),
                "names may use only letters, digits, `-` and `_`",
            ));
        }
        if !names.insert(p.name.as_str()) {
            errors.push(ConfigError::new(
                origin,
                format!("{at}.name"),
                format!("pipeline `{}` is defined twice", p.name),
            ));
        }
        for (key, connector) in [("from", &p.from), ("to", &p.to)] {
            if !config.connectors.contains_key(connector) {
                errors.push(ConfigError::new(
                    origin,
                    format!("{at}.{key}"),
                    format!("no connector named `{connector}`"),
                ));
            }
        }
        if p.from == p.to {
            errors.push(ConfigError::new(
                origin,
                format!("{at}.to"),
                "a pipeline cannot write into its own source",
            ));
        }
        if let Some(schedule) = &p.schedule {
            if let Err(e) = parse_schedule(schedule) {
                errors.push(ConfigError::new(origin, format!("{at}.schedule"), e));
            }
        }
    }
    for (i, link) in config.links.iter().enumerate() {
        let at = format!("links[{i}]");
        for connector in &link.between {
            if !config.connectors.contains_key(connector) {
                errors.push(ConfigError::new(
                    origin,
                    format!("{at}.between"),
                    format!("no connector named `{connector}`"),
                ));
            }
        }
        for (field, owner) in &link.owners {
            if !link.between.contains(owner) {
                errors.push(ConfigError::new(
                    origin,
                    format!("{at}.owners.{field}"),
                    format!(
                        "owner `{owner}` is not one of the linked connectors {:?}",
                        link.between
                    ),
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_field_crontab_expressions_mean_second_zero() {
        let s = parse_schedule("*/5 * * * *").unwrap();
        let next = s.upcoming(chrono::Utc).next().unwrap();
        assert_eq!(next.format("%S").to_string(), "00");
        assert!(parse_schedule("every minute").is_err());
    }
}
