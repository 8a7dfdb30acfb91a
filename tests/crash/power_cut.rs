//! Power cuts and full disks (BAD-INPUTS.md 31): the store as a power cut can
//! leave it — empty or corrupt loose objects, an empty, truncated or
//! half-written pack or pack index, a `packed-refs` naming objects that
//! never reached the disk — and a run whose writes fail because the disk is
//! full. The next `sync` must detect the damage, say so, move the damaged
//! files aside (never delete them), store the versions concerned again —
//! from their stored `.crate` when it is intact — and end exactly like an
//! uninterrupted run: `git fsck --strict` clean, the same refs, byte-identical
//! reports (the checks of [`Fixture::check`]).
//!
//! A full disk is simulated with `RLIMIT_FSIZE` (`ulimit -f`, with `SIGXFSZ`
//! ignored so that the write fails instead of the process being killed): a
//! write past the limit fails with `EFBIG` ("File too large"), which reaches
//! cargofox's code exactly as `ENOSPC` would — an `io::Error` from
//! `write(2)`, in the pack writer, in a report write or in the `git` it runs
//! for the audit repository — and needs no privileges or special mount.
//! (A tiny tmpfs would give a real `ENOSPC`, but mounting one needs root or
//! user namespaces, which CI machines do not promise.)

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{CRATES, Fixture, VERSIONS, fsck, names};
use crate::harness::{Fault, git, temp_dir};

/// The store's directory of packs.
fn pack_dir(data: &Path) -> PathBuf {
    data.join("store.git/objects/pack")
}

/// The object a revision names in the store.
fn rev(data: &Path, spec: &str) -> String {
    git(&data.join("store.git"), &["rev-parse", spec]).trim().to_owned()
}

/// The index of the pack holding `id` (its binary id appears in the index's
/// sorted id table).
fn pack_holding(data: &Path, id: &str) -> PathBuf {
    let raw: Vec<u8> = (0..id.len() / 2)
        .map(|i| u8::from_str_radix(&id[2 * i..2 * i + 2], 16).expect("hex id"))
        .collect();
    let mut hits: Vec<PathBuf> = names(&pack_dir(data))
        .into_iter()
        .filter(|n| n.ends_with(".idx"))
        .map(|n| pack_dir(data).join(n))
        .filter(|p| {
            std::fs::read(p)
                .expect("read idx")
                .windows(raw.len())
                .any(|w| w == raw.as_slice())
        })
        .collect();
    assert_eq!(hits.len(), 1, "{id} is in {} packs", hits.len());
    hits.remove(0)
}

/// Turn every pack of the store into loose objects, as a store written by
/// loose-object tools looks.
fn explode_packs(data: &Path) {
    let store = data.join("store.git");
    let aside = temp_dir();
    for name in names(&pack_dir(data)) {
        std::fs::rename(pack_dir(data).join(&name), aside.path().join(&name)).expect("move pack");
    }
    for name in names(aside.path()).into_iter().filter(|n| n.ends_with(".pack")) {
        let status = Command::new("git")
            .args(["unpack-objects", "-q"])
            .current_dir(&store)
            .env("GIT_DIR", &store)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", aside.path())
            .stdin(std::fs::File::open(aside.path().join(&name)).expect("open pack"))
            .status()
            .expect("run git unpack-objects");
        assert!(status.success(), "git unpack-objects {name}: {status}");
    }
}

/// The file of a loose object.
fn loose(data: &Path, id: &str) -> PathBuf {
    data.join("store.git/objects").join(&id[..2]).join(&id[2..])
}

fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(len))
        .unwrap_or_else(|e| panic!("truncate {}: {e}", path.display()));
}

fn quarantined(data: &Path) -> usize {
    let dir = data.join("store.git/cargofox-damaged");
    names(&dir).iter().map(|run| names(&dir.join(run)).len()).sum()
}

