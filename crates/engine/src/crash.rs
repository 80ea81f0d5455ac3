//! Named crash points, for the tests that kill a run at an exact step. In a debug build,
//! `SYNCD_CRASH_AT=<point>` aborts the process when a run reaches that point, as kill -9 would:
//! nothing is flushed and no destructor runs. Release builds compile the check away.
//!
//! The points, in a run's order: `before_call` (a call's intent is flushed, the call not made),
//! `after_call` (the target answered, nothing acknowledged), `staged` (a staging sink holds the
//! run and its pending shadow is flushed, `finish` not called), `finished` (the sink replaced
//! its artifact, nothing acknowledged, the cursor not moved).

/// Aborts the process here if the tests asked for this point.
pub fn point(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("SYNCD_CRASH_AT").is_ok_and(|at| at == name) {
        eprintln!("crash point `{name}` reached: aborting as asked by SYNCD_CRASH_AT");
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}
