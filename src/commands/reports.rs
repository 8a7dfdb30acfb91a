//! The report stage of `sync`: for each crate, find the stored versions whose
//! report is missing or stale (new, yank changed, older schema), gather their
//! facts from the store, compare them with their previous release, draw the
//! signals, render Markdown and JSON into the audit repository, and refresh
//! the crate page and the repository's README. Files are only rewritten when
//! their bytes change, so a run with nothing new leaves everything identical.

use std::collections::BTreeMap;

use anyhow::Context as _;
use gix::ObjectId;
use serde::{Deserialize, Serialize};

use crate::analyse::manifest::{self, Manifest};
use crate::audit::Audit;
use crate::compare;
use crate::message::parse_commit_message;
use crate::output::{Clock, format_utc};
use crate::owners::history::OwnersFile;
use crate::plan;
use crate::registry::index::{IndexEntry, RegistryConfig};
use crate::report::model::{self, Check, Facts, ManifestSection, Previous, ReleaseReport, ReportSummary};
use crate::report::paths::{crate_dir, version_stem};
use crate::report::render::Renderer;
use crate::signals;
use crate::store::{Store, TreeFile, refs};
use crate::types::{CrateName, VersionStr};

/// What the report stage needs.
pub struct Context<'a> {
    /// The store.
    pub store: &'a Store,
    /// The audit repository.
    pub audit: &'a Audit,
    /// Templates.
    pub renderer: &'a Renderer,
    /// The clock (report datestamps).
    pub clock: Clock,
    /// The registry configuration (download URLs in check commands).
    pub registry: &'a RegistryConfig,
    /// Diff limits.
    pub limits: compare::Limits,
    /// Code facts by blob id.
    pub code_cache: &'a std::sync::Mutex<crate::analyse::code::Cache>,
}

/// Per-crate result.
#[derive(Debug, Default, Clone, Copy)]
pub struct Written {
    /// Reports (re)written.
    pub reports: usize,
}

use super::{StoreBlobs, file_entries as entries_of};

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-/:^{}@".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The crate-level summary kept in `crates.json` for the README.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CrateSummary {
    /// Releases with a report.
    pub versions: usize,
    /// The latest published version with a report.
    pub latest: String,
    /// Link to the crate page.
    pub link: String,
}

