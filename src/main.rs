//! The `cargofox` binary: parse the command line, set up logging, open what the
//! command needs, dispatch, and map the result to an exit status
//! (0 clean, 1 findings or failed versions, 2 error).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser as _;

use cargofox::archive::Limits;

/// The contact in the User-Agent when `--contact` is not given.
const DEFAULT_CONTACT: &str = "https://github.com/cargofox/cargofox";
use cargofox::audit::Audit;
use cargofox::cli::{Cli, Command};
use cargofox::commands::{self, Outcome};
use cargofox::net::{NetConfig, Network};
use cargofox::output::{Clock, Output};
use cargofox::registry::Registry;
use cargofox::registry::index::parse_rfc3339_utc;
use cargofox::report::render::Renderer;
use cargofox::store::Store;
use cargofox::types::{CrateName, VersionStr};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match run(cli) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CARGOFOX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("cargofox={level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// Holds the data directory's lock for the life of the command.
struct DataLock(#[allow(dead_code)] std::fs::File);

fn lock_data(dir: &std::path::Path) -> anyhow::Result<DataLock> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(DataLock(file)),
        Err(std::fs::TryLockError::WouldBlock) => {
            anyhow::bail!(
                "another cargofox is using {} (lock held on {})",
                dir.display(),
                path.display()
            )
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

/// The audit repository a reading command uses: `--audit`, else the current
/// directory when it is a clone of one, else `<data>/audit`.
fn audit_to_read(given: Option<&std::path::Path>, default: &std::path::Path) -> std::path::PathBuf {
    match given {
        Some(a) => a.to_owned(),
        None if std::path::Path::new("VERIFY.md").exists() && std::path::Path::new("crates").is_dir() => ".".into(),
        None => default.to_owned(),
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let clock = match &cli.current_time {
        Some(t) => Clock::fixed(
            parse_rfc3339_utc(t).with_context(|| format!("--current-time {t:?} is not YYYY-MM-DDTHH:MM:SSZ"))?,
        ),
        None => Clock::system(),
    };
    let mut out = Output::stdio();
    let audit_dir = cli.audit.clone().unwrap_or_else(|| cli.data.join("audit"));
    match cli.command {
        Command::Sync(args) => {
            let _lock = lock_data(&cli.data)?;
            let mut crates = args.crates;
            if let Some(list) = &args.list {
                let bytes = std::fs::read(list).with_context(|| format!("reading {}", list.display()))?;
                let (names, bad) = cargofox::enumerate::from_list(&bytes);
                for b in bad {
                    out.line(&format!("SKIPPED list entry {b}: not a crate name"));
                }
                crates.extend(
                    names
                        .into_iter()
                        .map(|name| commands::sync::CrateSpec { name, version: None }),
                );
            }
            if args.all
                && let Some(dir) = &args.index_git
            {
                let names = cargofox::enumerate::from_index_dir(dir)
                    .with_context(|| format!("listing the index at {}", dir.display()))?;
                crates.extend(
                    names
                        .into_iter()
                        .map(|name| commands::sync::CrateSpec { name, version: None }),
                );
            }
            let net = if cli.offline {
                None
            } else {
                let mut cfg = NetConfig::new(cli.contact.as_deref().unwrap_or(DEFAULT_CONTACT));
                cfg.retries = args.retries;
                cfg.request_timeout = std::time::Duration::from_secs(args.timeout.max(1));
                Some(Arc::new(Network::new(cfg)?))
            };
            let api_net = net.clone();
            let registry = Registry::open(&cli.registry, net, &cli.data.join("cache"))
                .with_context(|| format!("opening the registry {}", cli.registry))?;
            let mut store = Store::open(&cli.data.join("store.git"))?;
            commands::sync::check_store(&mut store, &mut out)?;
            let audit = Audit::open_or_init(&audit_dir)?;
            let renderer = Renderer::new(cli.templates.as_deref())?;
            let mut owners = commands::owners_stage::OwnersStage::default();
            if args.all && args.index_git.is_none() && args.db_dump.is_none() {
                anyhow::bail!("--all needs --index-git DIR or --db-dump FILE|URL to list the registry's crates");
            }
            let digests_path = cli.data.join("cache").join("db-dump-crates.json");
            let mut dump_digests = None;
            if let Some(source) = &args.db_dump {
                let path = if source.starts_with("https://") || source.starts_with("http://") {
                    let net = api_net
                        .as_ref()
                        .context("--db-dump URL needs the network (not --offline)")?;
                    let dest = cli.data.join("cache").join("db-dump.tar.gz");
                    std::fs::create_dir_all(cli.data.join("cache"))?;
                    net.get_to_file(source, &dest)
                        .with_context(|| format!("downloading the database dump {source}"))?;
                    dest
                } else {
                    std::path::PathBuf::from(source)
                };
                let path = &path;
                // `--all` without an index clone: the dump's `crates` table
                // lists the registry (read whole, then kept for the owners).
                let dump_read_whole = args.all && args.index_git.is_none();
                let filter = if dump_read_whole {
                    cargofox::owners::dump::CrateFilter::All
                } else {
                    cargofox::owners::dump::CrateFilter::Only(crates.iter().map(|c| c.name.clone()).collect())
                };
                let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
                let reader = cargofox::owners::dump::DumpReader::new(filter);
                let data = reader
                    .read_all(std::io::BufReader::new(file))
                    .with_context(|| format!("reading the database dump {}", path.display()))?;
                if dump_read_whole {
                    let names: Vec<CrateName> = if args.dump_changed_only {
                        let digests = cargofox::enumerate::dump_digests(&data);
                        let previous = cargofox::enumerate::read_digests(&digests_path);
                        let changed = cargofox::enumerate::changed_crates(&previous, &digests);
                        out.line(&format!(
                            "dump: {} of {} crates changed since the last complete run",
                            changed.len(),
                            digests.len()
                        ));
                        dump_digests = Some(digests);
                        changed
                    } else {
                        data.crates.keys().cloned().collect()
                    };
                    crates.extend(
                        names
                            .into_iter()
                            .map(|name| commands::sync::CrateSpec { name, version: None }),
                    );
                }
                owners.dump = Some(data);
            }
            if let Some(shard) = args.shard {
                crates.retain(|c| shard.contains(&c.name));
            }
            if let Some(base) = &args.api {
                let net = api_net.as_ref().context("--api needs the network (not --offline)")?;
                let config = cargofox::owners::api::ApiConfig {
                    base: base.clone(),
                    contact: cli.contact.clone(),
                    min_interval: Some(std::time::Duration::from_millis(args.api_interval)),
                    cache_dir: Some(cli.data.join("cache").join("api")),
                };
                owners.api = Some(std::sync::Mutex::new(cargofox::owners::api::ApiSource::new(
                    net, config,
                )?));
            }
            let upstream = cargofox::upstream::Upstream::new(
                &store,
                cargofox::upstream::Options {
                    enabled: !args.no_upstream,
                    offline: cli.offline,
                    timeout: std::time::Duration::from_secs(args.upstream_timeout),
                    max_bytes: args.upstream_max_mib.saturating_mul(1024 * 1024),
                    depth: args.upstream_depth,
                },
            );
            let stage = commands::sync::ReportStage {
                upstream: &upstream,
                owners: &owners,
                code_cache: std::sync::Mutex::default(),
                audit: &audit,
                renderer: &renderer,
                limits: cargofox::compare::Limits::default(),
            };
            let opts = commands::sync::SyncOptions {
                crates,
                jobs: args.jobs,
                limits: Limits::default(),
                flush_bytes: args.flush_mib.saturating_mul(1024 * 1024),
                tombstone_days: args.tombstone_days,
                deadline: args
                    .max_duration
                    .map(|s| std::time::Instant::now() + std::time::Duration::from_secs(s)),
                clock,
            };
            let (outcome, _) = commands::sync::run(&opts, &registry, &store, &stage, &mut out)?;
            // Only a run that stored everything it was given moves the
            // record on; otherwise the same crates come back next time.
            if let Some(d) = &dump_digests
                && outcome == Outcome::Clean
            {
                cargofox::enumerate::write_digests(&digests_path, d)
                    .with_context(|| format!("writing {}", digests_path.display()))?;
            }
            let st = upstream.stats();
            tracing::info!(
                fetches = st.fetches,
                fetch_ms = st.fetch_time.as_millis() as u64,
                releases = st.releases,
                compare_ms = st.compare_time.as_millis() as u64,
                "upstream stage"
            );
            Ok(outcome)
        }
        Command::Verify(args) => {
            // Inside a clone of the audit repository, verify that one.
            let audit = audit_to_read(cli.audit.as_deref(), &audit_dir);
            let since = match &args.since {
                Some(d) => {
                    let full = if d.len() == 10 {
                        format!("{d}T00:00:00Z")
                    } else {
                        d.clone()
                    };
                    Some(parse_rfc3339_utc(&full).with_context(|| format!("--since {d:?} is not a date"))?)
                }
                None => None,
            };
            let crates = args
                .crates
                .iter()
                .map(|c| CrateName::new(c))
                .collect::<Result<Vec<_>, _>>()?;
            let opts = commands::verify::VerifyOptions {
                audit,
                crates,
                since,
                sample: args.sample,
                seed: args.seed.unwrap_or_else(|| clock.now() as u64),
            };
            if cli.offline {
                let store = Store::open(&cli.data.join("store.git"))?;
                commands::verify::run(&opts, &commands::verify::Source::Store(&store), &mut out)
            } else {
                let mut cfg = NetConfig::new(cli.contact.as_deref().unwrap_or(DEFAULT_CONTACT));
                cfg.retries = args.retries;
                let net = Some(Arc::new(Network::new(cfg)?));
                let registry = Registry::open(&cli.registry, net, &cli.data.join("cache"))
                    .with_context(|| format!("opening the registry {}", cli.registry))?;
                commands::verify::run(&opts, &commands::verify::Source::Registry(&registry), &mut out)
            }
        }
        Command::Check(args) => {
            let read = |p: &std::path::Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
            let opts = commands::check::CheckOptions {
                lockfile: read(&args.lockfile)?,
                lockfile_name: args.lockfile.display().to_string(),
                since: args.since.as_deref().map(read).transpose()?,
                audit: audit_to_read(cli.audit.as_deref(), &audit_dir),
                deny: args.deny,
                json: args.format == cargofox::cli::Format::Json,
            };
            commands::check::run(&opts, &mut out)
        }
        Command::Diff(args) => {
            let store = Store::open(&cli.data.join("store.git"))?;
            let name = CrateName::new(&args.name)?;
            let a = VersionStr::new(&args.old)?;
            let b = VersionStr::new(&args.new)?;
            commands::diff::run(&store, &name, &a, &b, &mut out)
        }
        Command::Publish(args) => {
            let _lock = lock_data(&cli.data)?;
            let audit = Audit::open_or_init(&audit_dir)?;
            commands::publish::run(&audit, args.remote.as_deref(), &mut out)
        }
        Command::Merge(args) => {
            let _lock = lock_data(&cli.data)?;
            let audit = Audit::open_or_init(&audit_dir)?;
            let renderer = Renderer::new(cli.templates.as_deref())?;
            let opts = commands::merge::MergeOptions {
                shards: args.shards,
                clock,
            };
            commands::merge::run(&opts, &audit, &renderer, &mut out)
        }
        Command::Init => {
            let audit = Audit::open_or_init(&audit_dir)?;
            out.line(&format!("init: audit repository at {}", audit.dir().display()));
            Ok(Outcome::Clean)
        }
    }
}
