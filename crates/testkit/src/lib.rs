//! The conformance suite every adapter crate runs on itself, against its simulator (or, for
//! the file adapter, the file system): implement [`Subject`] and call [`run_all`].

mod fixture;
mod fuzz;
mod seeds;
mod subject;
mod suite;

pub use fixture::FixtureSource;
pub use fuzz::fuzz_cases;
pub use seeds::{seed_example, seed_json};
pub use subject::Subject;
pub use suite::{
    a_bad_config_is_rejected_naming_the_key, a_permanent_error_becomes_a_dead_letter,
    a_retryable_error_is_retried_and_nothing_is_lost_or_doubled,
    checkpoint_capture_redelivers_from_the_first_unacknowledged,
    reading_twice_from_a_saved_cursor_yields_no_record_twice, run_all,
    the_documented_keys_are_the_keys_the_connector_reads,
    writing_the_same_batch_twice_leaves_the_target_unchanged,
};
