//! syncd-mission: the whole mission on one machine. The omnichannel reference topology
//! (`examples/omnichannel/adapters.toml`) pointed at the sandbox's simulators, a real `syncd run`
//! child process working it, and the drivers that play a merchant's day through it: the
//! demo's scripted steps and the soak's random changes under vendor faults.
//!
//! The drivers touch the vendors only as their users do (the sandboxes' own controls: a catalog
//! edit in Ergonode, a count in ShipHero, an order in NewStore, an edit in Salesforce) and the
//! daemon only through its CLI (`syncd trigger`) and admin API (`/runs`, `/conflicts`).

pub mod config;
pub mod daemon;
pub mod demo;
pub mod error;
pub mod holdings;
pub mod mission;
pub mod orders;
pub mod soak;
pub mod tables;

pub use error::MissionError;
pub use mission::{Mission, MissionOptions, Pace};
