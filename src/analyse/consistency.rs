//! Manifest consistency: do the three descriptions of a release's
//! dependencies agree?
//!
//! A release is described three times: `Cargo.toml.orig` (what its author
//! wrote, and what reviewers read upstream), the normalised `Cargo.toml` that
//! `cargo package` derives from it (what the compiler builds from), and the
//! registry index entry (what the resolver reads). Two checks:
//!
//! - [`Check::Normalisation`]: the normalised `Cargo.toml` is what cargo would
//!   derive from `Cargo.toml.orig`, for the parts cargo copies or rewrites in
//!   a known way: dependency names, kinds and targets, version requirements,
//!   `package` renames, `features`, `optional`, `default-features`,
//!   `registry`, the `[features]` table, `build` and `links`.
//! - [`Check::Index`]: the index entry's dependencies, features and `links`
//!   agree with the normalised `Cargo.toml`.
//!
//! Conservative by design: a false alarm is worse than a missed check. What
//! cargo legitimately changes is not flagged (path and git keys removed,
//! dev-dependencies without a version dropped, `[features]` entries naming a
//! dropped dependency stripped, `build` auto-detected or dropped when the
//! script is not packaged, requirements re-spelled by the registry, `cfg()`
//! spacing). What cannot be checked from the `.crate` and the index alone
//! (values inherited from the workspace, a path dependency's version, a
//! registry name turned into its index URL) is listed in
//! [`Consistency::skipped`] with the reason, never dropped silently.
//!
//! Cargo's rules are those of `prepare_for_publish` and `prepare_transmit` in
//! cargo (`src/cargo/util/toml/mod.rs`, `src/cargo/ops/registry/publish.rs`).
//!
//! Must not: do I/O, or panic on any input. Uses the pure index types of
//! `registry::index`, not the registry client.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use toml::{Table, Value};

use crate::analyse::manifest::{self, Build, Dep, DepKey, DepKind, Manifest};
use crate::registry::index::{IndexDep, IndexEntry};
use crate::signals::{Evidence, Signal, signal};

/// Which pair of descriptions a finding compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// `Cargo.toml.orig` (expected, after cargo's rules) against the
    /// normalised `Cargo.toml` (found).
    Normalisation,
    /// The normalised `Cargo.toml` (expected) against the index entry (found).
    Index,
}

impl Check {
    /// The signal code raised by findings of this check.
    pub fn code(self) -> &'static str {
        match self {
            Check::Normalisation => "manifest-normalisation-mismatch",
            Check::Index => "index-manifest-mismatch",
        }
    }

    /// The names of the two sides compared: (expected, found).
    pub fn sides(self) -> (&'static str, &'static str) {
        match self {
            Check::Normalisation => ("Cargo.toml.orig", "Cargo.toml"),
            Check::Index => ("Cargo.toml", "index"),
        }
    }
}

/// What a finding or a skipped check is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "subject", rename_all = "kebab-case")]
pub enum Subject {
    /// The whole check (e.g. there is no `Cargo.toml.orig`).
    Manifest,
    /// A dependency, by where the reference side declares it.
    Dependency(DepKey),
    /// An entry of the `[features]` table.
    Feature { name: String },
    /// `package.build`.
    Build,
    /// `package.links`.
    Links,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Manifest => f.write_str("manifest"),
            Subject::Dependency(key) => {
                write!(f, "{} dependency {}", key.kind, key.name)?;
                match &key.target {
                    Some(t) => write!(f, " (target {t})"),
                    None => Ok(()),
                }
            }
            Subject::Feature { name } => write!(f, "feature {name}"),
            Subject::Build => f.write_str("build"),
            Subject::Links => f.write_str("links"),
        }
    }
}

/// The part of a subject that disagrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aspect {
    /// Declared on one side only.
    Presence,
    /// The version requirement.
    Req,
    /// The crate the dependency resolves to (`package`, else its key).
    Package,
    /// The features enabled on a dependency (compared as sets).
    Features,
    Optional,
    DefaultFeatures,
    /// Whether the dependency comes from another registry.
    Registry,
    /// A `path` or `git` key left in the normalised manifest (cargo removes
    /// them: a registry build must not depend on files outside the crate).
    Source,
    /// What a `[features]` entry enables (compared as sets).
    Enables,
    /// The value of `build` or `links`.
    Value,
}

impl fmt::Display for Aspect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Aspect::Presence => "presence",
            Aspect::Req => "version requirement",
            Aspect::Package => "package",
            Aspect::Features => "features",
            Aspect::Optional => "optional",
            Aspect::DefaultFeatures => "default-features",
            Aspect::Registry => "registry",
            Aspect::Source => "path/git",
            Aspect::Enables => "enables",
            Aspect::Value => "value",
        })
    }
}

/// One disagreement. Values are as the manifests or the index state them
/// (untrusted text); `None` means absent.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub check: Check,
    #[serde(flatten)]
    pub subject: Subject,
    pub aspect: Aspect,
    /// The reference side: for [`Check::Normalisation`] what cargo would
    /// write given `Cargo.toml.orig`, for [`Check::Index`] what the
    /// normalised `Cargo.toml` says.
    pub expected: Option<String>,
    /// What the other side says.
    pub found: Option<String>,
}

impl Finding {
    /// One line naming the subject and both values (untrusted text: escape
    /// when rendering).
    pub fn describe(&self) -> String {
        let (left, right) = self.check.sides();
        let show = |v: &Option<String>| match v {
            Some(v) => format!("`{v}`"),
            None => "absent".to_owned(),
        };
        format!(
            "{}: {}: {left} {}, {right} {}",
            self.subject,
            self.aspect,
            show(&self.expected),
            show(&self.found)
        )
    }
}

/// A check that was not made, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Skipped {
    pub check: Check,
    #[serde(flatten)]
    pub subject: Subject,
    /// The part not checked; `None` for the whole subject.
    pub aspect: Option<Aspect>,
    /// Why (may quote a parse error, so untrusted text).
    pub reason: String,
}

/// The result of the checks: findings and skipped checks, each sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Consistency {
    pub findings: Vec<Finding>,
    pub skipped: Vec<Skipped>,
}

impl Consistency {
    fn find(
        &mut self,
        check: Check,
        subject: Subject,
        aspect: Aspect,
        expected: Option<String>,
        found: Option<String>,
    ) {
        self.findings.push(Finding {
            check,
            subject,
            aspect,
            expected,
            found,
        });
    }

    fn skip(&mut self, check: Check, subject: Subject, aspect: Option<Aspect>, reason: &str) {
        self.skipped.push(Skipped {
            check,
            subject,
            aspect,
            reason: reason.to_owned(),
        });
    }

    fn sorted(mut self) -> Self {
        self.findings.sort();
        self.findings.dedup();
        self.skipped.sort();
        self.skipped.dedup();
        self
    }

    /// The findings of one check.
    pub fn of(&self, check: Check) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.check == check)
    }
}

