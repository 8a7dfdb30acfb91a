//! What a release's code adds to the previous release's, and the code
//! signals drawn from it.
//!
//! Owns: [`CodeDelta`] (per kind and role: the counts before and after and
//! the occurrences that are new), and [`signals`] with their codes
//! ([`CODE_SIGNALS`], documented in docs/SIGNALS-CODE.md).
//!
//! A finding is matched across releases by its kind, its role and its
//! detail (the resolved callee, the variable, the encoding, ...), never by
//! its line, which moves with every edit. A key whose count grows is new;
//! its new occurrences are those whose file and source line (snippet) do not
//! match an occurrence of the same key in the previous release. A first
//! release adds everything it has.
//!
//! Must not: put crate text in a summary. Summaries are built from counts
//! and fixed words; crate text (paths, snippets, details) goes only into
//! evidence values, which the report escapes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::FactKind;
use super::release::{BinaryFile, CodeFacts, Located, MAX_SHOWN, Role};
use crate::signals::{Evidence, Signal};

/// Every code signal, with its one-line meaning.
pub const CODE_SIGNALS: &[(&str, &str)] = &[
    (
        "build-script-runs-process",
        "the build script gained a call that starts a program",
    ),
    ("build-script-uses-network", "the build script gained network use"),
    (
        "proc-macro-runs-process",
        "the proc-macro crate gained a call that starts a program",
    ),
    ("proc-macro-uses-network", "the proc-macro crate gained network use"),
    (
        "process-added",
        "library or binary code gained a call that starts a program",
    ),
    ("network-added", "library or binary code gained network use"),
    (
        "env-gated-code",
        "a function that branches on an environment variable and starts a program or uses the network was added",
    ),
    (
        "unsafe-added",
        "there is more unsafe code outside tests than in the previous release",
    ),
    (
        "ffi-added",
        "foreign functions, exported symbols, linker sections, constructors or assembly were added",
    ),
    (
        "encoded-payload",
        "a literal or byte array that looks like encoded data was added",
    ),
    (
        "binary-executable",
        "a prebuilt executable, library, object or bytecode file was added",
    ),
    ("bidi-control-character", "a bidirectional control character was added"),
    (
        "invisible-character",
        "a zero-width or other invisible character was added",
    ),
    (
        "confusable-identifier",
        "an identifier with look-alike letters was added",
    ),
];

/// Evidence items kept per signal.
const MAX_EVIDENCE: usize = 20;

/// Findings of one kind and role that grew.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindChange {
    pub kind: FactKind,
    pub role: Role,
    /// Findings of this kind and role in the previous release (complete
    /// count; 0 for a first release).
    pub before: u64,
    /// In this release.
    pub after: u64,
    /// New or changed occurrences, by path and line, at most
    /// [`MAX_SHOWN`].
    pub new: Vec<Located>,
    /// How many there are in all.
    pub new_total: u64,
}

/// What this release's code adds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeDelta {
    pub has_previous: bool,
    /// `unsafe` blocks, fns, impls and traits outside tests, before and after.
    pub unsafe_before: u64,
    pub unsafe_after: u64,
    /// Kinds and roles with new occurrences, in kind then role order.
    pub changes: Vec<KindChange>,
    /// Binary files (by magic number) added or changed.
    pub binaries_added: Vec<BinaryFile>,
}

impl CodeDelta {
    /// The change for a kind and role, if any.
    pub fn change(&self, kind: FactKind, role: Role) -> Option<&KindChange> {
        self.changes.iter().find(|c| c.kind == kind && c.role == role)
    }
}

type Key = (FactKind, Role, String);

fn by_key(facts: &CodeFacts) -> BTreeMap<Key, Vec<Located>> {
    let mut out: BTreeMap<Key, Vec<Located>> = BTreeMap::new();
    for (kind, l) in facts.all_findings() {
        out.entry((kind, l.role, l.detail.clone())).or_default().push(l);
    }
    out
}

fn role_count(facts: Option<&CodeFacts>, kind: FactKind, role: Role) -> u64 {
    facts
        .and_then(|f| f.kind(kind))
        .and_then(|k| k.by_role.get(&role).copied())
        .unwrap_or(0)
}

