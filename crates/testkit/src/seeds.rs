//! The seeds' examples in `fixtures/seeds/` (copied verbatim; see its README), as tests read
//! them.

use std::path::PathBuf;

/// The text of `fixtures/seeds/<seed>/<name>`, with the seed's page layout taken off: some seeds
/// print each body with its line numbers in front and `// notes` after values; both are the
/// page's, not the body's.
pub fn seed_example(seed: &str, name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/seeds")
        .join(seed)
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|line| {
            let line = line.trim_start_matches(|c: char| c.is_ascii_digit());
            match line.find(" //") {
                Some(at) => &line[..at],
                None => line,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// [`seed_example`] parsed as JSON.
pub fn seed_json(seed: &str, name: &str) -> serde_json::Value {
    let text = seed_example(seed, name);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("seed {seed} {name}: {e}\n{text}"))
}