/// Objects that lost their content in a power cut (empty loose files): a
/// version's commit, another's tree, a file of a third. The registry now
/// refuses every download, so the versions can only come back from the
/// `.crate` blobs the store kept — and they do, with the same commit ids.
#[test]
fn zero_length_objects_after_a_power_cut_are_rebuilt_from_the_stored_crate() {
    let f = Fixture::new();
    let data = temp_dir();
    let data = data.path();
    f.sync(data).run().assert_success();
    explode_packs(data);
    let victims = [
        rev(data, "refs/crates/crasha/0.5.0"),
        rev(data, "refs/crates/crashb/0.3.0^{tree}"),
        // The module file of release 7 exists only in that release.
        rev(data, "refs/crates/crashc/0.7.0:src/m1.rs"),
    ];
    for id in &victims {
        truncate(&loose(data, id), 0);
    }
    for name in CRATES {
        for i in 0..VERSIONS {
            f.server
                .fault(&f.server.dl_path(name, &format!("0.{i}.0")), Fault::status(403));
        }
    }
    f.server.clear_requests();

    let rerun = f.sync(data).run();
    rerun
        .assert_success()
        .assert_stdout_contains("STORE DAMAGE: loose object")
        .assert_stdout_contains("rebuilt from its stored .crate")
        // The file of release 7 is shared by the 0.7.0 of each crate; the
        // child of the lost commit goes too: 6 versions in all.
        .assert_stdout_contains("crasha: 3 added, 9 already stored, 0 failed, 3 rebuilt from the stored .crate")
        .assert_stdout_contains("crashb: 2 added, 10 already stored, 0 failed, 2 rebuilt from the stored .crate")
        .assert_stdout_contains("crashc: 1 added, 11 already stored, 0 failed, 1 rebuilt from the stored .crate");
    for id in &victims {
        assert!(rerun.stdout.contains(id.as_str()), "{id} not named\n{rerun}");
    }
    assert!(
        f.server.downloads().is_empty(),
        "downloaded: {:?}",
        f.server.downloads()
    );
    assert!(!rerun.stdout.contains("audit: committed"), "reports changed\n{rerun}");
    assert_eq!(quarantined(data), victims.len(), "damaged files are kept aside");
    let problems = f.check(data);
    assert!(problems.is_empty(), "{problems:#?}\n{rerun}");

    // Repaired for good: the next run finds nothing.
    let again = f.sync(data).run();
    again.assert_success().assert_stdout_contains("0 versions added");
    assert!(!again.stdout.contains("STORE DAMAGE"), "{again}");
}