/// What `new` adds to `old` (everything, when there is no `old`).
pub fn delta(old: Option<&CodeFacts>, new: &CodeFacts) -> CodeDelta {
    let old_keys = old.map(by_key).unwrap_or_default();
    let mut grouped: BTreeMap<(FactKind, Role), Vec<Located>> = BTreeMap::new();
    for (key, news) in by_key(new) {
        let olds = old_keys.get(&key).map_or(&[][..], Vec::as_slice);
        if news.len() <= olds.len() {
            continue;
        }
        let mut pool: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for o in olds {
            *pool.entry((o.path.as_str(), o.snippet.as_str())).or_default() += 1;
        }
        let mut unmatched: Vec<Located> = Vec::new();
        for n in &news {
            match pool.get_mut(&(n.path.as_str(), n.snippet.as_str())) {
                Some(c) if *c > 0 => *c -= 1,
                _ => unmatched.push(n.clone()),
            }
        }
        if unmatched.is_empty() {
            // Same lines in the same files, only more of them.
            let growth = news.len() - olds.len();
            unmatched = news[news.len() - growth..].to_vec();
        }
        grouped.entry((key.0, key.1)).or_default().extend(unmatched);
    }
    let changes = grouped
        .into_iter()
        .map(|((kind, role), mut new_items)| {
            new_items.sort();
            let new_total = new_items.len() as u64;
            new_items.truncate(MAX_SHOWN);
            KindChange {
                kind,
                role,
                before: role_count(old, kind, role),
                after: role_count(Some(new), kind, role),
                new: new_items,
                new_total,
            }
        })
        .collect();
    let old_bins: BTreeSet<(&str, &str)> = old
        .map(|o| o.binaries.iter().map(|b| (b.path.as_str(), b.id.as_str())).collect())
        .unwrap_or_default();
    let binaries_added = new
        .binaries
        .iter()
        .filter(|b| !old_bins.contains(&(b.path.as_str(), b.id.as_str())))
        .cloned()
        .collect();
    CodeDelta {
        has_previous: old.is_some(),
        unsafe_before: old.map_or(0, |o| o.unsafe_total),
        unsafe_after: new.unsafe_total,
        changes,
        binaries_added,
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn evidence(items: &[&Located]) -> Vec<Evidence> {
    let mut out: Vec<Evidence> = items
        .iter()
        .take(MAX_EVIDENCE)
        .map(|l| {
            let mut value = format!("{}:{} {}", l.path, l.line, l.snippet);
            if !l.detail.is_empty() && !l.snippet.contains(&l.detail) && l.detail != "block" {
                value.push_str(&format!(" [{}]", l.detail));
            }
            Evidence { fact: "code", value }
        })
        .collect();
    if items.len() > MAX_EVIDENCE {
        out.push(Evidence {
            fact: "more",
            value: format!("{} more", items.len() - MAX_EVIDENCE),
        });
    }
    out
}

/// New occurrences of the kinds and roles, and their total count.
fn added<'a>(d: &'a CodeDelta, kind: impl Fn(FactKind) -> bool, roles: &[Role]) -> (u64, Vec<&'a Located>) {
    let mut n = 0;
    let mut items = Vec::new();
    for c in d.changes.iter().filter(|c| kind(c.kind) && roles.contains(&c.role)) {
        n += c.new_total;
        items.extend(c.new.iter());
    }
    items.sort();
    (n, items)
}

use crate::signals::signal;

/// The code signals, in the order of [`CODE_SIGNALS`].
pub fn signals(facts: &CodeFacts, d: &CodeDelta) -> Vec<Signal> {
    use FactKind as K;
    use Role::{Build, Code, Data, Test};
    let mut out = Vec::new();
    let all = [Build, Code, Test, Data];
    let mut raise = |code: &'static str, (n, items): (u64, Vec<&Located>), summary: &dyn Fn(u64) -> String| {
        if n > 0 {
            out.push(signal(code, summary(n), evidence(&items)));
        }
    };
    raise(
        "build-script-runs-process",
        added(d, |k| k == K::Process, &[Build]),
        &|n| {
            format!(
                "the build script gained {}; it runs on every machine that builds this crate",
                plural(n, "call that starts a program", "calls that start a program")
            )
        },
    );
    raise(
        "build-script-uses-network",
        added(d, |k| k == K::Network, &[Build]),
        &|n| {
            format!(
                "the build script gained {}: building this crate can download or send data",
                plural(n, "network use", "network uses")
            )
        },
    );
    let pm = facts.proc_macro;
    let code_if = |want: bool| if want { vec![Code] } else { Vec::new() };
    raise(
        "proc-macro-runs-process",
        added(d, |k| k == K::Process, &code_if(pm)),
        &|n| {
            format!(
                "this proc-macro crate gained {}; it runs inside the compiler of every dependent",
                plural(n, "call that starts a program", "calls that start a program")
            )
        },
    );
    raise(
        "proc-macro-uses-network",
        added(d, |k| k == K::Network, &code_if(pm)),
        &|n| {
            format!(
                "this proc-macro crate gained {}; it runs inside the compiler of every dependent",
                plural(n, "network use", "network uses")
            )
        },
    );
    raise("process-added", added(d, |k| k == K::Process, &code_if(!pm)), &|n| {
        format!(
            "{} added to library or binary code",
            plural(n, "call that starts a program", "calls that start a program")
        )
    });
    raise("network-added", added(d, |k| k == K::Network, &code_if(!pm)), &|n| {
        format!(
            "{} added to library or binary code",
            plural(n, "network use", "network uses")
        )
    });
    raise("env-gated-code", added(d, |k| k == K::EnvGated, &[Build, Code]), &|n| {
        format!(
            "{}: code that can behave differently on CI or on a chosen machine",
            plural(
                n,
                "function that branches on an environment variable and starts a program or uses the network",
                "functions that branch on an environment variable and start a program or use the network"
            )
        )
    });
    if d.unsafe_after > d.unsafe_before {
        let (_, items) = added(d, FactKind::is_unsafe, &[Build, Code]);
        let (before, after) = (d.unsafe_before, d.unsafe_after);
        out.push(signal(
            "unsafe-added",
            format!(
                "unsafe code outside tests grew from {before} to {after} (+{}): blocks, functions, impls and traits the compiler does not check",
                after - before
            ),
            evidence(&items),
        ));
    }
    let mut raise = |code: &'static str, (n, items): (u64, Vec<&Located>), summary: &dyn Fn(u64) -> String| {
        if n > 0 {
            out.push(signal(code, summary(n), evidence(&items)));
        }
    };
    raise("ffi-added", added(d, FactKind::is_ffi, &[Build, Code]), &|n| {
        format!(
            "{} added: foreign functions, exported symbols, linker sections, constructors or assembly, outside Rust's checks",
            plural(n, "item", "items")
        )
    });
    let payload = added(d, |k| k == K::EncodedPayload, &[Build, Code]);
    let decodes = payload.1.iter().filter(|l| l.detail.contains("starts like")).count();
    raise("encoded-payload", payload, &|n| {
        format!(
            "{} like encoded data added ({decodes} start like a known file format): content a reviewer cannot read",
            plural(
                n,
                "literal or byte array that looks",
                "literals or byte arrays that look"
            )
        )
    });
    let bins: Vec<&BinaryFile> = d.binaries_added.iter().filter(|b| b.magic.is_executable()).collect();
    if !bins.is_empty() {
        let n = bins.len() as u64;
        let mut ev: Vec<Evidence> = bins
            .iter()
            .take(MAX_EVIDENCE)
            .map(|b| Evidence {
                fact: "file",
                value: format!("{} ({}, {} bytes)", b.path, b.magic.name(), b.size),
            })
            .collect();
        for b in &bins {
            ev.extend(b.included_by.iter().take(5).map(|site| Evidence {
                fact: "code",
                value: format!("{site} includes {}", b.path),
            }));
        }
        out.push(signal(
            "binary-executable",
            format!(
                "{} added: a prebuilt executable, library, object or bytecode file cannot be reviewed and may be linked or run",
                plural(n, "binary file", "binary files")
            ),
            ev,
        ));
    }
    let mut raise = |code: &'static str, (n, items): (u64, Vec<&Located>), summary: &dyn Fn(u64) -> String| {
        if n > 0 {
            out.push(signal(code, summary(n), evidence(&items)));
        }
    };
    raise(
        "bidi-control-character",
        added(d, |k| k == K::BidiControl, &all),
        &|n| {
            format!(
                "{} added: text can display in a different order than the compiler reads it",
                plural(n, "bidirectional control character", "bidirectional control characters")
            )
        },
    );
    raise(
        "invisible-character",
        added(d, |k| k == K::InvisibleCharacter, &all),
        &|n| {
            format!(
                "{} added: text that looks the same can differ",
                plural(n, "invisible character", "invisible characters")
            )
        },
    );
    raise(
        "confusable-identifier",
        added(d, |k| k == K::ConfusableIdentifier, &all),
        &|n| {
            format!(
                "{} with look-alike letters added: two names that look the same can be different",
                plural(n, "identifier", "identifiers")
            )
        },
    );
    out
}
