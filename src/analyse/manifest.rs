//! The `Cargo.toml` of a release, parsed, and what changed between two.
//!
//! Owns: reading the manifest cargo writes into a `.crate` (normalised) and
//! the older hand-written ones found in old releases: `[project]` for
//! `[package]`, `[dependencies.foo]` tables, bare version strings,
//! `target.'cfg(..)'.dependencies`, `_` spellings of `dev-dependencies`,
//! `build-dependencies`, `default-features` and `proc-macro`, `build` as a
//! path or a boolean, renamed dependencies (`package = "..."`). Values are
//! kept as the manifest states them: nothing is inferred from other files
//! (whether an auto-detected `build.rs` exists is for the caller to say).
//!
//! Must not: do I/O, or panic on any input: a manifest that cannot be read is
//! a [`ManifestError`] value. Maps are `BTreeMap`s, so output order is stable.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Serialize, Serializer};
use toml::{Table, Value};

/// Why a manifest could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("Cargo.toml is not UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 { offset: usize },
    /// `line` is 1-based, when the parser names a place.
    #[error("Cargo.toml is not valid TOML{}: {message}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Toml { message: String, line: Option<usize> },
    #[error("Cargo.toml has no [package] table")]
    NoPackage,
    #[error("Cargo.toml: `{key}` is missing or not a string")]
    Missing { key: &'static str },
    #[error("Cargo.toml: `{key}` should be {expected}")]
    WrongType { key: String, expected: &'static str },
}

/// The facts of one manifest.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    /// `None` when absent (cargo then uses 2015).
    pub edition: Option<String>,
    pub rust_version: Option<String>,
    pub build: Build,
    pub links: Option<String>,
    /// `lib.proc-macro` (or `lib.proc_macro`) is true.
    pub proc_macro: bool,
    /// Feature name to what it enables, as written.
    pub features: BTreeMap<String, Vec<String>>,
    /// Serialized as a list of objects, each the [`DepKey`] fields followed
    /// by the [`Dep`] fields.
    #[serde(serialize_with = "serialize_deps")]
    pub dependencies: BTreeMap<DepKey, Dep>,
    pub repository: Option<String>,
    pub homepage: Option<String>,
    pub documentation: Option<String>,
    pub license: Option<String>,
    pub license_file: Option<String>,
    pub readme: Option<String>,
}

/// `package.build` as the manifest states it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "path", rename_all = "kebab-case")]
pub enum Build {
    /// No `build` key: cargo runs `build.rs` if the package has one (newer
    /// cargo writes the resolved value on publish, older cargo did not).
    #[default]
    NotSet,
    /// `build = false`: no build script.
    Disabled,
    /// `build = true`: the default `build.rs`.
    Default,
    /// `build = "path"` (or a list of paths, joined with `, `).
    Script(String),
}

impl Build {
    /// The value as written in the manifest, `None` when absent.
    pub fn as_manifest_value(&self) -> Option<String> {
        match self {
            Build::NotSet => None,
            Build::Disabled => Some("false".to_owned()),
            Build::Default => Some("true".to_owned()),
            Build::Script(path) => Some(path.clone()),
        }
    }
}

/// The kind of a dependency table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DepKind {
    Normal,
    Dev,
    Build,
}

impl fmt::Display for DepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DepKind::Normal => "normal",
            DepKind::Dev => "dev",
            DepKind::Build => "build",
        })
    }
}

/// Where a dependency is declared: its table and the name the code uses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DepKey {
    pub kind: DepKind,
    /// The `target.<cfg or triple>` it is under, e.g. `cfg(unix)`.
    pub target: Option<String>,
    /// The key in the table (the name the code uses).
    pub name: String,
}

/// One dependency as declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dep {
    /// `package = "..."`: the real crate when the key renames it.
    pub package: Option<String>,
    /// The version requirement; `None` when absent.
    pub req: Option<String>,
    /// Features enabled, as written.
    pub features: Vec<String>,
    pub optional: bool,
    pub default_features: bool,
    /// `registry`, or `registry-index` (which normalised manifests use).
    pub registry: Option<String>,
    /// `git` URL, with `?branch=`, `?tag=` or `?rev=` when given.
    pub git: Option<String>,
    pub path: Option<String>,
}

