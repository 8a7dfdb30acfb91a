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
use crate::output::{Clock, format_utc, shell_quote};
use crate::owners::history::OwnersFile;
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
    /// Upstream repositories.
    pub upstream: &'a crate::upstream::Upstream<'a>,
}

/// Per-crate result.
#[derive(Debug, Default, Clone)]
pub struct Written {
    /// Reports (re)written.
    pub reports: usize,
    /// Events for the audit commit message (`Yanked: <name> <version>`,
    /// `Unyanked: ...`): crate names and index version strings only.
    pub events: Vec<String>,
}

use super::{StoreBlobs, file_entries as entries_of};

/// The crate-level summary kept in `crates.json` for the README.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CrateSummary {
    /// Releases with a report.
    pub versions: usize,
    /// The latest published version with a report.
    pub latest: String,
    /// Link to the crate page.
    pub link: String,
    /// The crate's index file is gone from the registry (its releases are
    /// kept). Absent from the JSON when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
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
    let fingerprint = fresh_fingerprint(ctx.renderer, entries, &stored, owners.is_some(), ctx.upstream.enabled());
    let marker = fresh_marker(ctx.audit, name);
    if !owners_changed
        && ctx.audit.dir().join(&dir).join("README.md").is_file()
        && marker
            .as_ref()
            .and_then(|m| std::fs::read(m).ok())
            .is_some_and(|b| b == fingerprint.as_bytes())
    {
        // The summary follows from the same inputs: every stored version
        // has its report; the latest is the newest by `pubtime`, ties going
        // to the later index line, as on the crate page.
        let reported: Vec<&IndexEntry> = entries
            .iter()
            .filter(|e| stored.contains_key(&e.vers.ref_component()))
            .collect();
        let latest = reported
            .iter()
            .enumerate()
            .max_by_key(|(i, e)| (e.pubtime, *i))
            .map(|(_, e)| *e);
        let summary = latest.map(|last| CrateSummary {
            versions: reported.len(),
            latest: last.vers.to_string(),
            link: format!("{dir}/README.md"),
            ..CrateSummary::default()
        });
        return Ok((Written::default(), summary));
    }
    let mut written = Written::default();
    let mut rows = Vec::new();
    // Which reports are missing or stale.
    let mut plan = Vec::new();
    let mut provisional_in_window = false;
    for e in entries {
        let Some(&commit) = stored.get(&e.vers.ref_component()) else {
            plan.push(None);
            continue;
        };
        let stem = version_stem(&e.vers);
        let json_path = format!("{dir}/{stem}.json");
        let existing: Option<ReportSummary> = ctx.audit.read(&json_path).and_then(|b| serde_json::from_slice(&b).ok());
        let fresh = !owners_changed
            && existing.as_ref().is_some_and(|s| {
                s.schema_version == model::SCHEMA_VERSION
                    && s.yanked == e.yanked
                    && commit.to_hex() == s.facts.commit
                    && s.provenance.is_some() == ctx.upstream.enabled()
            });
        // A provisional provenance section (upstream unreachable, the claimed
        // commit missing or unknown) of a recent release is checked again
        // on every run that fetches, within the window; rewritten only when
        // something other than its date changed.
        let recheck = fresh && existing.as_ref().is_some_and(|s| provisional_now(ctx, e, s));
        let fresh = fresh && !recheck;
        // A yank or an unyank since the report was written: an event.
        if existing.as_ref().is_some_and(|s| s.yanked != e.yanked) {
            let what = if e.yanked { "Yanked" } else { "Unyanked" };
            written.events.push(format!("{what}: {name} {}", e.vers));
        }
        plan.push(Some((commit, stem, json_path, existing, fresh)));
    }
    // Fetch the upstream repositories of the releases about to be reported,
    // once, before any of them is compared.
    if ctx.upstream.enabled() {
        let wants: Vec<(String, Option<String>)> = plan
            .iter()
            .flatten()
            .filter(|p| !p.4)
            .filter_map(|(commit, ..)| upstream_want(ctx.store, *commit))
            .collect();
        ctx.upstream.prepare(&wants);
    }
    for (i, (e, planned)) in entries.iter().zip(plan).enumerate() {
        let Some((commit, stem, json_path, existing, fresh)) = planned else {
            continue;
        };
        let summary = if fresh {
            existing
        } else {
            // The previous release is the stored commit's parent: the store
            // is the record, and an index rewritten in another line order
            // must not change what a report compares with.
            let parent = match ctx.store.commit_info(commit)?.parents.first() {
                Some(p) => entries
                    .iter()
                    .find(|x| stored.get(&x.vers.ref_component()) == Some(p))
                    .map(|x| (x, *p)),
                None => None,
            };
            let prev_published = i
                .checked_sub(1)
                .and_then(|j| entries[j].pubtime.map(|t| (entries[j].vers.as_str(), t)));
            let report = build_release(ctx, name, e, commit, parent, owners, prev_published)?;
            let json = serde_json::to_vec_pretty(&report)?;
            let mut json = json;
            json.push(b'\n');
            if same_but_date(ctx.audit.read(&json_path).as_deref(), &json) {
                // A recheck that found nothing new: the report stays as it
                // was, byte for byte.
                if let Some(s) = existing {
                    provisional_in_window |= provisional_now(ctx, e, &s);
                    rows.push((e.pubtime, stem, s));
                }
                continue;
            }
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
            provisional_in_window |= provisional_now(ctx, e, &s);
            rows.push((e.pubtime, stem, s));
        }
    }
    if rows.is_empty() {
        return Ok((written, None));
    }
    // Newest first: index order is publication order, and `pubtime` (where
    // the index has it) decides, so that an index rewritten with its lines
    // in another order gives the same page.
    rows.sort_by_key(|(t, _, _)| *t);
    rows.reverse();
    let rows: Vec<(String, ReportSummary)> = rows.into_iter().map(|(_, stem, s)| (stem, s)).collect();
    let summary = crate_page(ctx, name, &rows, owners, false)?;
    // Last: the marker says every file above is written. A crate with a
    // provisional report in its window gets none: it is looked at again.
    if provisional_in_window && let Some(m) = &marker {
        match std::fs::remove_file(m) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(anyhow::Error::new(e).context(format!("removing {}", m.display()))),
        }
    } else if let Some(m) = &marker {
        if let Some(parent) = m.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(m, fingerprint.as_bytes()).with_context(|| format!("writing {}", m.display()))?;
    }
    Ok((written, Some(summary)))
}