/// Packs as a power cut (or a disk that lied about a flush) can leave them,
/// each in a fresh data directory: every version its own pack
/// (`--flush-mib 0`), so one lost pack takes a version's commit, tree,
/// archive and new files with it — and later versions share some of those
/// files. The rerun downloads what it lost and ends as if nothing happened.
#[test]
fn damaged_packs_and_refs_to_lost_objects_are_detected_and_stored_again() {
    type Damage = Box<dyn Fn(&Path)>;
    let idx_of = |spec: &'static str| move |data: &Path| pack_holding(data, &rev(data, spec));
    let scenarios: Vec<(&str, Damage)> = vec![
        (
            "the newest pack never reached the disk, packed-refs did",
            Box::new(move |d| {
                let idx = idx_of("refs/crates/crashc/0.11.0")(d);
                std::fs::remove_file(idx.with_extension("pack")).expect("rm pack");
                std::fs::remove_file(&idx).expect("rm idx");
            }),
        ),
        (
            "a pack truncated to zero",
            Box::new(move |d| truncate(&idx_of("refs/crates/crashb/0.4.0")(d).with_extension("pack"), 0)),
        ),
        (
            "a half-written pack",
            Box::new(move |d| {
                let pack = idx_of("refs/crates/crasha/0.2.0")(d).with_extension("pack");
                let len = std::fs::metadata(&pack).expect("stat").len();
                truncate(&pack, len / 2);
            }),
        ),
        (
            "a half-written pack index",
            Box::new(move |d| {
                let idx = idx_of("refs/crates/crashc/0.6.0")(d);
                let len = std::fs::metadata(&idx).expect("stat").len();
                truncate(&idx, len / 2);
            }),
        ),
        (
            "an empty pack index, and the first version's pack zeroed",
            Box::new(move |d| {
                truncate(&idx_of("refs/crates/crasha/0.9.0")(d), 0);
                let pack = idx_of("refs/crates/crashb/0.0.0")(d).with_extension("pack");
                let len = std::fs::metadata(&pack).expect("stat").len();
                std::fs::write(&pack, vec![0u8; len as usize]).expect("zero the pack");
            }),
        ),
    ];
    let f = Fixture::new();
    let mut problems = Vec::new();
    for (label, damage) in &scenarios {
        let data = temp_dir();
        let data = data.path();
        f.sync(data).run().assert_success();
        damage(data);
        let rerun = f.sync(data).run();
        if rerun.code != Some(0) || !rerun.stdout.contains("STORE DAMAGE: ") {
            problems.push(format!("{label}: the rerun did not repair the store\n{rerun}"));
            continue;
        }
        if quarantined(data) == 0 && !label.contains("never reached") {
            problems.push(format!("{label}: nothing moved aside\n{rerun}"));
        }
        problems.extend(f.check(data).into_iter().map(|p| format!("{label}: {p}\n{rerun}")));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A full disk: every write past a size limit fails. Limits from a few KiB
/// (the first pack fails) to more than a pack (a report or the audit commit
/// fails). The failing run must stop with an error naming the cause (exit
/// 2), leave the store `fsck`-clean, and a rerun with space again must end
/// exactly like an uninterrupted run.
#[test]
fn a_sync_that_runs_out_of_space_fails_cleanly_and_the_rerun_completes() {
    let f = Fixture::new();
    let mut failed = 0;
    let mut problems = Vec::new();
    // In the shell's `ulimit -f` unit (512 or 1024 bytes, by shell).
    // (limit, --flush-mib): one pack for the whole run is the largest file,
    // so a limit under it fails while storing; with a pack per version,
    // the reports are the largest files and fail first.
    let limits = [(4u32, "256"), (16, "256"), (48, "256"), (10, "0"), (16, "0")];
    let mut stages = std::collections::BTreeSet::new();
    for (limit, flush) in limits {
        let data = temp_dir();
        let data = data.path();
        let logs = temp_dir();
        // The default flush size: one pack for the whole run, so its size
        // grows past the limit while versions are stored.
        let cmd = f.sync_flushing(data, flush).command();
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(format!("trap '' XFSZ; ulimit -f {limit} && exec \"$0\" \"$@\""))
            .arg(cmd.get_program())
            .args(cmd.get_args())
            .env_clear()
            .envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", logs.path())
            .current_dir(logs.path())
            .stdin(Stdio::null());
        let out = sh.output().expect("run cargofox under ulimit -f");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => {}
            Some(2) => {
                failed += 1;
                for stage in ["writing to the store", "writing the reports"] {
                    if stderr.contains(stage) {
                        stages.insert(stage);
                    }
                }
                if !stderr.contains("File too large") {
                    problems.push(format!(
                        "limit {limit}: the error does not name the cause\n{stdout}\n{stderr}"
                    ));
                }
                if data.join("store.git").exists() {
                    // A store that got no ref yet makes git say so.
                    problems.extend(
                        fsck(&data.join("store.git"), &[])
                            .into_iter()
                            .filter(|p| !p.ends_with("notice: No default references")),
                    );
                }
            }
            other => problems.push(format!("limit {limit}: exit {other:?}\n{stdout}\n{stderr}")),
        }
        let rerun = f.sync(data).run();
        if rerun.code != Some(0) {
            problems.push(format!("limit {limit}: the rerun failed\n{rerun}"));
            continue;
        }
        problems.extend(f.check(data).into_iter().map(|p| format!("limit {limit}: {p}")));
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        failed,
        limits.len(),
        "not every run ran out of space: the limits are too generous to test anything"
    );
    assert_eq!(stages.len(), 2, "the full disk was met only while {stages:?}");
}