const NO_ORIG: &str = "the .crate has no Cargo.toml.orig (older cargo did not keep one)";
const INHERITED: &str = "inherited from the workspace (`workspace = true`): the version, default-features, \
     package and registry come from the workspace Cargo.toml, which is not in the .crate";
const PATH_VERSION: &str = "path or git dependency without a version in Cargo.toml.orig: cargo takes the \
     version from the workspace or the path crate; only its presence is checked";
const REGISTRY_NAME: &str = "`registry = <name>` becomes `registry-index = <url>` through the publisher's cargo \
     configuration; only its presence is checked";
const NO_INDEX_LINKS: &str = "the index entry has no `links` field (older index entries omit it)";
const INDEX_REGISTRY: &str = "the manifest names a registry index; the index entry leaves `registry` out when it \
     is the entry's own registry, and spells URLs its own way";
const UNPARSED_REQ: &str = "a requirement that semver 1 cannot parse, spelled differently on the two sides";
const AMBIGUOUS: &str = "declared more than once under equivalent target spellings";
const UNKNOWN_KIND: &str = "the index entry gives an unknown dependency kind";

/// Both checks. `orig` is the bytes of `Cargo.toml.orig` (`None` when the
/// `.crate` has none: the normalisation check is then reported as skipped).
pub fn check(orig: Option<&[u8]>, normalised: &Manifest, entry: &IndexEntry) -> Consistency {
    let mut out = Consistency::default();
    match orig {
        Some(bytes) => normalisation_into(bytes, normalised, &mut out),
        None => out.skip(Check::Normalisation, Subject::Manifest, None, NO_ORIG),
    }
    index_into(normalised, entry, &mut out);
    out.sorted()
}

/// [`Check::Normalisation`] only: is `normalised` what cargo would derive
/// from the bytes of `Cargo.toml.orig`?
pub fn check_normalisation(orig: &[u8], normalised: &Manifest) -> Consistency {
    let mut out = Consistency::default();
    normalisation_into(orig, normalised, &mut out);
    out.sorted()
}

/// [`Check::Index`] only: does the index entry agree with `normalised`?
pub fn check_index(normalised: &Manifest, entry: &IndexEntry) -> Consistency {
    let mut out = Consistency::default();
    index_into(normalised, entry, &mut out);
    out.sorted()
}

/// One signal per check with findings, in the order of [`Check`]; each
/// finding is a piece of evidence.
pub fn signals(c: &Consistency) -> Vec<Signal> {
    let mut out = Vec::new();
    for check in [Check::Normalisation, Check::Index] {
        let findings: Vec<&Finding> = c.of(check).collect();
        if findings.is_empty() {
            continue;
        }
        let deps: BTreeSet<&str> = findings
            .iter()
            .filter_map(|f| match &f.subject {
                Subject::Dependency(key) => Some(key.name.as_str()),
                _ => None,
            })
            .collect();
        let n = findings.len();
        let plural = if n == 1 { "" } else { "s" };
        let about = if deps.is_empty() {
            String::new()
        } else {
            format!(
                " ({} dependenc{})",
                deps.len(),
                if deps.len() == 1 { "y" } else { "ies" }
            )
        };
        let summary = match check {
            Check::Normalisation => format!(
                "{n} difference{plural}{about} between Cargo.toml.orig and the normalised Cargo.toml where cargo \
                 would have copied the value: reviewers read the original, the compiler builds from the normalised one"
            ),
            Check::Index => format!(
                "{n} disagreement{plural}{about} between the index entry and the Cargo.toml in the .crate: \
                 the resolver uses the index and the compiler uses the tarball"
            ),
        };
        let evidence = findings
            .iter()
            .map(|f| Evidence {
                fact: match f.subject {
                    Subject::Dependency(_) => "dependency",
                    Subject::Feature { .. } => "feature",
                    _ => "manifest",
                },
                value: f.describe(),
            })
            .collect();
        out.push(signal(check.code(), summary, evidence));
    }
    out
}

/// What `Cargo.toml.orig` says, read leniently: a workspace member's
/// `version.workspace = true` is fine here, and inherited dependencies are
/// marked.
struct Original {
    build: Build,
    links: Option<String>,
    features: BTreeMap<String, Vec<String>>,
    deps: BTreeMap<DepKey, Dep>,
    inherited: BTreeSet<DepKey>,
}

fn parse_original(bytes: &[u8]) -> Result<Original, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 (at byte {})", e.valid_up_to()))?;
    let root: Table = toml::from_str(text).map_err(|e| format!("not valid TOML: {}", e.message().trim_end()))?;
    let package = match root.get("package").or_else(|| root.get("project")) {
        Some(Value::Table(t)) => t,
        _ => return Err("no [package] table".to_owned()),
    };
    let mut features = BTreeMap::new();
    if let Some(table) = root.get("features") {
        for (name, enables) in manifest::table(table, "features").map_err(|e| e.to_string())? {
            let Value::Array(items) = enables else {
                return Err(format!("features.{name} is not an array"));
            };
            features.insert(name.clone(), items.iter().map(manifest::value_text).collect());
        }
    }
    let mut deps = BTreeMap::new();
    let mut inherited = BTreeSet::new();
    let mut sections = vec![(None, &root)];
    if let Some(targets) = root.get("target") {
        for (target, section) in manifest::table(targets, "target").map_err(|e| e.to_string())? {
            let section = manifest::table(section, "target").map_err(|e| e.to_string())?;
            sections.push((Some(target), section));
        }
    }
    for (target, section) in sections {
        manifest::read_dep_tables(section, target, &mut deps).map_err(|e| e.to_string())?;
        for (table_name, kind) in DEP_TABLES {
            let Some(Value::Table(table)) = section.get(table_name) else {
                continue;
            };
            for (name, spec) in table {
                if let Value::Table(spec) = spec
                    && matches!(spec.get("workspace"), Some(Value::Boolean(true)))
                {
                    inherited.insert(DepKey {
                        kind,
                        target: target.cloned(),
                        name: name.clone(),
                    });
                }
            }
        }
    }
    Ok(Original {
        build: manifest::build(package.get("build")),
        links: package.get("links").map(manifest::value_text),
        features,
        deps,
        inherited,
    })
}

const DEP_TABLES: [(&str, DepKind); 5] = [
    ("dependencies", DepKind::Normal),
    ("dev_dependencies", DepKind::Dev),
    ("dev-dependencies", DepKind::Dev),
    ("build_dependencies", DepKind::Build),
    ("build-dependencies", DepKind::Build),
];

