//! Analysis of a release's contents: facts read from its files.
//!
//! Owns: `manifest` (the normalised `Cargo.toml`, parsed, and the
//! differences between two of them). Pure: takes bytes and returns data; must
//! not import `store`, `net` or `registry`.

pub mod code;
pub mod manifest;