/// A crate whose index file the registry no longer has (deleted): nothing
/// is removed; its page is rendered again from the reports already written
/// (newest first by publication time, then version), with a label saying it
/// is no longer in the index. Returns its summary, and whether the page
/// changed (the label is new).
pub fn mark_removed(ctx: &Context<'_>, name: &CrateName) -> anyhow::Result<(bool, Option<CrateSummary>)> {
    let dir = crate_dir(name);
    // The page changes without its inputs changing: forget that it was
    // fresh, so that it is rendered again (without the label) if the crate
    // comes back to the index.
    if let Some(m) = fresh_marker(ctx.audit, name) {
        match std::fs::remove_file(&m) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(anyhow::Error::new(e).context(format!("removing {}", m.display()))),
        }
    }
    let mut rows: Vec<(String, ReportSummary)> = Vec::new();
    for commit in ctx.store.stored_versions(name)?.into_values() {
        let message = ctx.store.commit_message(commit)?;
        let Some(vers) = message
            .lines()
            .find_map(|l| l.strip_prefix("Crate-Version: "))
            .and_then(|v| VersionStr::new(v.trim()).ok())
        else {
            continue;
        };
        let stem = version_stem(&vers);
        if let Some(s) = ctx
            .audit
            .read(&format!("{dir}/{stem}.json"))
            .and_then(|b| serde_json::from_slice::<ReportSummary>(&b).ok())
        {
            rows.push((stem, s));
        }
    }
    if rows.is_empty() {
        return Ok((false, None));
    }
    let key = |s: &ReportSummary| {
        let published = s
            .published
            .as_deref()
            .and_then(crate::registry::index::parse_rfc3339_utc);
        let v = VersionStr::new(&s.version).ok().and_then(|v| v.semver());
        (published, v, s.version.clone())
    };
    rows.sort_by_cached_key(|(_, s)| std::cmp::Reverse(key(s)));
    let owners = ctx
        .audit
        .read(&format!("{dir}/owners.json"))
        .and_then(|b| OwnersFile::from_json(&b).ok());
    let page = format!("{dir}/README.md");
    let before = ctx.audit.read(&page);
    let summary = crate_page(ctx, name, &rows, owners.as_ref(), true)?;
    Ok((ctx.audit.read(&page) != before, Some(summary)))
}