impl Default for Dep {
    fn default() -> Self {
        Dep {
            package: None,
            req: None,
            features: Vec::new(),
            optional: false,
            default_features: true,
            registry: None,
            git: None,
            path: None,
        }
    }
}

impl Dep {
    /// The crate this resolves to: `package` when renamed, else the key.
    pub fn crate_name<'a>(&'a self, key: &'a DepKey) -> &'a str {
        self.package.as_deref().unwrap_or(&key.name)
    }
}

/// A dependency with where it is declared, as listed in a delta.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepEntry {
    #[serde(flatten)]
    pub key: DepKey,
    #[serde(flatten)]
    pub dep: Dep,
}

/// Parses a `Cargo.toml`.
pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ManifestError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let root: Table = toml::from_str(text).map_err(|e| ManifestError::Toml {
        message: e.message().trim_end().to_owned(),
        line: e.span().map(|span| {
            let end = span.start.min(text.len());
            text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
        }),
    })?;
    let package = match root.get("package").or_else(|| root.get("project")) {
        Some(Value::Table(t)) => t,
        Some(_) => {
            return Err(ManifestError::WrongType {
                key: "package".to_owned(),
                expected: "a table",
            });
        }
        None => return Err(ManifestError::NoPackage),
    };
    let required = |key: &'static str| match package.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(ManifestError::Missing { key }),
    };
    let text_of = |key: &str| package.get(key).map(value_text);
    let mut manifest = Manifest {
        name: required("name")?,
        version: required("version")?,
        edition: text_of("edition"),
        rust_version: text_of("rust-version").or_else(|| text_of("rust_version")),
        build: build(package.get("build")),
        links: text_of("links"),
        proc_macro: false,
        features: BTreeMap::new(),
        dependencies: BTreeMap::new(),
        repository: text_of("repository"),
        homepage: text_of("homepage"),
        documentation: text_of("documentation"),
        license: text_of("license"),
        license_file: text_of("license-file").or_else(|| text_of("license_file")),
        readme: text_of("readme"),
    };
    if let Some(lib) = root.get("lib") {
        let lib = table(lib, "lib")?;
        manifest.proc_macro = ["proc-macro", "proc_macro"]
            .iter()
            .any(|k| matches!(lib.get(*k), Some(Value::Boolean(true))));
    }
    if let Some(features) = root.get("features") {
        for (name, enables) in table(features, "features")? {
            let enables = match enables {
                Value::Array(items) => items.iter().map(value_text).collect(),
                _ => {
                    return Err(ManifestError::WrongType {
                        key: format!("features.{name}"),
                        expected: "an array",
                    });
                }
            };
            manifest.features.insert(name.clone(), enables);
        }
    }
    read_dep_tables(&root, None, &mut manifest.dependencies)?;
    if let Some(targets) = root.get("target") {
        for (target, section) in table(targets, "target")? {
            let section = table(section, &format!("target.{target}"))?;
            read_dep_tables(section, Some(target), &mut manifest.dependencies)?;
        }
    }
    Ok(manifest)
}

/// The dependency tables of `section` (the root or one `target.X`). The `_`
/// spelling is read first so that the `-` one wins, as in cargo.
pub(crate) fn read_dep_tables(
    section: &Table,
    target: Option<&String>,
    out: &mut BTreeMap<DepKey, Dep>,
) -> Result<(), ManifestError> {
    const TABLES: [(&str, DepKind); 5] = [
        ("dependencies", DepKind::Normal),
        ("dev_dependencies", DepKind::Dev),
        ("dev-dependencies", DepKind::Dev),
        ("build_dependencies", DepKind::Build),
        ("build-dependencies", DepKind::Build),
    ];
    for (table_name, kind) in TABLES {
        let Some(deps) = section.get(table_name) else {
            continue;
        };
        let where_ = match target {
            Some(t) => format!("target.{t}.{table_name}"),
            None => table_name.to_owned(),
        };
        for (name, spec) in table(deps, &where_)? {
            let dep = dependency(spec, &format!("{where_}.{name}"))?;
            let key = DepKey {
                kind,
                target: target.cloned(),
                name: name.clone(),
            };
            out.insert(key, dep);
        }
    }
    Ok(())
}

