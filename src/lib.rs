//! cargofox: a git-native, content-addressed archive of crates.io releases.
//!
//! The flow is `registry` (index and downloads) -> `archive` (cargo's view of
//! a `.crate`) -> `store` (git objects and refs, the only user of gix).
//! `commands` wires the stages together; `main.rs` only parses and dispatches.

pub mod analyse;
pub mod archive;
pub mod audit;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod enumerate;
pub mod lockfile;
pub mod message;
pub mod net;
pub mod output;
pub mod owners;
pub mod plan;
pub mod registry;
pub mod report;
pub mod signals;
pub mod store;
pub mod types;
pub mod upstream;