fn normalisation_into(orig: &[u8], normalised: &Manifest, out: &mut Consistency) {
    const C: Check = Check::Normalisation;
    let orig = match parse_original(orig) {
        Ok(o) => o,
        Err(e) => {
            out.skip(
                C,
                Subject::Manifest,
                None,
                &format!("Cargo.toml.orig cannot be read: {e}"),
            );
            return;
        }
    };

    for (key, o) in &orig.deps {
        let subject = || Subject::Dependency(key.clone());
        let n = normalised.dependencies.get(key);
        if orig.inherited.contains(key) {
            out.skip(C, subject(), Some(Aspect::Req), INHERITED);
            match n {
                // A dev-dependency inherited without a version is dropped.
                None if key.kind == DepKind::Dev => {}
                None => out.find(C, subject(), Aspect::Presence, Some("declared".into()), None),
                Some(n) => {
                    // `optional` can only be set in the member; features add
                    // to the workspace's.
                    if o.optional != n.optional {
                        out.find(
                            C,
                            subject(),
                            Aspect::Optional,
                            Some(o.optional.to_string()),
                            Some(n.optional.to_string()),
                        );
                    }
                    let missing = o.features.iter().any(|f| !n.features.contains(f));
                    if missing {
                        out.find(
                            C,
                            subject(),
                            Aspect::Features,
                            Some(set_text(&o.features)),
                            Some(set_text(&n.features)),
                        );
                    }
                }
            }
            continue;
        }
        let sourced = o.path.is_some() || o.git.is_some();
        let Some(n) = n else {
            // `cargo package` drops dev-dependencies without a version.
            if !(key.kind == DepKind::Dev && o.req.is_none()) {
                out.find(C, subject(), Aspect::Presence, Some(declared(o)), None);
            }
            continue;
        };
        match &o.req {
            Some(req) => {
                if !same_req(Some(req), n.req.as_deref()) {
                    out.find(C, subject(), Aspect::Req, Some(req.clone()), n.req.clone());
                }
            }
            None if sourced => {
                out.skip(C, subject(), Some(Aspect::Req), PATH_VERSION);
                if n.req.is_none() {
                    out.find(
                        C,
                        subject(),
                        Aspect::Req,
                        Some("a version (required to publish)".into()),
                        None,
                    );
                }
            }
            None => {
                if n.req.is_some() {
                    out.find(C, subject(), Aspect::Req, None, n.req.clone());
                }
            }
        }
        let (co, cn) = (o.crate_name(key), n.crate_name(key));
        if co != cn {
            out.find(C, subject(), Aspect::Package, Some(co.to_owned()), Some(cn.to_owned()));
        }
        compare_flags(C, key, o, n, out);
        match (&o.registry, &n.registry) {
            (Some(_), Some(_)) => out.skip(C, subject(), Some(Aspect::Registry), REGISTRY_NAME),
            (None, None) => {}
            (a, b) => out.find(C, subject(), Aspect::Registry, a.clone(), b.clone()),
        }
        if n.path.is_some() || n.git.is_some() {
            out.find(
                C,
                subject(),
                Aspect::Source,
                None,
                n.path.clone().or_else(|| n.git.clone()),
            );
        }
    }
    for (key, n) in &normalised.dependencies {
        if !orig.deps.contains_key(key) {
            out.find(
                C,
                Subject::Dependency(key.clone()),
                Aspect::Presence,
                None,
                Some(declared(n)),
            );
        }
    }

    // [features]: copied, except that cargo strips the entries naming a
    // dependency it dropped (a dev-dependency without a version).
    let dep_names: BTreeSet<&str> = normalised.dependencies.keys().map(|k| k.name.as_str()).collect();
    for name in orig.features.keys().chain(normalised.features.keys()) {
        let subject = || Subject::Feature { name: name.clone() };
        match (orig.features.get(name), normalised.features.get(name)) {
            (Some(o), Some(n)) => {
                let stripped_ok = |v: &String| feature_dep(v).is_some_and(|d| !dep_names.contains(d));
                let missing = o.iter().any(|v| !n.contains(v) && !stripped_ok(v));
                let extra = n.iter().any(|v| !o.contains(v));
                if missing || extra {
                    out.find(C, subject(), Aspect::Enables, Some(set_text(o)), Some(set_text(n)));
                }
            }
            (o, n) => out.find(
                C,
                subject(),
                Aspect::Presence,
                o.map(|v| set_text(v)),
                n.map(|v| set_text(v)),
            ),
        }
    }

    if !build_consistent(&orig.build, &normalised.build) {
        out.find(
            C,
            Subject::Build,
            Aspect::Value,
            orig.build.as_manifest_value(),
            normalised.build.as_manifest_value(),
        );
    }
    if orig.links != normalised.links {
        out.find(C, Subject::Links, Aspect::Value, orig.links, normalised.links.clone());
    }
}

/// Whether cargo could have written `normalised` for `orig`'s `build`.
fn build_consistent(orig: &Build, normalised: &Build) -> bool {
    let path = |p: &str| {
        let p = p.replace('\\', "/");
        p.strip_prefix("./").map(str::to_owned).unwrap_or(p)
    };
    let is_default = |b: &Build| match b {
        Build::Default => true,
        Build::Script(p) => path(p) == "build.rs",
        _ => false,
    };
    match (orig, normalised) {
        // No `build.rs` found, or (newer cargo, with a warning) a script
        // that is not packaged: dropping a build script is always possible.
        (_, Build::Disabled) => true,
        // Auto-detection finds `build.rs` only; older cargo writes nothing.
        (Build::NotSet, n) => matches!(n, Build::NotSet) || is_default(n),
        (Build::Default, n) => is_default(n),
        (Build::Disabled, _) => false,
        (Build::Script(o), Build::Script(n)) => path(o) == path(n),
        (Build::Script(o), n) => is_default(n) && path(o) == "build.rs",
    }
}

/// The checks shared by both comparisons: features, optional,
/// default-features.
fn compare_flags(check: Check, key: &DepKey, a: &Dep, b: &Dep, out: &mut Consistency) {
    let subject = || Subject::Dependency(key.clone());
    if as_set(&a.features) != as_set(&b.features) {
        out.find(
            check,
            subject(),
            Aspect::Features,
            Some(set_text(&a.features)),
            Some(set_text(&b.features)),
        );
    }
    if a.optional != b.optional {
        out.find(
            check,
            subject(),
            Aspect::Optional,
            Some(a.optional.to_string()),
            Some(b.optional.to_string()),
        );
    }
    if a.default_features != b.default_features {
        out.find(
            check,
            subject(),
            Aspect::DefaultFeatures,
            Some(a.default_features.to_string()),
            Some(b.default_features.to_string()),
        );
    }
}