/// Render and write a crate's page from its report summaries (newest
/// first).
fn crate_page(
    ctx: &Context<'_>,
    name: &CrateName,
    rows: &[(String, ReportSummary)],
    owners: Option<&OwnersFile>,
    removed: bool,
) -> anyhow::Result<CrateSummary> {
    let dir = crate_dir(name);
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
            removed => removed,
        },
    )?;
    ctx.audit.write(&format!("{dir}/README.md"), page.as_bytes())?;
    let latest = rows.first().map(|(_, s)| s.version.clone()).unwrap_or_default();
    Ok(CrateSummary {
        versions: rows.len(),
        latest,
        link: format!("{dir}/README.md"),
        removed,
    })
}

/// The repository a stored release declares and the commit it claims.
fn upstream_want(store: &Store, commit: ObjectId) -> Option<(String, Option<String>)> {
    let info = store.commit_info(commit).ok()?;
    let files = store.tree_files(info.tree).ok()?;
    let blob = |path: &str| {
        files
            .iter()
            .find(|f| f.path == path.as_bytes())
            .and_then(|f| store.blob(f.id).ok())
    };
    let normalised = blob("Cargo.toml")
        .and_then(|b| manifest::parse(&b).ok())
        .and_then(|m| m.repository);
    let orig = blob("Cargo.toml.orig");
    let repo = crate::upstream::declared_repository(normalised.as_deref(), orig.as_deref())?;
    let sha = blob(".cargo_vcs_info.json").and_then(|b| crate::upstream::claim::parse_vcs_info(&b).sha1);
    Some((repo, sha))
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
/// How long after publication a provisional provenance section is checked
/// again (30 days).
const RECHECK_WINDOW: i64 = 30 * 86_400;

/// Whether this run should look at a report's provenance again: it is
/// provisional, the release is within the window, and the run fetches.
fn provisional_now(ctx: &Context<'_>, e: &IndexEntry, s: &ReportSummary) -> bool {
    ctx.upstream.fetches()
        && e.pubtime.is_some_and(|t| ctx.clock.now() - t < RECHECK_WINDOW)
        && s.provenance.as_ref().is_some_and(model::ProvenanceSummary::provisional)
}

/// Whether two report JSONs differ only in `analysed_at` and in the words
/// of an upstream error (the same failure can be worded differently from
/// one attempt to the next; the status beside it is what is compared).
fn same_but_date(old: Option<&[u8]>, new: &[u8]) -> bool {
    let parse = |b: &[u8]| {
        serde_json::from_slice::<serde_json::Value>(b).ok().map(|mut v| {
            if let Some(o) = v.as_object_mut() {
                o.remove("analysed_at");
            }
            if let Some(r) = v.pointer_mut("/provenance/repository").and_then(|r| r.as_object_mut()) {
                r.remove("error");
            }
            v
        })
    };
    match (old.and_then(parse), parse(new)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn fresh_fingerprint(
    renderer: &Renderer,
    entries: &[IndexEntry],
    stored: &BTreeMap<String, ObjectId>,
    owners: bool,
    upstream: bool,
) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(format!(
        "cargofox {} schema {} templates {} owners {owners} upstream {upstream}\n",
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
    let orig_for_consistency = orig_new.clone();
    let store_ref = refs::version(name, &e.vers);
    let mut provenance_signals = Vec::new();
    let provenance = ctx.upstream.enabled().then(|| {
        let previous_repository = parent.map(|_| {
            let old_orig = find(&old_files, "Cargo.toml.orig").and_then(|id| ctx.store.blob(id).ok());
            crate::upstream::declared_repository(
                old_manifest.as_ref().and_then(|m| m.repository.as_deref()),
                old_orig.as_deref(),
            )
        });
        let file_list = entries_of(&files);
        let release = crate::upstream::Release {
            name: name.as_str(),
            version: e.vers.as_str(),
            pubtime: e.pubtime,
            files: &file_list,
            repository: crate::upstream::declared_repository(
                new_manifest.as_ref().ok().and_then(|m| m.repository.as_deref()),
                orig_new.as_deref(),
            ),
            previous_repository,
            vcs_info: find(&files, ".cargo_vcs_info.json").and_then(|id| ctx.store.blob(id).ok()),
            orig_manifest: orig_new.clone(),
            store_ref: store_ref.clone(),
        };
        let (section, sigs) = ctx.upstream.provenance(&release, &blobs, &ctx.limits);
        provenance_signals = sigs;
        section
    });
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
    sigs.append(&mut provenance_signals);
    let consistency = new_m.map(|m| crate::analyse::consistency::check(orig_for_consistency.as_deref(), m, e));
    if let Some(c) = &consistency {
        sigs.extend(crate::analyse::consistency::signals(c));
    }
    let owners_section = owners.map(|file| {
        let release = crate::owners::Release {
            version: e.vers.as_str(),
            published_at: e.pubtime.unwrap_or(0),
            previous: prev_published,
        };
        sigs.extend(crate::owners::signals(file, &release, &Default::default()));
        owners_section(file, e, prev_published)
    });
    let mut provenance = provenance;
    if let (Some(p), Some(o)) = (provenance.as_mut(), owners_section.as_ref()) {
        let sha = o.trusted_publishing.as_ref().and_then(|t| t.sha.as_deref());
        sigs.extend(crate::upstream::check_trusted_commit(p, sha));
    }

    let dl = ctx.registry.download_url(name, &e.vers, &e.cksum);
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
            consistency_rows: consistency
                .as_ref()
                .map(|c| {
                    c.findings
                        .iter()
                        .map(|f| {
                            let (expected_side, found_side) = f.check.sides();
                            model::ConsistencyRow {
                                check: f.check.code(),
                                subject: f.subject.to_string(),
                                aspect: f.aspect.to_string(),
                                expected_side,
                                expected: f.expected.clone(),
                                found_side,
                                found: f.found.clone(),
                            }
                        })
                        .collect()
                })
                .unwrap_or_default(),
            consistency,
        },
        owners: owners_section,
        code,
        provenance,
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
        .map(|(name, s)| minijinja::context! { name => name, versions => s.versions, latest => s.latest.clone(), link => s.link.clone(), removed => s.removed })
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

#[cfg(test)]
mod tests {
    use super::same_but_date;

    #[test]
    fn a_recheck_ignores_only_the_date_and_the_wording_of_an_upstream_error() {
        let old =
            br#"{"analysed_at":"a","yanked":false,"provenance":{"repository":{"status":"unreachable","error":"dns"}}}"#;
        let reworded = br#"{"analysed_at":"b","yanked":false,"provenance":{"repository":{"status":"unreachable","error":"reset"}}}"#;
        assert!(same_but_date(Some(old), reworded));
        let settled =
            br#"{"analysed_at":"b","yanked":false,"provenance":{"repository":{"status":"fetched","error":null}}}"#;
        assert!(!same_but_date(Some(old), settled));
        let yanked =
            br#"{"analysed_at":"a","yanked":true,"provenance":{"repository":{"status":"unreachable","error":"dns"}}}"#;
        assert!(!same_but_date(Some(old), yanked));
        assert!(!same_but_date(None, old));
    }
}