fn dependency(spec: &Value, key: &str) -> Result<Dep, ManifestError> {
    let t = match spec {
        Value::String(req) => {
            return Ok(Dep {
                req: Some(req.clone()),
                ..Dep::default()
            });
        }
        Value::Table(t) => t,
        _ => {
            return Err(ManifestError::WrongType {
                key: key.to_owned(),
                expected: "a string or a table",
            });
        }
    };
    let text = |k: &str| t.get(k).map(value_text);
    let flag = |names: &[&str], default: bool| {
        names
            .iter()
            .find_map(|k| t.get(*k))
            .map(|v| match v {
                Value::Boolean(b) => *b,
                _ => default,
            })
            .unwrap_or(default)
    };
    let features = match t.get("features") {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(value_text).collect(),
        Some(other) => vec![value_text(other)],
    };
    let git = text("git").map(|url| {
        let reference = ["branch", "tag", "rev"]
            .iter()
            .find_map(|k| text(k).map(|v| format!("?{k}={v}")));
        url + reference.as_deref().unwrap_or_default()
    });
    Ok(Dep {
        package: text("package"),
        req: text("version"),
        features,
        optional: flag(&["optional"], false),
        default_features: flag(&["default-features", "default_features"], true),
        registry: text("registry").or_else(|| text("registry-index")),
        git,
        path: text("path"),
    })
}

pub(crate) fn build(value: Option<&Value>) -> Build {
    match value {
        None => Build::NotSet,
        Some(Value::Boolean(false)) => Build::Disabled,
        Some(Value::Boolean(true)) => Build::Default,
        Some(Value::Array(paths)) => Build::Script(paths.iter().map(value_text).collect::<Vec<_>>().join(", ")),
        Some(other) => Build::Script(value_text(other)),
    }
}

pub(crate) fn table<'a>(value: &'a Value, key: &str) -> Result<&'a Table, ManifestError> {
    match value {
        Value::Table(t) => Ok(t),
        _ => Err(ManifestError::WrongType {
            key: key.to_owned(),
            expected: "a table",
        }),
    }
}

/// A value as text: strings as they are, anything else as JSON (so an odd
/// `edition = 2018` or `license = { workspace = true }` is kept, not lost).
pub(crate) fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_else(|e| format!("<{e}>")),
    }
}

fn serialize_deps<S: Serializer>(deps: &BTreeMap<DepKey, Dep>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Entry<'a> {
        #[serde(flatten)]
        key: &'a DepKey,
        #[serde(flatten)]
        dep: &'a Dep,
    }
    s.collect_seq(deps.iter().map(|(key, dep)| Entry { key, dep }))
}

/// What changed between two manifests. Lists are in key order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ManifestDelta {
    pub dependencies_added: Vec<DepEntry>,
    pub dependencies_removed: Vec<DepEntry>,
    /// Ordered by kind, then name.
    pub dependencies_changed: Vec<DepChange>,
    pub features_added: Vec<Feature>,
    pub features_removed: Vec<Feature>,
    pub features_changed: Vec<FeatureChange>,
    /// Changes of `build`, `links`, `proc-macro`, `edition`, `rust-version`
    /// and the package metadata strings, in [`Field`] order.
    pub fields: Vec<FieldChange>,
}

impl ManifestDelta {
    pub fn is_empty(&self) -> bool {
        *self == ManifestDelta::default()
    }
}

/// A dependency declared in both manifests, differently. Also a dependency
/// that moved to another `target` (same kind and name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepChange {
    pub kind: DepKind,
    pub name: String,
    pub old_target: Option<String>,
    pub new_target: Option<String>,
    pub old: Dep,
    pub new: Dep,
    /// Which parts changed, in [`DepField`] order.
    pub changed: Vec<DepField>,
    /// Features enabled now and not before.
    pub features_added: Vec<String>,
    /// Features enabled before and not now.
    pub features_removed: Vec<String>,
}

/// A part of a dependency declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DepField {
    Target,
    /// `package`: what the key is renamed from.
    Package,
    Req,
    Features,
    Optional,
    DefaultFeatures,
    Registry,
    Git,
    Path,
}

/// A feature and what it enables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Feature {
    pub name: String,
    pub enables: Vec<String>,
}

/// A feature whose list changed (compared as sets; order alone is no change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeatureChange {
    pub name: String,
    pub old: Vec<String>,
    pub new: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// A package-level setting of the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    Build,
    Links,
    ProcMacro,
    Edition,
    RustVersion,
    Repository,
    Homepage,
    Documentation,
    License,
    LicenseFile,
    Readme,
}

