//! How hard the parser fuzz tests push: a bounded number of cases by default, so that the suite
//! stays quick; `SYNCD_FUZZ_CASES=<n>` for a long run, e.g.
//! `SYNCD_FUZZ_CASES=200000 cargo test --release --workspace fuzz`.

/// Cases each fuzz property runs.
pub fn fuzz_cases() -> u32 {
    std::env::var("SYNCD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}
