//! `syncd connectors`: the connector kinds this build knows and the keys each takes.

use std::process::ExitCode;

/// Prints every connector kind with its keys, as tables or JSON.
pub fn run(json: bool) -> anyhow::Result<ExitCode> {
    let registry = crate::registry::registry();
    if json {
        let kinds: Vec<serde_json::Value> = registry
            .factories()
            .map(|factory| {
                let keys: Vec<serde_json::Value> = factory
                    .keys()
                    .iter()
                    .map(|key| {
                        let (required, default) = match key.need {
                            syncd_core::KeyNeed::Required => (true, None),
                            syncd_core::KeyNeed::Optional => (false, None),
                            syncd_core::KeyNeed::Default(v) => (false, Some(v)),
                        };
                        serde_json::json!({
                            "key": key.name,
                            "type": key.shape,
                            "required": required,
                            "default": default,
                            "about": key.about,
                        })
                    })
                    .collect();
                serde_json::json!({
                    "kind": factory.kind(),
                    "about": factory.about(),
                    "keys": keys,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&kinds)?);
    } else {
        println!("{}", crate::render::connectors_table(&registry));
    }
    Ok(ExitCode::SUCCESS)
}