/// Update the reports of one crate. `entries` are its usable index lines in
/// index order.
pub fn update_crate(
    ctx: &Context<'_>,
    name: &CrateName,
    entries: &[IndexEntry],
    owners: Option<&OwnersFile>,
    owners_changed: bool,
) -> anyhow::Result<(Written, Option<CrateSummary>)> {
    let stored = ctx.store.stored_versions(name)?;
    let dir = crate_dir(name);
    // A crate whose reports and page were written from exactly these inputs
    // is skipped without reading a report: a daily run over the whole
    // registry then costs a fingerprint per unchanged crate.
    let fingerprint = fresh_fingerprint(ctx.renderer, entries, &stored, owners.is_some());
    let marker = fresh_marker(ctx.audit, name);
    if !owners_changed
        && ctx.audit.dir().join(&dir).join("README.md").is_file()
        && marker
            .as_ref()
            .and_then(|m| std::fs::read(m).ok())
            .is_some_and(|b| b == fingerprint.as_bytes())
    {
        // The summary follows from the same inputs: every stored version
        // has its report, the latest is the last stored in index order.
        let reported: Vec<&IndexEntry> = entries
            .iter()
            .filter(|e| stored.contains_key(&e.vers.ref_component()))
            .collect();
        let summary = reported.last().map(|last| CrateSummary {
            versions: reported.len(),
            latest: last.vers.to_string(),
            link: format!("{dir}/README.md"),
        });
        return Ok((Written::default(), summary));
    }
    let versions: Vec<&VersionStr> = entries.iter().map(|e| &e.vers).collect();
    let parents = plan::parents(&versions);
    let mut written = Written::default();
    let mut rows = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(&commit) = stored.get(&e.vers.ref_component()) else {
            continue;
        };
        let stem = version_stem(&e.vers);
        let json_path = format!("{dir}/{stem}.json");
        let existing: Option<ReportSummary> = ctx.audit.read(&json_path).and_then(|b| serde_json::from_slice(&b).ok());
        let fresh = !owners_changed
            && existing.as_ref().is_some_and(|s| {
                s.schema_version == model::SCHEMA_VERSION && s.yanked == e.yanked && commit.to_hex() == s.facts.commit
            });
        let summary = if fresh {
            existing
        } else {
            let parent =
                parents[i].and_then(|j| stored.get(&entries[j].vers.ref_component()).map(|&c| (&entries[j], c)));
            let prev_published = i
                .checked_sub(1)
                .and_then(|j| entries[j].pubtime.map(|t| (entries[j].vers.as_str(), t)));
            let report = build_release(ctx, name, e, commit, parent, owners, prev_published)?;
            let json = serde_json::to_vec_pretty(&report)?;
            let mut json = json;
            json.push(b'\n');
            let pages = ctx.renderer.render_release(&report, &stem)?;
            // The JSON is what says a report is fresh: write it last, so a
            // killed run leaves the report stale (rewritten next run), never
            // half written.
            for (suffix, content) in pages {
                ctx.audit.write(&format!("{dir}/{stem}{suffix}"), content.as_bytes())?;
            }
            ctx.audit.write(&json_path, &json)?;
            written.reports += 1;
            serde_json::from_slice(&json).ok()
        };
        if let Some(s) = summary {
            rows.push((stem, s));
        }
    }
    if rows.is_empty() {
        return Ok((written, None));
    }
    // Newest first (index order is publication order).
    rows.reverse();
    let table: Vec<minijinja::Value> = rows
        .iter()
        .map(|(stem, s)| {
            let totals = s.changes.as_ref().and_then(|c| c.get("totals"));
            let n = |k: &str| totals.and_then(|t| t.get(k)).and_then(|v| v.as_u64()).unwrap_or(0);
            minijinja::context! {
                version => s.version.clone(),
                link => format!("{stem}.md"),
                published => s.published.clone(),
                yanked => s.yanked,
                files_changed => n("files_added") + n("files_removed") + n("files_modified") + n("files_renamed"),
                lines_added => n("lines_added"),
                lines_removed => n("lines_removed"),
                signals => s.signals.iter().map(|x| x.code.clone()).collect::<Vec<_>>(),
            }
        })
        .collect();
    let timeline: Vec<minijinja::Value> = owners
        .map(|f| {
            f.events()
                .iter()
                .map(|ev| {
                    minijinja::context! {
                        change => ev.change.as_str(),
                        kind => ev.owner.kind.as_str(),
                        login => ev.owner.login.clone(),
                        when => ev.describe_time(),
                        source => ev.source.as_str(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let page = ctx.renderer.render(
        "crate.md.j2",
        minijinja::context! {
            krate => name.as_str(), versions => table, owners_recorded => owners.is_some(), timeline => timeline,
        },
    )?;
    ctx.audit.write(&format!("{dir}/README.md"), page.as_bytes())?;
    // Last: the marker says every file above is written.
    if let Some(m) = &marker {
        if let Some(parent) = m.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(m, fingerprint.as_bytes()).with_context(|| format!("writing {}", m.display()))?;
    }
    let latest = rows.first().map(|(_, s)| s.version.clone()).unwrap_or_default();
    Ok((
        written,
        Some(CrateSummary {
            versions: rows.len(),
            latest,
            link: format!("{dir}/README.md"),
        }),
    ))
}

/// Where the freshness marker of a crate is kept: inside the audit
/// repository's `.git` (never committed; gone with the working copy), `None`
/// when `.git` is not a directory (then nothing is skipped).
fn fresh_marker(audit: &Audit, name: &CrateName) -> Option<std::path::PathBuf> {
    let git = audit.dir().join(".git");
    git.is_dir()
        .then(|| git.join(FRESH_DIR).join(crate::registry::index::index_path(name)))
}

/// `.git/<FRESH_DIR>/<index path>` holds each crate's fingerprint.
const FRESH_DIR: &str = "cargofox-fresh";

/// Forget that a crate's pages are fresh (their files were replaced by
/// someone else, e.g. `merge`): the next sync checks every report.
pub fn forget_fresh(audit: &Audit, name: &CrateName) -> anyhow::Result<()> {
    if let Some(m) = fresh_marker(audit, name) {
        match std::fs::remove_file(&m) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", m.display()));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Everything a crate's reports and page are written from, as far as the
/// per-report freshness rule looks (schema version, yank status, commit) plus
/// the page's own inputs (templates, whether owners are recorded), hashed.
fn fresh_fingerprint(
    renderer: &Renderer,
    entries: &[IndexEntry],
    stored: &BTreeMap<String, ObjectId>,
    owners: bool,
) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(format!(
        "cargofox {} schema {} templates {} owners {owners}\n",
        env!("CARGO_PKG_VERSION"),
        model::SCHEMA_VERSION,
        renderer.digest()
    ));
    for e in entries {
        if let Some(c) = stored.get(&e.vers.ref_component()) {
            h.update(format!("{} {} {}\n", e.vers.as_str(), e.yanked, c.to_hex()));
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn build_release(
    ctx: &Context<'_>,
    name: &CrateName,
    e: &IndexEntry,
    commit: ObjectId,
    parent: Option<(&IndexEntry, ObjectId)>,
    owners: Option<&OwnersFile>,
    prev_published: Option<(&str, i64)>,
) -> anyhow::Result<ReleaseReport> {
    let info = ctx.store.commit_info(commit)?;
    let stored = parse_commit_message(&info.message);
    let files = ctx.store.tree_files(info.tree)?;
    let blobs = StoreBlobs(ctx.store);
    let find = |fs: &[TreeFile], path: &str| fs.iter().find(|f| f.path == path.as_bytes()).map(|f| f.id);

    let new_manifest: Result<Manifest, String> = match find(&files, "Cargo.toml") {
        Some(id) => manifest::parse(&ctx.store.blob(id)?).map_err(|err| err.to_string()),
        None => Err("the archive has no Cargo.toml".to_owned()),
    };

    let mut previous = None;
    let mut changes = None;
    let mut old_manifest: Option<Manifest> = None;
    let mut old_files: Vec<TreeFile> = Vec::new();
    let mut orig_diff = None;
    if let Some((pe, pc)) = parent {
        let pinfo = ctx.store.commit_info(pc)?;
        old_files = ctx.store.tree_files(pinfo.tree)?;
        let reason = match (e.vers.semver(), pe.vers.semver()) {
            (Some(a), Some(b)) if b < a => "the highest lower version published before it",
            _ => "the version published just before it (no lower version had been published)",
        };
        previous = Some(Previous {
            version: pe.vers.to_string(),
            commit: pc.to_hex().to_string(),
            reason: reason.to_owned(),
        });
        changes = Some(compare::compare(
            &entries_of(&old_files),
            &entries_of(&files),
            &blobs,
            &ctx.limits,
        ));
        old_manifest = find(&old_files, "Cargo.toml")
            .and_then(|id| ctx.store.blob(id).ok())
            .and_then(|b| manifest::parse(&b).ok());
    }
    let orig_new = find(&files, "Cargo.toml.orig").and_then(|id| ctx.store.blob(id).ok());
    let orig_old = find(&old_files, "Cargo.toml.orig").and_then(|id| ctx.store.blob(id).ok());
    if orig_new.is_some() || orig_old.is_some() {
        let a = orig_old.unwrap_or_default();
        let b = orig_new.unwrap_or_default();
        if a != b {
            orig_diff = Some(compare::unified_diff(
                &a,
                &b,
                "Cargo.toml.orig",
                "Cargo.toml.orig",
                &ctx.limits,
            ));
        }
    }

    // Signals.
    let build_script = |m: Option<&Manifest>, fs: &[TreeFile]| -> Option<String> {
        let has_build_rs = || fs.iter().any(|f| f.path == b"build.rs");
        match m.map(|m| m.build.clone()) {
            Some(manifest::Build::Script(p)) => Some(p),
            Some(manifest::Build::Disabled) => None,
            Some(manifest::Build::Default) => Some("build.rs".to_owned()),
            Some(manifest::Build::NotSet) | None => has_build_rs().then(|| "build.rs".to_owned()),
        }
    };
    let new_m = new_manifest.as_ref().ok();
    let bs_new = build_script(new_m, &files);
    let bs_old = parent.and(build_script(old_manifest.as_ref(), &old_files));
    let bs_changed = match (&bs_old, &bs_new) {
        (Some(o), Some(n)) => find(&old_files, o) != find(&files, n),
        _ => false,
    };
    let mut facts_for_signals = signals::Facts {
        has_previous: parent.is_some(),
        build_script_old: bs_old,
        build_script_new: bs_new,
        build_script_content_changed: bs_changed,
        proc_macro_old: old_manifest.as_ref().is_some_and(|m| m.proc_macro),
        proc_macro_new: new_m.is_some_and(|m| m.proc_macro),
        anomalies: stored
            .anomalies
            .iter()
            .map(|a| (a.code.clone(), a.detail.clone()))
            .chain(stored.escaped.iter().map(|p| ("escaped-path".to_owned(), p.clone())))
            .collect(),
        ..signals::Facts::default()
    };
    let delta = new_m.map(|m| manifest::diff(old_manifest.as_ref(), m));
    if let Some(d) = &delta {
        facts_for_signals.build_deps_added = d
            .dependencies_added
            .iter()
            .filter(|e| e.key.kind == manifest::DepKind::Build)
            .map(|e| e.key.name.clone())
            .collect();
    }
    if let Some(c) = &changes {
        for f in c.files.iter().filter(|f| f.status == compare::Status::Added) {
            let path = f.new_path.clone().unwrap_or_default();
            let size = f.new_size.unwrap_or(0);
            if f.binary {
                facts_for_signals.binary_files_added.push((path.clone(), size));
            }
            facts_for_signals.files_added.push((path, size));
        }
    } else {
        facts_for_signals.files_added = files
            .iter()
            .map(|f| (String::from_utf8_lossy(&f.path).into_owned(), f.size))
            .collect();
    }
    let mut sigs = signals::signals(&facts_for_signals);
    let code = {
        use crate::analyse::code;
        let mut cache = ctx
            .code_cache
            .lock()
            .map_err(|_| anyhow::anyhow!("code cache poisoned"))?;
        let bs_new_path = facts_for_signals.build_script_new.clone();
        let new_facts = code::analyse_release(
            &entries_of(&files),
            &blobs,
            bs_new_path.as_deref(),
            facts_for_signals.proc_macro_new,
            &mut cache,
        );
        let old_facts = parent.map(|_| {
            code::analyse_release(
                &entries_of(&old_files),
                &blobs,
                facts_for_signals.build_script_old.as_deref(),
                facts_for_signals.proc_macro_old,
                &mut cache,
            )
        });
        let delta = code::delta(old_facts.as_ref(), &new_facts);
        sigs.extend(code::signals(&new_facts, &delta));
        model::CodeSection {
            facts: new_facts,
            delta,
        }
    };
    let owners_section = owners.map(|file| {
        let release = crate::owners::Release {
            version: e.vers.as_str(),
            published_at: e.pubtime.unwrap_or(0),
            previous: prev_published,
        };
        sigs.extend(crate::owners::signals(file, &release, &Default::default()));
        owners_section(file, e, prev_published)
    });

    let dl = ctx.registry.download_url(name, &e.vers, &e.cksum);
    let store_ref = refs::version(name, &e.vers);
    let mut checks = vec![
        Check {
            what: "the .crate's sha256 (download it again and hash it)".to_owned(),
            command: format!("curl -sSfL {} | sha256sum", shell_quote(&dl)),
        },
        Check {
            what: "the tree id, from the store".to_owned(),
            command: format!(
                "git --git-dir cargofox-data/store.git rev-parse {}",
                shell_quote(&format!("{store_ref}^{{tree}}"))
            ),
        },
    ];
    if let Some(p) = &previous {
        let pv = VersionStr::new(&p.version)?;
        checks.push(Check {
            what: "the changes, from the store".to_owned(),
            command: format!(
                "cargofox diff {} {} {}\ngit --git-dir cargofox-data/store.git diff {} {}",
                name,
                shell_quote(&p.version),
                shell_quote(e.vers.as_str()),
                shell_quote(&refs::version(name, &pv)),
                shell_quote(&store_ref)
            ),
        });
    }

    Ok(ReleaseReport {
        schema_version: model::SCHEMA_VERSION,
        krate: name.to_string(),
        version: e.vers.to_string(),
        published: e.pubtime_text.clone(),
        yanked: e.yanked,
        analysed_at: format_utc(ctx.clock.now()),
        cargofox_version: env!("CARGO_PKG_VERSION").to_owned(),
        facts: Facts {
            sha256: stored.sha256.clone(),
            index_checksum_matched: stored.status != "unavailable" && stored.sha256 == e.cksum.to_hex(),
            crate_size: stored.crate_size,
            tree: info.tree.to_hex().to_string(),
            commit: commit.to_hex().to_string(),
            file_count: stored.file_count,
            unpacked_size: stored.unpacked_size,
            status: stored.status.clone(),
            status_reason: stored.error.clone(),
            anomalies: stored.anomalies.clone(),
            escaped_paths: stored.escaped.clone(),
            extras_tree: stored.extras.clone(),
            previous,
            checks,
        },
        signals: sigs,
        changes,
        manifest: ManifestSection {
            error: new_manifest.as_ref().err().cloned(),
            delta,
            orig_diff,
        },
        owners: owners_section,
        code,
    })
}

fn owners_section(file: &OwnersFile, e: &IndexEntry, prev: Option<(&str, i64)>) -> model::OwnersSection {
    use crate::owners::OwnerKind;
    let record = file.versions.get(e.vers.as_str());
    let mut owners = Vec::new();
    let mut observed = None;
    for kind in [OwnerKind::User, OwnerKind::Team] {
        if let Some((list, at)) = file.latest(kind) {
            owners.extend(list.iter().map(|o| o.login.clone()));
            observed = observed.max(Some(at));
        }
    }
    let published_at = e.pubtime.unwrap_or(0);
    model::OwnersSection {
        published_by: record.and_then(|r| r.publisher()).map(|p| p.describe()),
        publish_method: record
            .and_then(|r| {
                serde_json::to_value(r.publish_method)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
            })
            .unwrap_or_else(|| "unknown".to_owned()),
        trusted_publishing: record.and_then(|r| r.trusted_publishing.clone()),
        owners,
        owners_observed_at: observed.map(format_utc),
        changes_since_previous: file
            .events()
            .into_iter()
            .filter(|ev| ev.may_lie_in(prev.map(|p| p.1), published_at))
            .collect(),
    }
}

/// Rewrite `crates.json`, the README and the statistics (`STATS.md`,
/// `stats.json`, recounted from every report) when a report changed, a
/// crate's summary changed, or one of them is missing. `touched` holds the
/// summaries of the crates of this run (or of the merged shards); the other
/// crates keep their entries in `crates.json`. Only the audit repository,
/// the templates and the clock are needed, so `sync` and `merge` share it.
pub fn update_index(
    audit: &Audit,
    renderer: &Renderer,
    clock: Clock,
    touched: &BTreeMap<String, CrateSummary>,
    changed: bool,
) -> anyhow::Result<()> {
    let mut all: BTreeMap<String, CrateSummary> = audit
        .read("crates.json")
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let before = all.clone();
    all.extend(touched.iter().map(|(k, v)| (k.clone(), v.clone())));
    let present = |f: &str| audit.dir().join(f).is_file();
    if !changed && all == before && present("crates.json") && present("stats.json") {
        return Ok(());
    }
    let mut json = serde_json::to_vec_pretty(&all)?;
    json.push(b'\n');
    let crates: Vec<minijinja::Value> = all
        .iter()
        .map(|(name, s)| minijinja::context! { name => name, versions => s.versions, latest => s.latest.clone(), link => s.link.clone() })
        .collect();
    let total: usize = all.values().map(|s| s.versions).sum();
    let readme = renderer.render(
        "index.md.j2",
        minijinja::context! { crates => crates, total_versions => total, updated => format_utc(clock.now()) },
    )?;
    // README and statistics first: `crates.json` decides whether they are current.
    audit.write("README.md", readme.as_bytes())?;
    super::stats::regenerate(audit, renderer)?;
    audit.write("crates.json", &json)?;
    Ok(())
}
