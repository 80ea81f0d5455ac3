//! What an adapter provides so that the suite can exercise it.

use async_trait::async_trait;
use syncd_core::{ConfigSection, ConnectorFactory, EntityKind, Record};

/// An adapter under test, with the means to seed and inspect the system behind it.
#[async_trait]
pub trait Subject: Send + Sync {
    /// The factory under test.
    fn factory(&self) -> Box<dyn ConnectorFactory>;

    /// The entity kind the suite carries.
    fn entity(&self) -> EntityKind;

    /// `n` distinct valid records the target accepts.
    fn sample(&self, n: usize) -> Vec<Record>;

    /// A record the target refuses for good (a permanent, per-record vendor error).
    fn permanently_rejected(&self) -> Record;

    /// Puts `records`, in order, into the system, and returns a config reading them.
    async fn source_with(&self, records: &[Record]) -> ConfigSection;

    /// Returns a config writing into a fresh, empty target.
    async fn fresh_target(&self) -> ConfigSection;

    /// What the last fresh target holds, read from the system directly (not through the
    /// connector), sorted by key.
    async fn target_contents(&self) -> Vec<Record>;

    /// Configs that must be refused, each with the key path the error must name.
    fn bad_configs(&self) -> Vec<(ConfigSection, String)>;

    /// Makes every write to the target fail transiently (5xx, unreachable, unmounted).
    async fn break_target(&self);

    /// Undoes [`Subject::break_target`].
    async fn heal_target(&self);

    /// Where connectors under test keep their own files (the subject's temp dir).
    fn data_dir(&self) -> std::path::PathBuf;
}
