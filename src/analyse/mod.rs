//! Analysis of a release's contents: facts read from its files.
//!
//! Owns: `manifest` (the normalised `Cargo.toml`, parsed, and the
//! differences between two of them) and `consistency` (whether
//! `Cargo.toml.orig`, the normalised `Cargo.toml` and the index entry agree).
//! Pure: takes bytes and returns data; must not import `store` or `net`, and
//! from `registry` only the pure index types (`registry::index`).

pub mod code;
pub mod consistency;
pub mod manifest;
