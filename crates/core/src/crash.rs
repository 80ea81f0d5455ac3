//! Named crash points, for the tests that kill the process at an exact step. In a debug build,
//! `SYNCD_CRASH_AT=<point>` aborts the process when it first reaches that point, as kill -9
//! would: nothing is flushed and no destructor runs; `SYNCD_CRASH_AT=<point>:<n>` aborts on the
//! n-th time. Release builds compile the check away.
//!
//! A small function of our own rather than a failpoint crate: the one action the tests need is
//! an abort (the `fail` crate has none; its `return` action would need a closure at every site
//! that aborts anyway), and the check must vanish from release builds without a feature flag
//! that `cargo test --workspace` would have to remember.

/// Every point, in the order a run (or a webhook, or a NewStore import) reaches them, with what
/// is durable when the process dies there. The crash tests iterate over this list.
pub const POINTS: &[(&str, &str)] = &[
    (
        "inbox_flushed",
        "a webhook's events are flushed to the inbox; the vendor has no answer yet",
    ),
    (
        "before_call",
        "a write call's intent is flushed to the outbox; the call is not made",
    ),
    (
        "after_call",
        "the target answered the call; nothing is acknowledged",
    ),
    (
        "acked",
        "the call is acknowledged (outbox entry gone, shadow updated); the cursor has not moved",
    ),
    (
        "staged",
        "a staging sink holds the whole run and its pending shadow is flushed; finish not called",
    ),
    (
        "finished",
        "the staging sink replaced its artifact; nothing acknowledged, the cursor not moved",
    ),
    (
        "batch_kept",
        "a Fluent batch was posted and kept as in flight; its outcome is not read yet",
    ),
    (
        "import_created",
        "a NewStore import was created and not yet kept as in flight; it is not started",
    ),
    (
        "import_kept",
        "a NewStore import was created and kept as in flight; it is not started",
    ),
    (
        "import_started",
        "NewStore was told to start the kept import; its end is not seen yet",
    ),
    (
        "sync_intent",
        "a ShipHero sync's CSV is served and its intent kept; inventory_sync is not called",
    ),
    (
        "sync_kept",
        "a ShipHero sync was created and its sync_id kept; its end is not seen yet",
    ),
    (
        "catalog_applied",
        "a PIM call's events are folded into the catalog and flushed; its records are not in the inbox, Ergonode has no answer",
    ),
    (
        "push_aged",
        "a Salesforce push's unit ages are kept; its events are not in the inbox, the package has no answer",
    ),
];

/// Aborts the process here if the tests asked for this point.
pub fn point(name: &str) {
    debug_assert!(
        POINTS.iter().any(|(p, _)| *p == name),
        "crash point `{name}` is not listed in POINTS"
    );
    #[cfg(debug_assertions)]
    if let Ok(at) = std::env::var("SYNCD_CRASH_AT") {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static REACHED: AtomicUsize = AtomicUsize::new(0);
        let (point, nth) = match at.split_once(':') {
            Some((point, nth)) => (point, nth.parse().unwrap_or(1)),
            None => (at.as_str(), 1),
        };
        if point == name && REACHED.fetch_add(1, Ordering::SeqCst) + 1 == nth {
            eprintln!("crash point `{name}` reached: aborting as asked by SYNCD_CRASH_AT={at}");
            std::process::abort();
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}