fn index_into(normalised: &Manifest, entry: &IndexEntry, out: &mut Consistency) {
    const C: Check = Check::Index;
    // Keyed by kind, target with `cfg()` spacing removed, and name: the
    // index spells targets as cargo re-prints them.
    type Key = (DepKind, Option<String>, String);
    let key_of = |kind, target: Option<&str>, name: &str| -> Key { (kind, target.map(target_key), name.to_owned()) };
    let mut manifest_side: BTreeMap<Key, Vec<(&DepKey, &Dep)>> = BTreeMap::new();
    for (key, dep) in &normalised.dependencies {
        manifest_side
            .entry(key_of(key.kind, key.target.as_deref(), &key.name))
            .or_default()
            .push((key, dep));
    }
    let mut index_side: BTreeMap<Key, Vec<&IndexDep>> = BTreeMap::new();
    for dep in &entry.deps {
        let kind = match dep.kind.as_deref() {
            None | Some("normal") => DepKind::Normal,
            Some("dev") => DepKind::Dev,
            Some("build") => DepKind::Build,
            Some(_) => {
                out.skip(
                    C,
                    Subject::Dependency(index_key(DepKind::Normal, dep)),
                    None,
                    UNKNOWN_KIND,
                );
                continue;
            }
        };
        index_side
            .entry(key_of(kind, dep.target.as_deref(), &dep.name))
            .or_default()
            .push(dep);
    }
    let keys: BTreeSet<&Key> = manifest_side.keys().chain(index_side.keys()).collect();
    for k in keys {
        let m = manifest_side.get(k).map(Vec::as_slice).unwrap_or_default();
        let i = index_side.get(k).map(Vec::as_slice).unwrap_or_default();
        match (m, i) {
            ([(key, dep)], [idx]) => compare_index_dep(key, dep, idx, out),
            ([(key, dep)], []) => out.find(
                C,
                Subject::Dependency((*key).clone()),
                Aspect::Presence,
                Some(declared(dep)),
                None,
            ),
            ([], [idx]) => out.find(
                C,
                Subject::Dependency(index_key(k.0, idx)),
                Aspect::Presence,
                None,
                Some(format!("req {}", idx.req)),
            ),
            _ => {
                let key = match (m.first(), i.first()) {
                    (Some((key, _)), _) => (*key).clone(),
                    (None, Some(idx)) => index_key(k.0, idx),
                    (None, None) => continue,
                };
                out.skip(C, Subject::Dependency(key), None, AMBIGUOUS);
            }
        }
    }

    let names: BTreeSet<&String> = normalised.features.keys().chain(entry.features.keys()).collect();
    for name in names {
        let subject = || Subject::Feature { name: name.clone() };
        match (normalised.features.get(name), entry.features.get(name)) {
            (Some(m), Some(i)) => {
                if as_set(m) != as_set(i) {
                    out.find(C, subject(), Aspect::Enables, Some(set_text(m)), Some(set_text(i)));
                }
            }
            (m, i) => out.find(
                C,
                subject(),
                Aspect::Presence,
                m.map(|v| set_text(v)),
                i.map(|v| set_text(v)),
            ),
        }
    }

    match (&normalised.links, &entry.links) {
        (Some(_), None) => out.skip(C, Subject::Links, Some(Aspect::Value), NO_INDEX_LINKS),
        (m, i) if m != i => out.find(C, Subject::Links, Aspect::Value, m.clone(), i.clone()),
        _ => {}
    }
}

fn compare_index_dep(key: &DepKey, dep: &Dep, idx: &IndexDep, out: &mut Consistency) {
    const C: Check = Check::Index;
    let subject = || Subject::Dependency(key.clone());
    // A manifest dependency without a version is `*` to cargo.
    let req = dep.req.as_deref().unwrap_or("*");
    match req_equal(req, &idx.req) {
        Some(true) => {}
        Some(false) => out.find(C, subject(), Aspect::Req, dep.req.clone(), Some(idx.req.clone())),
        None => out.skip(C, subject(), Some(Aspect::Req), UNPARSED_REQ),
    }
    let as_dep = Dep {
        package: idx.package.clone(),
        req: Some(idx.req.clone()),
        features: idx.features.clone(),
        optional: idx.optional,
        default_features: idx.default_features,
        registry: idx.registry.clone(),
        git: None,
        path: None,
    };
    // The index names the key; `package` is the crate when renamed.
    let index_key = DepKey {
        kind: key.kind,
        target: key.target.clone(),
        name: idx.name.clone(),
    };
    let (cm, ci) = (dep.crate_name(key), as_dep.crate_name(&index_key));
    if cm != ci {
        out.find(C, subject(), Aspect::Package, Some(cm.to_owned()), Some(ci.to_owned()));
    }
    compare_flags(C, key, dep, &as_dep, out);
    // In the index `registry` is set only for another registry than the
    // entry's own; the manifest's `registry-index` may name the same one.
    match (&dep.registry, &idx.registry) {
        (None, Some(r)) => out.find(C, subject(), Aspect::Registry, None, Some(r.clone())),
        (Some(_), _) => out.skip(C, subject(), Some(Aspect::Registry), INDEX_REGISTRY),
        (None, None) => {}
    }
}

fn index_key(kind: DepKind, dep: &IndexDep) -> DepKey {
    DepKey {
        kind,
        target: dep.target.clone(),
        name: dep.name.clone(),
    }
}

