//! The hermetic test harness: every fixture a test needs is built here by
//! code, on this machine, with no network beyond 127.0.0.1.
//!
//! - [`tarball`]: hand-written ustar archives, hostile ones included, and `.crate` files.
//! - [`registry`]: a registry (config.json, index files, crate files) in a temp dir.
//! - [`server`]: a real HTTP/1.1 server for that registry, with fault injection.
//! - [`command`]: runs the `cargofox` binary with a clean environment and a timeout.
//! - [`git`]: the system `git`, isolated from the user's configuration.

pub mod command;
pub mod git;
pub mod registry;
pub mod server;
mod sys;
pub mod tarball;

pub use command::{Cargofox, Output};
pub use git::{git, git_bytes, git_write_tree_of};
pub use registry::{IndexEntry, TestRegistry, index_path};
pub use server::{DlStyle, Fault, Request, ServeOptions, Server, serve, serve_with};
pub use tarball::{Entry, Kind, TarBuilder, crate_file, crate_file_with_modes, crate_tar, gzip};

use sha2::{Digest, Sha256};

/// Lower-case hex sha256 of `bytes`, as the index `cksum` field spells it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh temporary directory, removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("cargofox-test-")
        .tempdir()
        .expect("create a temp dir")
}
