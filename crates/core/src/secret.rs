//! Secrets in config: given as `{ env = "NAME" }`, `{ file = "/path" }` or
//! `{ credential = "name" }` (a systemd `LoadCredential=` file), resolved when the config is read,
//! and never printed.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A resolved secret value; `Debug` and `Display` print a placeholder, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a value (for tests and for values obtained at run time, such as tokens).
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Arc::from(value.into()))
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

fn read_secret_file(path: &PathBuf) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read secret file `{}`: {e}", path.display()))?;
    let value = text.strip_suffix('\n').unwrap_or(&text);
    let value = value.strip_suffix('\r').unwrap_or(value);
    if value.is_empty() {
        return Err(format!("secret file `{}` is empty", path.display()));
    }
    Ok(Secret::new(value))
}

/// Where systemd looks for a `LoadCredential=<name>` given without a path, in its order.
const CREDSTORE: [&str; 3] = ["/etc/credstore", "/run/credstore", "/usr/lib/credstore"];

struct SecretVisitor;

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a secret: { env = \"NAME\" }, { file = \"/path\" } or { credential = \"name\" }",
        )
    }

    // A plain string is accepted so that `SYNCD_...` environment overrides can carry a secret;
    // the TOML file itself should always use one of the indirections.
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
        if v.is_empty() {
            return Err(E::custom("secret is empty"));
        }
        Ok(Secret::new(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Secret, A::Error> {
        let Some((kind, name)) = map.next_entry::<String, String>()? else {
            return Err(de::Error::custom(
                "secret table is empty: expected `env`, `file` or `credential`",
            ));
        };
        if map.next_key::<String>()?.is_some() {
            return Err(de::Error::custom(
                "a secret takes exactly one of `env`, `file`, `credential`",
            ));
        }
        match kind.as_str() {
            "env" => match std::env::var(&name) {
                Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
                Ok(_) => Err(de::Error::custom(format!(
                    "environment variable `{name}` is empty"
                ))),
                Err(_) => Err(de::Error::custom(format!(
                    "environment variable `{name}` is not set"
                ))),
            },
            "file" => read_secret_file(&PathBuf::from(&name)).map_err(de::Error::custom),
            "credential" => match std::env::var_os("CREDENTIALS_DIRECTORY") {
                Some(dir) => {
                    read_secret_file(&PathBuf::from(dir).join(&name)).map_err(de::Error::custom)
                }
                // Outside the service (an operator's `sudo syncd ...`), the credential store
                // systemd itself reads `LoadCredential=<name>` from.
                None => CREDSTORE
                    .iter()
                    .map(|dir| PathBuf::from(dir).join(&name))
                    .find(|path| path.is_file())
                    .ok_or_else(|| {
                        de::Error::custom(format!(
                            "credential `{name}`: CREDENTIALS_DIRECTORY is not set (use LoadCredential= in the unit) and no {} holds it",
                            CREDSTORE.join(", ")
                        ))
                    })
                    .and_then(|path| read_secret_file(&path).map_err(de::Error::custom)),
            },
            other => Err(de::Error::custom(format!(
                "unknown secret source `{other}`: expected `env`, `file` or `credential`"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecretVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigSection;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct WithSecret {
        password: Secret,
    }

    #[test]
    fn a_secret_from_a_file_is_read_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "hunter2\n").unwrap();
        let toml = format!("password = {{ file = '{}' }}", path.display());
        let cfg: WithSecret = ConfigSection::from_toml("c.x", &toml)
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(cfg.password.expose(), "hunter2");
        assert!(!format!("{cfg:?}").contains("hunter2"));
        assert!(!cfg.password.to_string().contains("hunter2"));
    }

    #[test]
    fn a_missing_environment_variable_is_named_without_a_value() {
        let toml = "password = { env = 'SYNCD_TEST_SURELY_UNSET_VAR' }";
        let errs = ConfigSection::from_toml("connectors.x", toml)
            .unwrap()
            .extract::<WithSecret>()
            .unwrap_err();
        assert_eq!(errs[0].key, "connectors.x.password");
        assert!(
            errs[0].message.contains("SYNCD_TEST_SURELY_UNSET_VAR"),
            "{errs:?}"
        );
    }

    #[test]
    fn an_unreadable_secret_file_is_named() {
        let toml = "password = { file = '/nonexistent/secret' }";
        let errs = ConfigSection::from_toml("connectors.x", toml)
            .unwrap()
            .extract::<WithSecret>()
            .unwrap_err();
        assert!(errs[0].message.contains("/nonexistent/secret"), "{errs:?}");
    }
}