/// A target as compared: whitespace outside quoted strings removed, since
/// cargo re-prints `cfg()` expressions (`cfg(any(unix,windows))` becomes
/// `cfg(any(unix, windows))` in the index).
fn target_key(target: &str) -> String {
    let mut out = String::with_capacity(target.len());
    let mut quoted = false;
    for c in target.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if quoted || !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Same requirement: equal text, equal once parsed by semver, or the same
/// range of versions. The registry re-prints requirements in its own way:
/// `1.0` is `^1.0` in today's index, was `>=1.0.0, <2.0.0` for a while in
/// 2020, and `^0.*` became `0.*`. `None` when the texts differ and either
/// cannot be parsed.
fn req_equal(a: &str, b: &str) -> Option<bool> {
    if a.trim() == b.trim() {
        return Some(true);
    }
    match (semver::VersionReq::parse(a.trim()), semver::VersionReq::parse(b.trim())) {
        (Ok(a), Ok(b)) => Some(a == b || range(&a) == range(&b)),
        _ => None,
    }
}

/// A bound of a range: the version and whether it is included.
type Bound = Option<(semver::Version, bool)>;

/// The range of versions a requirement matches, as (lower, upper) bounds
/// (`None`: unbounded), by cargo's rules for each operator. Pre-release
/// matching rules are not modelled: two requirements with the same range are
/// taken as the same.
fn range(req: &semver::VersionReq) -> (Bound, Bound) {
    use semver::Op;
    let v = |major: u64, minor: u64, patch: u64, pre: &semver::Prerelease| semver::Version {
        major,
        minor,
        patch,
        pre: pre.clone(),
        build: semver::BuildMetadata::EMPTY,
    };
    let none = semver::Prerelease::EMPTY;
    let (mut lower, mut upper): (Bound, Bound) = (None, None);
    for c in &req.comparators {
        let (maj, pre) = (c.major, &c.pre);
        let at = |inc: bool| match (c.minor, c.patch) {
            (Some(mi), Some(pa)) => Some((v(maj, mi, pa, pre), inc)),
            (Some(mi), None) => Some((v(maj, mi, 0, &none), inc)),
            _ => Some((v(maj, 0, 0, &none), inc)),
        };
        // The first version past a partial one: `1.2` ends at `1.3.0`.
        let past = || match (c.minor, c.patch) {
            (Some(mi), Some(pa)) => Some((v(maj, mi, pa, pre), true)),
            (Some(mi), None) => Some((v(maj, mi.saturating_add(1), 0, &none), false)),
            _ => Some((v(maj.saturating_add(1), 0, 0, &none), false)),
        };
        let next_minor = |mi: u64| Some((v(maj, mi.saturating_add(1), 0, &none), false));
        let next_major = || Some((v(maj.saturating_add(1), 0, 0, &none), false));
        let (lo, hi): (Bound, Bound) = match c.op {
            Op::Exact | Op::Wildcard => (at(true), past()),
            Op::Greater => match past() {
                Some((ver, true)) => (Some((ver, false)), None),
                other => (other.map(|(ver, _)| (ver, true)), None),
            },
            Op::GreaterEq => (at(true), None),
            Op::Less => (None, at(false)),
            Op::LessEq => (None, past()),
            Op::Tilde => match c.minor {
                Some(mi) => (at(true), next_minor(mi)),
                None => (at(true), next_major()),
            },
            Op::Caret => match (maj, c.minor, c.patch) {
                (0, Some(0), Some(pa)) => (at(true), Some((v(0, 0, pa.saturating_add(1), &none), false))),
                (0, Some(mi), _) => (at(true), next_minor(mi)),
                _ => (at(true), next_major()),
            },
            _ => return (Some((v(u64::MAX, 0, 0, &none), false)), None),
        };
        lower = match (lower, lo) {
            (Some(a), Some(b)) => Some(if lower_key(&a) >= lower_key(&b) { a } else { b }),
            (a, b) => a.or(b),
        };
        upper = match (upper, hi) {
            (Some(a), Some(b)) => Some(if a.0 < b.0 || (a.0 == b.0 && !a.1) { a } else { b }),
            (a, b) => a.or(b),
        };
    }
    // `>=0.0.0` is no bound at all.
    if lower
        .as_ref()
        .is_some_and(|(ver, inc)| *inc && *ver == v(0, 0, 0, &none))
    {
        lower = None;
    }
    (lower, upper)
}

/// Orders lower bounds: an excluded version is a higher bound than the same
/// version included.
fn lower_key(b: &(semver::Version, bool)) -> (&semver::Version, bool) {
    (&b.0, !b.1)
}

/// For the normalisation check, where cargo copies the text: equal text, or
/// the same requirement once parsed.
fn same_req(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => req_equal(a, b) == Some(true),
        (None, None) => true,
        _ => false,
    }
}

/// The dependency a `[features]` value names: `dep:x`, `x/f` and `x?/f` name
/// `x`; a plain `f` names a feature.
fn feature_dep(value: &str) -> Option<&str> {
    if let Some(dep) = value.strip_prefix("dep:") {
        return Some(dep);
    }
    let (dep, _) = value.split_once('/')?;
    Some(dep.strip_suffix('?').unwrap_or(dep))
}

fn declared(dep: &Dep) -> String {
    match &dep.req {
        Some(req) => format!("req {req}"),
        None => "declared".to_owned(),
    }
}

fn as_set(items: &[String]) -> BTreeSet<&str> {
    items.iter().map(String::as_str).collect()
}

