//! The system `git`, isolated from the machine's configuration (no system
//! config, a throwaway `HOME`), as the independent reference: what git itself
//! computes is what the store must match.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

const GIT_ENV_REMOVED: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG_GLOBAL",
    "GIT_NAMESPACE",
    "XDG_CONFIG_HOME",
];

/// Runs `git args` in `dir`; returns stdout (lossy UTF-8). Panics with stderr
/// on a non-zero exit.
#[track_caller]
pub fn git(dir: &Path, args: &[&str]) -> String {
    String::from_utf8_lossy(&git_bytes(dir, args)).into_owned()
}

/// Like [`git`], returning stdout as bytes (for `cat-file blob`).
#[track_caller]
pub fn git_bytes(dir: &Path, args: &[&str]) -> Vec<u8> {
    let home = super::temp_dir();
    let mut cmd = Command::new("git");
    for key in GIT_ENV_REMOVED {
        cmd.env_remove(key);
    }
    let output = cmd
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", home.path())
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@invalid")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@invalid")
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?} in {} failed ({}):\n{}",
        dir.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The tree id git computes for these files (`path`, content, executable):
/// written to a fresh work tree, `git init`, `git add -A -f`, `git write-tree`.
/// Content is taken byte for byte: `.gitattributes` and `.gitignore` among
/// the files are neutralised. Paths must be ones git can check out (no `.git`).
pub fn git_write_tree_of(files: &[(&str, &[u8], bool)]) -> String {
    let dir = super::temp_dir();
    let root = dir.path();
    git(root, &["init", "-q"]);
    // info/attributes wins over any .gitattributes in the tree: no filters, no
    // end-of-line conversion.
    fs::write(
        root.join(".git/info/attributes"),
        "* -text -filter -ident -working-tree-encoding\n",
    )
    .expect("write info/attributes");
    for (path, content, executable) in files {
        assert!(
            !path.split('/').any(|c| c.eq_ignore_ascii_case(".git")),
            "git cannot hold {path:?}"
        );
        let file = root.join(path);
        fs::create_dir_all(file.parent().expect("a parent")).expect("create dirs");
        fs::write(&file, content).expect("write file");
        let mode = if *executable { 0o755 } else { 0o644 };
        fs::set_permissions(&file, fs::Permissions::from_mode(mode)).expect("chmod");
    }
    git(
        root,
        &[
            "-c",
            "core.autocrlf=false",
            "-c",
            "core.fileMode=true",
            "add",
            "-A",
            "-f",
        ],
    );
    git(root, &["write-tree"]).trim().to_owned()
}
