//! The git helpers: isolated runs, errors with stderr, and reference tree ids
//! that take file bytes and modes literally (checked against `git mktree`).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::harness::{git, git_bytes, git_write_tree_of, temp_dir};

/// `git args` in `repo` with `input` on stdin; trimmed stdout.
fn git_stdin(repo: &Path, args: &[&str], input: &[u8]) -> String {
    let mut child = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The tree of `entries` (`mode`, `name`, content) built object by object.
fn mktree(repo: &Path, entries: &[(&str, &str, &[u8])]) -> String {
    let listing: String = entries
        .iter()
        .map(|(mode, name, content)| {
            let id = git_stdin(repo, &["hash-object", "-w", "--stdin"], content);
            format!("{mode} blob {id}\t{name}\n")
        })
        .collect();
    git_stdin(repo, &["mktree"], listing.as_bytes())
}

#[test]
fn empty_tree_id() {
    assert_eq!(git_write_tree_of(&[]), "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
}

#[test]
fn tree_matches_mktree_and_keeps_modes() {
    let tree = git_write_tree_of(&[
        ("src/lib.rs", b"pub fn f() {}\n", false),
        ("run.sh", b"#!/bin/sh\n", true),
    ]);
    let repo = temp_dir();
    git(repo.path(), &["init", "-q", "--bare"]);
    let src = mktree(repo.path(), &[("100644", "lib.rs", b"pub fn f() {}\n")]);
    let listing = format!("100755 blob {}\trun.sh\n040000 tree {src}\tsrc\n", {
        git_stdin(repo.path(), &["hash-object", "-w", "--stdin"], b"#!/bin/sh\n")
    });
    assert_eq!(tree, git_stdin(repo.path(), &["mktree"], listing.as_bytes()));
}

#[test]
fn attributes_and_ignores_in_the_files_do_not_change_the_tree() {
    let files: [(&str, &[u8], bool); 3] = [
        (".gitattributes", b"* text eol=crlf\n", false),
        (".gitignore", b"*\n", false),
        ("crlf.txt", b"a\r\nb\r\n", false),
    ];
    let repo = temp_dir();
    git(repo.path(), &["init", "-q", "--bare"]);
    let entries: Vec<_> = files.iter().map(|(p, c, _)| ("100644", *p, *c)).collect();
    assert_eq!(git_write_tree_of(&files), mktree(repo.path(), &entries));
    let id = git(
        repo.path(),
        &["rev-parse", &format!("{}:crlf.txt", mktree(repo.path(), &entries))],
    );
    assert_eq!(git_bytes(repo.path(), &["cat-file", "blob", id.trim()]), b"a\r\nb\r\n");
}

#[test]
#[should_panic(expected = "not a git repository")]
fn git_failure_shows_stderr() {
    let dir = temp_dir();
    git(dir.path(), &["rev-parse", "HEAD"]);
}