fn set_text(items: &[String]) -> String {
    let set = as_set(items);
    format!("[{}]", set.into_iter().collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::index::{IndexLine, parse_line};
    use crate::types::CrateName;

    /// What the author wrote (a workspace member).
    const ORIG: &str = r#"[package]
name = "demo"
version = "0.4.2"
edition.workspace = true
license = "MIT"
links = "demo"

[features]
default = ["std"]
std = ["serde/std"]
tls = ["dep:rustls", "reqwest?/rustls-tls"]
bench-internals = ["criterion/real_blackbox"]

[dependencies]
serde = { version = "1.0.190", default-features = false, features = ["derive"] }
demo-macros = { version = "=0.4.2", path = "../demo-macros" }
rustls = { version = "0.23", optional = true }
reqwest = { version = "0.12", optional = true, default-features = false }
log = { package = "tracing-log", version = "0.2" }
anyhow.workspace = true

[target.'cfg(any(unix, target_os = "wasi"))'.dependencies]
libc = "0.2.150"

[build-dependencies]
cc = "1.0.83"

[dev-dependencies]
criterion = { path = "../vendor/criterion" }
tempfile = "3"
demo-test-utils = { path = "../test-utils", version = "0.1" }
"#;

    /// What cargo 1.8x writes for it into the .crate.
    const NORMALISED: &str = r#"# THIS FILE IS AUTOMATICALLY GENERATED BY CARGO
#
# When uploading crates to the registry Cargo will automatically
# "normalize" Cargo.toml files for maximal compatibility
# with all versions of Cargo and also rewrite `path` dependencies
# to registry (e.g., crates.io) dependencies.
#
# If you are reading this file be aware that the original Cargo.toml
# will likely look very different (and much more reasonable).
# See Cargo.toml.orig for the original contents.

[package]
edition = "2021"
name = "demo"
version = "0.4.2"
build = "build.rs"
links = "demo"
autolib = false
autobins = false
autoexamples = false
autotests = false
autobenches = false
readme = false
license = "MIT"

[features]
bench-internals = []
default = ["std"]
std = ["serde/std"]
tls = [
    "dep:rustls",
    "reqwest?/rustls-tls",
]

[lib]
name = "demo"
path = "src/lib.rs"

[dependencies.anyhow]
version = "1.0.75"

[dependencies.demo-macros]
version = "=0.4.2"

[dependencies.log]
version = "0.2"
package = "tracing-log"

[dependencies.reqwest]
version = "0.12"
optional = true
default-features = false

[dependencies.rustls]
version = "0.23"
optional = true

[dependencies.serde]
version = "1.0.190"
features = ["derive"]
default-features = false

[dev-dependencies.demo-test-utils]
version = "0.1"

[dev-dependencies.tempfile]
version = "3"

[build-dependencies.cc]
version = "1.0.83"

[target.'cfg(any(unix, target_os = "wasi"))'.dependencies.libc]
version = "0.2.150"
"#;

    /// The index line crates.io serves for it (requirements re-printed,
    /// `dep:` features in `features2`, the target re-spaced).
    const INDEX: &str = r#"{"name":"demo","vers":"0.4.2","deps":[
{"name":"anyhow","req":"^1.0.75","features":[],"optional":false,"default_features":true,"target":null,"kind":"normal"},
{"name":"demo-macros","req":"=0.4.2","features":[],"optional":false,"default_features":true,"target":null,"kind":"normal"},
{"name":"log","req":"^0.2","features":[],"optional":false,"default_features":true,"target":null,"kind":"normal","package":"tracing-log"},
{"name":"reqwest","req":"^0.12","features":[],"optional":true,"default_features":false,"target":null,"kind":"normal"},
{"name":"rustls","req":"^0.23","features":[],"optional":true,"default_features":true,"target":null,"kind":"normal"},
{"name":"serde","req":"^1.0.190","features":["derive"],"optional":false,"default_features":false,"target":null},
{"name":"demo-test-utils","req":"^0.1","features":[],"optional":false,"default_features":true,"target":null,"kind":"dev"},
{"name":"tempfile","req":"^3","features":[],"optional":false,"default_features":true,"target":null,"kind":"dev"},
{"name":"cc","req":"^1.0.83","features":[],"optional":false,"default_features":true,"target":null,"kind":"build"},
{"name":"libc","req":"^0.2.150","features":[],"optional":false,"default_features":true,"target":"cfg(any(unix, target_os = \"wasi\"))","kind":"normal"}],
"cksum":"0000000000000000000000000000000000000000000000000000000000000000",
"features":{"bench-internals":[],"default":["std"],"std":["serde/std"]},
"features2":{"tls":["dep:rustls","reqwest?/rustls-tls"]},
"yanked":false,"links":"demo","v":2}"#;

    fn manifest(text: &str) -> Manifest {
        match manifest::parse(text.as_bytes()) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        }
    }

    fn entry(text: &str) -> IndexEntry {
        let line = text.replace('\n', "");
        match parse_line(line.as_bytes(), &CrateName::new("demo").expect("valid name")) {
            IndexLine::Entry(e) => *e,
            IndexLine::Skipped { reason, .. } => panic!("{reason}"),
        }
    }

    fn run(orig: &str, normalised: &str, index: &str) -> Consistency {
        check(Some(orig.as_bytes()), &manifest(normalised), &entry(index))
    }

    fn dep(kind: DepKind, target: Option<&str>, name: &str) -> Subject {
        Subject::Dependency(DepKey {
            kind,
            target: target.map(str::to_owned),
            name: name.to_owned(),
        })
    }

    /// (check, subject, aspect) of each finding.
    fn found(c: &Consistency) -> Vec<(Check, Subject, Aspect)> {
        c.findings
            .iter()
            .map(|f| (f.check, f.subject.clone(), f.aspect))
            .collect()
    }

    #[test]
    fn consistent_release_has_no_findings() {
        let c = run(ORIG, NORMALISED, INDEX);
        assert_eq!(c.findings, vec![]);
        // The workspace-inherited dependency is reported as not checked.
        let skipped: Vec<_> = c
            .skipped
            .iter()
            .map(|s| (s.check, s.subject.clone(), s.aspect))
            .collect();
        assert_eq!(
            skipped,
            vec![(
                Check::Normalisation,
                dep(DepKind::Normal, None, "anyhow"),
                Some(Aspect::Req)
            )]
        );
        assert!(c.skipped[0].reason.contains("workspace"));
        assert!(signals(&c).is_empty());
    }

    #[test]
    fn dependency_added_only_in_normalised_manifest() {
        let normalised = format!("{NORMALISED}\n[build-dependencies.payload]\nversion = \"0.1.0\"\n");
        let c = check_normalisation(ORIG.as_bytes(), &manifest(&normalised));
        assert_eq!(
            found(&c),
            vec![(
                Check::Normalisation,
                dep(DepKind::Build, None, "payload"),
                Aspect::Presence
            )]
        );
        assert_eq!(c.findings[0].expected, None);
        assert_eq!(c.findings[0].found.as_deref(), Some("req 0.1.0"));
        // And the index, which does not list it, disagrees too.
        let c = check_index(&manifest(&normalised), &entry(INDEX));
        assert_eq!(
            found(&c),
            vec![(Check::Index, dep(DepKind::Build, None, "payload"), Aspect::Presence)]
        );
    }

    #[test]
    fn changed_version_requirement() {
        let normalised = NORMALISED.replace("version = \"1.0.190\"", "version = \"=1.0.171\"");
        let c = check_normalisation(ORIG.as_bytes(), &manifest(&normalised));
        assert_eq!(c.findings.len(), 1);
        let f = &c.findings[0];
        assert_eq!(f.subject, dep(DepKind::Normal, None, "serde"));
        assert_eq!(f.aspect, Aspect::Req);
        assert_eq!(f.expected.as_deref(), Some("1.0.190"));
        assert_eq!(f.found.as_deref(), Some("=1.0.171"));
        assert_eq!(
            f.describe(),
            "normal dependency serde: version requirement: Cargo.toml.orig `1.0.190`, Cargo.toml `=1.0.171`"
        );
    }

    #[test]
    fn path_dependency_gets_its_version_elsewhere() {
        // A path dependency without a version: cargo takes the version from
        // the path crate, so only its presence is checked, and the skip is
        // reported.
        let orig = ORIG.replace(
            "demo-macros = { version = \"=0.4.2\", path = \"../demo-macros\" }",
            "demo-macros = { path = \"../demo-macros\" }",
        );
        let c = check_normalisation(orig.as_bytes(), &manifest(NORMALISED));
        assert_eq!(c.findings, vec![]);
        assert!(
            c.skipped
                .iter()
                .any(|s| s.subject == dep(DepKind::Normal, None, "demo-macros")
                    && s.aspect == Some(Aspect::Req)
                    && s.reason.contains("path"))
        );
        // Missing altogether from the normalised manifest is a finding.
        let normalised = NORMALISED.replace("[dependencies.demo-macros]\nversion = \"=0.4.2\"\n", "");
        let c = check_normalisation(orig.as_bytes(), &manifest(&normalised));
        assert_eq!(
            found(&c),
            vec![(
                Check::Normalisation,
                dep(DepKind::Normal, None, "demo-macros"),
                Aspect::Presence
            )]
        );
        // A `path` left in the normalised manifest is a finding.
        let normalised = NORMALISED.replace(
            "[dependencies.demo-macros]\nversion = \"=0.4.2\"\n",
            "[dependencies.demo-macros]\nversion = \"=0.4.2\"\npath = \"../demo-macros\"\n",
        );
        let c = check_normalisation(ORIG.as_bytes(), &manifest(&normalised));
        assert_eq!(
            found(&c),
            vec![(
                Check::Normalisation,
                dep(DepKind::Normal, None, "demo-macros"),
                Aspect::Source
            )]
        );
    }

    #[test]
    fn workspace_inherited_dependency_is_skipped_not_flagged() {
        // Any version may come from the workspace: not flagged.
        let normalised = NORMALISED.replace("version = \"1.0.75\"", "version = \"1.0.99\"");
        let c = check_normalisation(ORIG.as_bytes(), &manifest(&normalised));
        assert_eq!(c.findings, vec![]);
        assert_eq!(c.skipped.len(), 1);
        // What the member itself states still holds: its features must be there.
        let orig = ORIG.replace(
            "anyhow.workspace = true",
            "anyhow = { workspace = true, features = [\"backtrace\"] }",
        );
        let c = check_normalisation(orig.as_bytes(), &manifest(NORMALISED));
        assert_eq!(
            found(&c),
            vec![(
                Check::Normalisation,
                dep(DepKind::Normal, None, "anyhow"),
                Aspect::Features
            )]
        );
    }

    #[test]
    fn renamed_dependency() {
        let normalised = NORMALISED.replace("package = \"tracing-log\"", "package = \"tracing-l0g\"");
        let c = run(ORIG, &normalised, INDEX);
        assert_eq!(
            found(&c),
            vec![
                (Check::Normalisation, dep(DepKind::Normal, None, "log"), Aspect::Package),
                (Check::Index, dep(DepKind::Normal, None, "log"), Aspect::Package),
            ]
        );
        assert_eq!(c.findings[0].expected.as_deref(), Some("tracing-log"));
        assert_eq!(c.findings[0].found.as_deref(), Some("tracing-l0g"));
        // The index naming the real crate as the key (no rename) disagrees.
        let index = INDEX.replace(r#""kind":"normal","package":"tracing-log"}"#, r#""kind":"normal"}"#);
        let c = run(ORIG, NORMALISED, &index);
        assert_eq!(
            found(&c),
            vec![(Check::Index, dep(DepKind::Normal, None, "log"), Aspect::Package)]
        );
    }

    #[test]
    fn target_specific_dependency() {
        let moved = NORMALISED.replace(
            "[target.'cfg(any(unix, target_os = \"wasi\"))'.dependencies.libc]",
            "[target.'cfg(windows)'.dependencies.libc]",
        );
        let c = check_normalisation(ORIG.as_bytes(), &manifest(&moved));
        let cfg = "cfg(any(unix, target_os = \"wasi\"))";
        assert_eq!(
            found(&c),
            vec![
                (
                    Check::Normalisation,
                    dep(DepKind::Normal, Some(cfg), "libc"),
                    Aspect::Presence
                ),
                (
                    Check::Normalisation,
                    dep(DepKind::Normal, Some("cfg(windows)"), "libc"),
                    Aspect::Presence
                ),
            ]
        );
        // The index re-prints cfg() expressions: spacing is no difference.
        let index = INDEX.replace(
            r#"cfg(any(unix, target_os = \"wasi\"))"#,
            r#"cfg(any(unix,target_os=\"wasi\"))"#,
        );
        assert_eq!(run(ORIG, NORMALISED, &index).findings, vec![]);
        // A dependency the index lists without its target is another one.
        let index = INDEX.replace(
            r#""target":"cfg(any(unix, target_os = \"wasi\"))","kind":"normal"}"#,
            r#""target":null,"kind":"normal"}"#,
        );
        let c = run(ORIG, NORMALISED, &index);
        assert_eq!(
            found(&c),
            vec![
                (Check::Index, dep(DepKind::Normal, None, "libc"), Aspect::Presence),
                (Check::Index, dep(DepKind::Normal, Some(cfg), "libc"), Aspect::Presence),
            ]
        );
    }

    #[test]
    fn index_missing_a_dependency() {
        let index = INDEX.replace(
            r#"{"name":"cc","req":"^1.0.83","features":[],"optional":false,"default_features":true,"target":null,"kind":"build"},"#,
            "",
        );
        let c = run(ORIG, NORMALISED, &index);
        assert_eq!(
            found(&c),
            vec![(Check::Index, dep(DepKind::Build, None, "cc"), Aspect::Presence)]
        );
        assert_eq!(c.findings[0].expected.as_deref(), Some("req 1.0.83"));
        assert_eq!(c.findings[0].found, None);
        let s = signals(&c);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].code, "index-manifest-mismatch");
        assert!(
            s[0].summary
                .contains("the resolver uses the index and the compiler uses the tarball")
        );
        assert_eq!(s[0].evidence[0].fact, "dependency");
        assert!(s[0].evidence[0].value.contains("build dependency cc"));
    }

    #[test]
    fn index_with_a_different_requirement_or_flags() {
        let index = INDEX.replace(r#""req":"^1.0.190""#, r#""req":"^1.0.100""#).replace(
            r#""name":"rustls","req":"^0.23","features":[],"optional":true"#,
            r#""name":"rustls","req":"^0.23","features":["ring"],"optional":false"#,
        );
        let c = run(ORIG, NORMALISED, &index);
        assert_eq!(
            found(&c),
            vec![
                (Check::Index, dep(DepKind::Normal, None, "rustls"), Aspect::Features),
                (Check::Index, dep(DepKind::Normal, None, "rustls"), Aspect::Optional),
                (Check::Index, dep(DepKind::Normal, None, "serde"), Aspect::Req),
            ]
        );
        assert_eq!(c.findings[2].expected.as_deref(), Some("1.0.190"));
        assert_eq!(c.findings[2].found.as_deref(), Some("^1.0.100"));
        // Spellings of the same range the registry has used are no difference.
        for same in ["1.0.190", ">=1.0.190, <2.0.0", "^1.0.190"] {
            let index = INDEX.replace(r#""req":"^1.0.190""#, &format!(r#""req":"{same}""#));
            assert_eq!(run(ORIG, NORMALISED, &index).findings, vec![], "{same}");
        }
    }

    #[test]
    fn index_features_and_links() {
        let index = INDEX
            .replace(
                r#""tls":["dep:rustls","reqwest?/rustls-tls"]"#,
                r#""tls":["dep:rustls"]"#,
            )
            .replace(r#""links":"demo""#, r#""links":"other""#);
        let c = run(ORIG, NORMALISED, &index);
        assert_eq!(
            found(&c),
            vec![
                (Check::Index, Subject::Feature { name: "tls".into() }, Aspect::Enables),
                (Check::Index, Subject::Links, Aspect::Value),
            ]
        );
        // Older index entries have no `links`: not checked, and said so.
        let index = INDEX.replace(r#","links":"demo""#, "");
        let c = run(ORIG, NORMALISED, &index);
        assert_eq!(c.findings, vec![]);
        assert!(
            c.skipped
                .iter()
                .any(|s| s.check == Check::Index && s.subject == Subject::Links)
        );
    }

    #[test]
    fn dev_dependencies() {
        // A dev-dependency without a version (`criterion`, path only) is
        // dropped by cargo, and so are the feature entries naming it; the
        // consistent pair shows both. One with a version must stay.
        let normalised = NORMALISED.replace("[dev-dependencies.tempfile]\nversion = \"3\"\n", "");
        let c = check_normalisation(ORIG.as_bytes(), &manifest(&normalised));
        assert_eq!(
            found(&c),
            vec![(
                Check::Normalisation,
                dep(DepKind::Dev, None, "tempfile"),
                Aspect::Presence
            )]
        );
        // The index lists dev-dependencies too: one missing there is a finding.
        let index = INDEX.replace(
            r#"{"name":"tempfile","req":"^3","features":[],"optional":false,"default_features":true,"target":null,"kind":"dev"},"#,
            "",
        );
        let c = run(ORIG, NORMALISED, &index);
        assert_eq!(
            found(&c),
            vec![(Check::Index, dep(DepKind::Dev, None, "tempfile"), Aspect::Presence)]
        );
        // A dev-dependency listed as a normal one in the index is two findings.
        let index = INDEX.replace(
            r#""req":"^3","features":[],"optional":false,"default_features":true,"target":null,"kind":"dev""#,
            r#""req":"^3","features":[],"optional":false,"default_features":true,"target":null"#,
        );
        let c = run(ORIG, NORMALISED, &index);
        assert_eq!(
            found(&c),
            vec![
                (Check::Index, dep(DepKind::Normal, None, "tempfile"), Aspect::Presence),
                (Check::Index, dep(DepKind::Dev, None, "tempfile"), Aspect::Presence),
            ]
        );
    }

    #[test]
    fn features_table() {
        // An entry added in the normalised manifest, and an entry removed
        // that names a dependency cargo kept.
        let normalised = NORMALISED
            .replace("default = [\"std\"]", "default = [\"std\", \"tls\"]")
            .replace("std = [\"serde/std\"]", "std = []");
        let c = check_normalisation(ORIG.as_bytes(), &manifest(&normalised));
        assert_eq!(
            found(&c),
            vec![
                (
                    Check::Normalisation,
                    Subject::Feature { name: "default".into() },
                    Aspect::Enables
                ),
                (
                    Check::Normalisation,
                    Subject::Feature { name: "std".into() },
                    Aspect::Enables
                ),
            ]
        );
        // Older cargo did not strip entries naming a dropped dev-dependency.
        let normalised = NORMALISED.replace(
            "bench-internals = []",
            "bench-internals = [\"criterion/real_blackbox\"]",
        );
        let c = check_normalisation(ORIG.as_bytes(), &manifest(&normalised));
        assert_eq!(c.findings, vec![]);
    }

    #[test]
    fn build_and_links() {
        let with = |orig: &str, normalised: &str| {
            let o = ORIG.replace("links = \"demo\"", &format!("links = \"demo\"\n{orig}"));
            let n = NORMALISED.replace("build = \"build.rs\"\n", normalised);
            check_normalisation(o.as_bytes(), &manifest(&n)).findings
        };
        // Auto-detection, explicit scripts, scripts not packaged.
        assert_eq!(with("", "build = \"build.rs\"\n"), vec![]);
        assert_eq!(with("", ""), vec![]);
        assert_eq!(with("", "build = false\n"), vec![]);
        assert_eq!(with("build = \"tools/gen.rs\"", "build = \"tools/gen.rs\"\n"), vec![]);
        assert_eq!(with("build = \"tools/gen.rs\"", "build = false\n"), vec![]);
        assert_eq!(with("build = false", "build = false\n"), vec![]);
        // A build script cargo would not have written.
        let f = with("", "build = \"src/evil.rs\"\n");
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].aspect, f[0].expected.clone()), (Aspect::Value, None));
        assert_eq!(with("build = false", "build = \"build.rs\"\n").len(), 1);
        assert_eq!(with("build = \"gen.rs\"", "build = \"build.rs\"\n").len(), 1);
        // links
        let n = NORMALISED.replace("links = \"demo\"", "links = \"ssl\"");
        let c = check_normalisation(ORIG.as_bytes(), &manifest(&n));
        assert_eq!(found(&c), vec![(Check::Normalisation, Subject::Links, Aspect::Value)]);
    }

    #[test]
    fn uncheckable_inputs_are_reported() {
        let c = check(None, &manifest(NORMALISED), &entry(INDEX));
        assert_eq!(c.findings, vec![]);
        assert_eq!(c.skipped.len(), 1);
        assert_eq!(
            (c.skipped[0].check, &c.skipped[0].subject),
            (Check::Normalisation, &Subject::Manifest)
        );
        let c = check(Some(b"[package\n"), &manifest(NORMALISED), &entry(INDEX));
        assert_eq!(c.findings, vec![]);
        assert!(c.skipped[0].reason.starts_with("Cargo.toml.orig cannot be read"));
        // A requirement semver cannot parse, spelled differently: skipped.
        let index = INDEX.replace(r#""req":"^3""#, r#""req":"^3 || ^4""#);
        let c = run(ORIG, NORMALISED, &index);
        assert_eq!(c.findings, vec![]);
        assert!(
            c.skipped
                .iter()
                .any(|s| s.check == Check::Index && s.aspect == Some(Aspect::Req))
        );
    }

    #[test]
    fn requirement_ranges() {
        let same = |a: &str, b: &str| req_equal(a, b);
        assert_eq!(same("1.0", "^1.0"), Some(true));
        assert_eq!(same("1.0", ">=1.0.0, <2.0.0"), Some(true));
        assert_eq!(same("0.2", ">=0.2.0, <0.3.0"), Some(true));
        assert_eq!(same("0", ">=0.0.0, <1.0.0"), Some(true));
        assert_eq!(same("^0.*", "0.*"), Some(true));
        assert_eq!(same("~1.2", ">=1.2.0, <1.3.0"), Some(true));
        assert_eq!(same("^0.0.3", ">=0.0.3, <0.0.4"), Some(true));
        assert_eq!(same("*", ">=0.0.0"), Some(true));
        assert_eq!(same("1.0", "^1.1"), Some(false));
        assert_eq!(same("0.2", "0.3"), Some(false));
        assert_eq!(same(">1.2", ">=1.3.0"), Some(true));
        assert_eq!(same(">1.2.3", ">=1.2.3"), Some(false));
        assert_eq!(same("<=1.2", "<1.3.0"), Some(true));
        assert_eq!(same("=1.2.3", "1.2.3"), Some(false));
        assert_eq!(same("^1 || ^2", "^1"), None);
    }

    #[test]
    fn serialises_flat() {
        let normalised = NORMALISED.replace("version = \"1.0.190\"", "version = \"=1.0.171\"");
        let c = run(ORIG, &normalised, INDEX);
        let json = serde_json::to_value(&c).unwrap_or_default();
        let f = &json["findings"][0];
        assert_eq!(f["check"], "normalisation");
        assert_eq!(f["subject"], "dependency");
        assert_eq!(f["kind"], "normal");
        assert_eq!(f["name"], "serde");
        assert_eq!(f["aspect"], "req");
        assert_eq!(f["expected"], "1.0.190");
        assert_eq!(f["found"], "=1.0.171");
        let s = signals(&c);
        assert_eq!(
            s.iter().map(|s| s.code).collect::<Vec<_>>(),
            vec!["manifest-normalisation-mismatch", "index-manifest-mismatch"]
        );
        assert!(
            s[0].summary
                .starts_with("1 difference (1 dependency) between Cargo.toml.orig")
        );
    }
}