impl Field {
    /// The key as written in `Cargo.toml`.
    pub fn key(self) -> &'static str {
        match self {
            Field::Build => "build",
            Field::Links => "links",
            Field::ProcMacro => "proc-macro",
            Field::Edition => "edition",
            Field::RustVersion => "rust-version",
            Field::Repository => "repository",
            Field::Homepage => "homepage",
            Field::Documentation => "documentation",
            Field::License => "license",
            Field::LicenseFile => "license-file",
            Field::Readme => "readme",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A setting's value before and after, as written in the manifest (`None`:
/// absent). `build` is `false`, `true` or the path; `proc-macro` is `true` or
/// `false`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: Field,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What changed from `old` to `new`. Without an `old` (a first release),
/// everything `new` declares is listed as added.
pub fn diff(old: Option<&Manifest>, new: &Manifest) -> ManifestDelta {
    let empty = Manifest::default();
    let old = old.unwrap_or(&empty);
    let mut delta = ManifestDelta::default();

    let mut removed: Vec<(&DepKey, &Dep)> = Vec::new();
    for (key, dep) in &old.dependencies {
        match new.dependencies.get(key) {
            None => removed.push((key, dep)),
            Some(now) if now != dep => delta.dependencies_changed.push(dep_change(key, dep, key, now)),
            Some(_) => {}
        }
    }
    let mut added: Vec<(&DepKey, &Dep)> = new
        .dependencies
        .iter()
        .filter(|(key, _)| !old.dependencies.contains_key(*key))
        .collect();
    // A dependency that moved between targets is a change, not a removal and
    // an addition: pair them by kind and name, in key order.
    removed.retain(|(old_key, old_dep)| {
        let moved = added
            .iter()
            .position(|(k, _)| k.kind == old_key.kind && k.name == old_key.name);
        match moved {
            Some(i) => {
                let (new_key, new_dep) = added.remove(i);
                delta
                    .dependencies_changed
                    .push(dep_change(old_key, old_dep, new_key, new_dep));
                false
            }
            None => true,
        }
    });
    delta.dependencies_changed.sort_by(|a, b| {
        (a.kind, &a.name, &a.old_target, &a.new_target).cmp(&(b.kind, &b.name, &b.old_target, &b.new_target))
    });
    let entry = |(key, dep): (&DepKey, &Dep)| DepEntry {
        key: key.clone(),
        dep: dep.clone(),
    };
    delta.dependencies_removed = removed.into_iter().map(entry).collect();
    delta.dependencies_added = added.into_iter().map(entry).collect();

    for (name, enables) in &old.features {
        match new.features.get(name) {
            None => delta.features_removed.push(Feature {
                name: name.clone(),
                enables: enables.clone(),
            }),
            Some(now) => {
                let (added, removed) = set_delta(enables, now);
                if !added.is_empty() || !removed.is_empty() {
                    delta.features_changed.push(FeatureChange {
                        name: name.clone(),
                        old: enables.clone(),
                        new: now.clone(),
                        added,
                        removed,
                    });
                }
            }
        }
    }
    for (name, enables) in &new.features {
        if !old.features.contains_key(name) {
            delta.features_added.push(Feature {
                name: name.clone(),
                enables: enables.clone(),
            });
        }
    }

    let flag = |b: bool| Some(b.to_string());
    let pairs = [
        (
            Field::Build,
            old.build.as_manifest_value(),
            new.build.as_manifest_value(),
        ),
        (Field::Links, old.links.clone(), new.links.clone()),
        (Field::ProcMacro, flag(old.proc_macro), flag(new.proc_macro)),
        (Field::Edition, old.edition.clone(), new.edition.clone()),
        (Field::RustVersion, old.rust_version.clone(), new.rust_version.clone()),
        (Field::Repository, old.repository.clone(), new.repository.clone()),
        (Field::Homepage, old.homepage.clone(), new.homepage.clone()),
        (
            Field::Documentation,
            old.documentation.clone(),
            new.documentation.clone(),
        ),
        (Field::License, old.license.clone(), new.license.clone()),
        (Field::LicenseFile, old.license_file.clone(), new.license_file.clone()),
        (Field::Readme, old.readme.clone(), new.readme.clone()),
    ];
    delta.fields = pairs
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(field, old, new)| FieldChange { field, old, new })
        .collect();
    delta
}

fn dep_change(old_key: &DepKey, old: &Dep, new_key: &DepKey, new: &Dep) -> DepChange {
    let (features_added, features_removed) = set_delta(&old.features, &new.features);
    let mut changed = Vec::new();
    let checks = [
        (DepField::Target, old_key.target != new_key.target),
        (DepField::Package, old.package != new.package),
        (DepField::Req, old.req != new.req),
        (
            DepField::Features,
            !features_added.is_empty() || !features_removed.is_empty(),
        ),
        (DepField::Optional, old.optional != new.optional),
        (DepField::DefaultFeatures, old.default_features != new.default_features),
        (DepField::Registry, old.registry != new.registry),
        (DepField::Git, old.git != new.git),
        (DepField::Path, old.path != new.path),
    ];
    for (field, differs) in checks {
        if differs {
            changed.push(field);
        }
    }
    DepChange {
        kind: new_key.kind,
        name: new_key.name.clone(),
        old_target: old_key.target.clone(),
        new_target: new_key.target.clone(),
        old: old.clone(),
        new: new.clone(),
        changed,
        features_added,
        features_removed,
    }
}

/// Items of `new` not in `old`, and of `old` not in `new`, sorted.
fn set_delta(old: &[String], new: &[String]) -> (Vec<String>, Vec<String>) {
    let old: BTreeSet<&String> = old.iter().collect();
    let new: BTreeSet<&String> = new.iter().collect();
    (
        new.difference(&old).map(|s| (*s).clone()).collect(),
        old.difference(&new).map(|s| (*s).clone()).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kind: DepKind, target: Option<&str>, name: &str) -> DepKey {
        DepKey {
            kind,
            target: target.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    fn parsed(text: &str) -> Manifest {
        match parse(text.as_bytes()) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        }
    }

    const NORMALISED: &str = r#"
[package]
edition = "2021"
rust-version = "1.70"
name = "demo"
version = "1.2.3"
build = "build.rs"
links = "z"
readme = "README.md"
license = "MIT"
repository = "https://example.invalid/demo"

[lib]
name = "demo"
path = "src/lib.rs"
proc-macro = true

[features]
default = ["std"]
std = ["serde/std"]

[dependencies.serde]
version = "1.0.100"
features = ["derive"]
default-features = false

[dependencies.rand_core]
version = "0.6"
optional = true
package = "rand_core_fork"

[dependencies.private]
version = "1"
registry-index = "sparse+https://example.invalid/index/"

[dev-dependencies.proptest]
version = "1"

[build-dependencies.cc]
version = "1.0"

[target.'cfg(unix)'.dependencies.libc]
version = "0.2"

[target.x86_64-pc-windows-msvc.build-dependencies]
winres = "0.1"
"#;

    #[test]
    fn normalised_manifest() {
        let m = parsed(NORMALISED);
        assert_eq!(m.name, "demo");
        assert_eq!(m.version, "1.2.3");
        assert_eq!(m.edition.as_deref(), Some("2021"));
        assert_eq!(m.rust_version.as_deref(), Some("1.70"));
        assert_eq!(m.build, Build::Script("build.rs".into()));
        assert_eq!(m.links.as_deref(), Some("z"));
        assert!(m.proc_macro);
        assert_eq!(m.features["std"], vec!["serde/std".to_owned()]);
        assert_eq!(m.license.as_deref(), Some("MIT"));
        let keys: Vec<_> = m.dependencies.keys().cloned().collect();
        assert_eq!(
            keys,
            vec![
                key(DepKind::Normal, None, "private"),
                key(DepKind::Normal, None, "rand_core"),
                key(DepKind::Normal, None, "serde"),
                key(DepKind::Normal, Some("cfg(unix)"), "libc"),
                key(DepKind::Dev, None, "proptest"),
                key(DepKind::Build, None, "cc"),
                key(DepKind::Build, Some("x86_64-pc-windows-msvc"), "winres"),
            ]
        );
        let serde = &m.dependencies[&key(DepKind::Normal, None, "serde")];
        assert_eq!(serde.req.as_deref(), Some("1.0.100"));
        assert_eq!(serde.features, vec!["derive".to_owned()]);
        assert!(!serde.default_features);
        assert!(!serde.optional);
        let renamed_key = key(DepKind::Normal, None, "rand_core");
        let renamed = &m.dependencies[&renamed_key];
        assert_eq!(renamed.crate_name(&renamed_key), "rand_core_fork");
        assert!(renamed.optional);
        let private = &m.dependencies[&key(DepKind::Normal, None, "private")];
        assert_eq!(
            private.registry.as_deref(),
            Some("sparse+https://example.invalid/index/")
        );
        let winres = &m.dependencies[&key(DepKind::Build, Some("x86_64-pc-windows-msvc"), "winres")];
        assert_eq!(winres.req.as_deref(), Some("0.1"));
    }

    #[test]
    fn old_hand_written_manifest() {
        let m = parsed(
            r#"
[project]
name = "old"
version = "0.1.0"
build = false

[lib]
proc_macro = true

[dependencies]
log = "0.3"
bar = { git = "https://example.invalid/bar", branch = "dev", path = "../bar" }

[dev_dependencies]
quickcheck = "*"

[build_dependencies.gcc]
version = "0.3"
default_features = false

[target.'cfg(windows)'.dev-dependencies]
winapi = { version = "0.2", features = ["a", "b"] }
"#,
        );
        assert_eq!(m.build, Build::Disabled);
        assert!(m.proc_macro);
        assert_eq!(m.edition, None);
        let bar = &m.dependencies[&key(DepKind::Normal, None, "bar")];
        assert_eq!(bar.git.as_deref(), Some("https://example.invalid/bar?branch=dev"));
        assert_eq!(bar.path.as_deref(), Some("../bar"));
        assert_eq!(bar.req, None);
        assert!(m.dependencies.contains_key(&key(DepKind::Dev, None, "quickcheck")));
        let gcc = &m.dependencies[&key(DepKind::Build, None, "gcc")];
        assert!(!gcc.default_features);
        let winapi = &m.dependencies[&key(DepKind::Dev, Some("cfg(windows)"), "winapi")];
        assert_eq!(winapi.features, vec!["a".to_owned(), "b".to_owned()]);
    }

    #[test]
    fn build_forms() {
        let with = |b: &str| parsed(&format!("[package]\nname='x'\nversion='1.0.0'\n{b}\n")).build;
        assert_eq!(with(""), Build::NotSet);
        assert_eq!(with("build = true"), Build::Default);
        assert_eq!(with("build = false"), Build::Disabled);
        assert_eq!(with("build = 'gen.rs'"), Build::Script("gen.rs".into()));
    }

    #[test]
    fn errors_are_values() {
        assert_eq!(parse(b"\xff"), Err(ManifestError::NotUtf8 { offset: 0 }));
        assert!(matches!(parse(b"[package\nname = "), Err(ManifestError::Toml { .. })));
        assert!(matches!(
            parse(b"\x00\x01garbage = = ="),
            Err(ManifestError::Toml { .. })
        ));
        assert_eq!(parse(b"[lib]\n"), Err(ManifestError::NoPackage));
        assert_eq!(
            parse(b"package = 1\n"),
            Err(ManifestError::WrongType {
                key: "package".into(),
                expected: "a table"
            })
        );
        assert_eq!(
            parse(b"[package]\nname = 'x'\n"),
            Err(ManifestError::Missing { key: "version" })
        );
        assert!(matches!(
            parse(b"[package]\nname='x'\nversion='1'\n[dependencies]\nfoo = 3\n"),
            Err(ManifestError::WrongType { .. })
        ));
        // Deep nesting is refused by the parser, not a stack overflow.
        let deep = format!("[package]\nx = {}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn diff_dependencies() {
        let old = parsed(NORMALISED);
        let new_text = NORMALISED
            .replace(
                "version = \"1.0.100\"\nfeatures = [\"derive\"]",
                "version = \"1.0.200\"\nfeatures = [\"derive\", \"rc\"]",
            )
            .replace(
                "optional = true\npackage = \"rand_core_fork\"",
                "optional = false\npackage = \"rand_core\"",
            )
            .replace("[dev-dependencies.proptest]\nversion = \"1\"\n", "")
            .replace(
                "[target.'cfg(unix)'.dependencies.libc]",
                "[target.'cfg(any(unix, windows))'.dependencies.libc]",
            )
            + "\n[build-dependencies.evil]\nversion = \"0.0.1\"\n";
        let new = parsed(&new_text);
        let d = diff(Some(&old), &new);
        assert_eq!(d.dependencies_added.len(), 1);
        assert_eq!(d.dependencies_added[0].key, key(DepKind::Build, None, "evil"));
        assert_eq!(d.dependencies_removed.len(), 1);
        assert_eq!(d.dependencies_removed[0].key, key(DepKind::Dev, None, "proptest"));
        let changed: Vec<_> = d
            .dependencies_changed
            .iter()
            .map(|c| (c.name.as_str(), c.changed.clone()))
            .collect();
        assert_eq!(
            changed,
            vec![
                ("libc", vec![DepField::Target]),
                ("rand_core", vec![DepField::Package, DepField::Optional]),
                ("serde", vec![DepField::Req, DepField::Features]),
            ]
        );
        let serde = &d.dependencies_changed[2];
        assert_eq!(serde.features_added, vec!["rc".to_owned()]);
        assert!(serde.features_removed.is_empty());
        let libc = &d.dependencies_changed[0];
        assert_eq!(libc.old_target.as_deref(), Some("cfg(unix)"));
        assert_eq!(libc.new_target.as_deref(), Some("cfg(any(unix, windows))"));
        assert!(d.fields.is_empty());
        assert!(d.features_added.is_empty() && d.features_changed.is_empty());
    }

    #[test]
    fn diff_features_and_fields() {
        let old = parsed(NORMALISED);
        let new_text = NORMALISED
            .replace("edition = \"2021\"", "edition = \"2024\"")
            .replace("rust-version = \"1.70\"\n", "")
            .replace("build = \"build.rs\"", "build = false")
            .replace("links = \"z\"\n", "links = \"y\"\n")
            .replace("proc-macro = true", "proc-macro = false")
            .replace(
                "repository = \"https://example.invalid/demo\"",
                "repository = \"https://example.invalid/other\"",
            )
            .replace("default = [\"std\"]", "default = [\"std\", \"net\"]\nnet = []")
            .replace("std = [\"serde/std\"]\n", "");
        let new = parsed(&new_text);
        let d = diff(Some(&old), &new);
        let fields: Vec<_> = d
            .fields
            .iter()
            .map(|f| (f.field, f.old.as_deref(), f.new.as_deref()))
            .collect();
        assert_eq!(
            fields,
            vec![
                (Field::Build, Some("build.rs"), Some("false")),
                (Field::Links, Some("z"), Some("y")),
                (Field::ProcMacro, Some("true"), Some("false")),
                (Field::Edition, Some("2021"), Some("2024")),
                (Field::RustVersion, Some("1.70"), None),
                (
                    Field::Repository,
                    Some("https://example.invalid/demo"),
                    Some("https://example.invalid/other")
                ),
            ]
        );
        assert_eq!(
            d.features_added,
            vec![Feature {
                name: "net".into(),
                enables: vec![]
            }]
        );
        assert_eq!(d.features_removed.len(), 1);
        assert_eq!(d.features_removed[0].name, "std");
        assert_eq!(d.features_changed.len(), 1);
        assert_eq!(d.features_changed[0].added, vec!["net".to_owned()]);
        assert!(d.dependencies_changed.is_empty());
    }

    #[test]
    fn first_release_lists_everything() {
        let m = parsed(NORMALISED);
        let d = diff(None, &m);
        assert_eq!(d.dependencies_added.len(), m.dependencies.len());
        assert_eq!(d.features_added.len(), 2);
        assert!(d.fields.iter().any(|f| f.field == Field::Build && f.old.is_none()));
        assert!(diff(Some(&m), &m).is_empty());
    }

    #[test]
    fn serializes_dependencies_as_a_list() {
        let m = parsed(NORMALISED);
        let json = serde_json::to_value(&m).unwrap_or_default();
        let deps = json["dependencies"].as_array().cloned().unwrap_or_default();
        assert_eq!(deps.len(), 7);
        assert_eq!(deps[0]["kind"], "normal");
        assert_eq!(deps[0]["name"], "private");
        assert_eq!(json["build"], serde_json::json!({"kind": "script", "path": "build.rs"}));
    }
}
