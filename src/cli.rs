//! Command-line types (clap) and their validation into typed options. Nothing
//! outside this module and `main.rs` sees clap.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::sync::CrateSpec;
use crate::enumerate as cargofox_shard;

/// cargofox: see what really ships in every crates.io release.
#[derive(Debug, Parser)]
#[command(name = "cargofox", version, about, long_about = None)]
pub struct Cli {
    /// Data directory (store, cache).
    #[arg(long, global = true, env = "CARGOFOX_DATA", default_value = "./cargofox-data")]
    pub data: PathBuf,

    /// Sparse index URL (`sparse+https://...`, `https://...`) or a `file://`
    /// directory with the same layout.
    #[arg(long, global = true, env = "CARGOFOX_REGISTRY", default_value = crate::registry::CRATES_IO)]
    pub registry: String,

    /// The audit repository's working copy (default `<data>/audit`).
    #[arg(long, global = true, env = "CARGOFOX_AUDIT")]
    pub audit: Option<PathBuf>,

    /// Directory of templates overriding the built-in ones (same file names).
    #[arg(long, global = true, value_name = "DIR")]
    pub templates: Option<PathBuf>,

    /// Use no network at all: cached index files only.
    #[arg(long, global = true)]
    pub offline: bool,

    /// Contact sent in the User-Agent (`cargofox/<version> (+<contact>)`);
    /// required for the crates.io web API (`--api`).
    #[arg(long, global = true, env = "CARGOFOX_CONTACT")]
    pub contact: Option<String>,

    /// The current time (RFC 3339, UTC), for reproducible runs.
    #[arg(long, global = true, value_name = "TIME")]
    pub current_time: Option<String>,

    /// More logging on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch, verify and store every version of the given crates, then
    /// write their reports into the audit repository and commit it.
    Sync(SyncArgs),
    /// Re-check the audit repository's hashes and tree ids against the registry.
    Verify(VerifyArgs),
    /// What the audit repository says about a project's dependencies.
    Check(CheckArgs),
    /// Print the unified diff between two stored versions (offline).
    Diff(DiffArgs),
    /// Push the audit repository (fast-forward only, never forced).
    Publish(PublishArgs),
    /// Create the audit repository from the template (sync does it on first use).
    Init,
    /// Merge the audit repositories of shards (`sync --shard I/N`) into the
    /// audit repository, regenerate its indexes and commit.
    Merge(MergeArgs),
}

/// `cargofox merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The shards' audit repositories (working copies), read as data only.
    #[arg(value_name = "AUDIT_DIR", required = true)]
    pub shards: Vec<PathBuf>,
}

/// `cargofox verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Only this crate (repeatable).
    #[arg(long = "crate", value_name = "NAME")]
    pub crates: Vec<String>,
    /// Only releases published on or after this date (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Check a random sample of this many releases.
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// Seed of the sample, to repeat one (default: from the clock).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Retries for transient HTTP failures.
    #[arg(long, default_value_t = 4)]
    pub retries: u32,
}

/// `cargofox check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The project's `Cargo.lock`.
    #[arg(value_name = "LOCKFILE")]
    pub lockfile: PathBuf,
    /// Only what changed since this older lockfile, with the signals of every
    /// release in between.
    #[arg(long, value_name = "OLD.lock")]
    pub since: Option<PathBuf>,
    /// Signal codes (comma-separated or repeated) that make the exit status 1;
    /// also `not-audited`, `not-covered`, `yanked`.
    #[arg(long, value_name = "CODES")]
    pub deny: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per package.
    Human,
    /// One JSON document (docs/CHECK.md).
    Json,
}

/// `cargofox diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The crate.
    pub name: String,
    /// The old version.
    pub old: String,
    /// The new version.
    pub new: String,
}

/// `cargofox publish`.
#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// Where to push (a URL or remote name; default: the audit repo's `origin`).
    #[arg(long)]
    pub remote: Option<String>,
}

/// `cargofox sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Crates to sync: `NAME` (every version) or `NAME@VERSION` (one version
    /// and whichever of its ancestors are missing).
    #[arg(value_name = "CRATE[@VERSION]", required_unless_present_any = ["all", "list"])]
    pub crates: Vec<CrateSpec>,

    /// Every crate of the registry, listed from a local clone of a git-format
    /// index (`--index-git DIR`), else from the `crates` table of the
    /// database dump (`--db-dump`).
    #[arg(long)]
    pub all: bool,

    /// With `--all --db-dump`: only the crates whose dump rows (versions,
    /// checksums, yanks, owners) changed since the last run that completed
    /// cleanly with this option (recorded in `<data>/cache/`).
    #[arg(long, requires_all = ["all", "db_dump"])]
    pub dump_changed_only: bool,

    /// A local clone of the registry's git-format index (for `--all`).
    #[arg(long, value_name = "DIR")]
    pub index_git: Option<PathBuf>,

    /// Crates listed in a file, one name per line (`#` comments).
    #[arg(long, value_name = "FILE")]
    pub list: Option<PathBuf>,

    /// Only the crates of shard I of N (0-based), by a stable hash of the name.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<cargofox_shard::Shard>,

    /// Downloads in flight (and worker threads).
    #[arg(long, short = 'j', default_value_t = 4)]
    pub jobs: usize,

    /// Write a pack (and its refs) once this many MiB are pending.
    #[arg(long, default_value_t = 256, hide = true)]
    pub flush_mib: u64,

    /// Retries for transient HTTP failures.
    #[arg(long, default_value_t = 4)]
    pub retries: u32,

    /// Record a version as unavailable once the registry has refused its
    /// download (HTTP 403/404/410) for this many days.
    #[arg(long, default_value_t = 7, value_name = "DAYS")]
    pub tombstone_days: u32,

    /// Stop starting new work after this many seconds; what is left is
    /// listed and done by the next run.
    #[arg(long, value_name = "SECS")]
    pub max_duration: Option<u64>,

    /// Record owners and publishers from this crates.io-style web API
    /// (e.g. `https://crates.io`); at most one request per `--api-interval`.
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,

    /// Least milliseconds between two API requests (crates.io: at least 1000).
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub api_interval: u64,

    /// Record owners and publishers from a crates.io database dump
    /// (`.tar.gz` file or http(s) URL; read as a stream, only the rows of the
    /// synced crates kept; a URL is downloaded to `<data>/cache/` first).
    #[arg(long, value_name = "FILE|URL")]
    pub db_dump: Option<String>,

    /// Seconds one HTTP request may take (headers and body), per attempt.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub timeout: u64,

    /// Do not compare releases with their upstream repositories.
    #[arg(long)]
    pub no_upstream: bool,

    /// Seconds one upstream repository fetch may take.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub upstream_timeout: u64,

    /// MiB of packs one upstream repository fetch may receive.
    #[arg(long, default_value_t = 2048, value_name = "MIB")]
    pub upstream_max_mib: u64,

    /// Fetch upstream history only this many commits deep (shallow; saves
    /// disk, but reachability of a claimed commit becomes unknown past the
    /// boundary). Default: the whole history.
    #[arg(long, value_name = "N")]
    pub upstream_depth: Option<std::num::NonZeroU32>,
}
