//! The audit repository: the public git working copy the reports are written
//! into (`--audit DIR`, default `<data>/audit`). Owns creating it from
//! `data-repo-template/`, writing files only when their bytes change,
//! committing once per run with a message built from trusted data, and
//! pushing (fast-forward only, atomic).
//!
//! This module runs the system `git`: gix cannot push yet, and the working
//! copy's index has to stay consistent for anyone who inspects it with plain
//! git. Hooks are disabled on every invocation and nothing from a crate ever
//! reaches a command line or a commit message.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where `git init` runs before its `.git` is moved into place.
const INIT_STAGING: &str = ".cargofox-init";

/// Temporary files of [`Audit::write`], inside `.git/`.
const TMP_DIR: &str = "cargofox-tmp";

/// Every `*.lock` file under `dir`, recursively.
fn collect_lock_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let path = e.path();
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            collect_lock_files(&path, out);
        } else if e.file_name().to_string_lossy().ends_with(".lock") {
            out.push(path);
        }
    }
}

/// Files of `data-repo-template/`, shipped in the binary.
pub const TEMPLATE: &[(&str, &str)] = &[
    ("README.md", include_str!("../data-repo-template/README.md")),
    ("VERIFY.md", include_str!("../data-repo-template/VERIFY.md")),
    ("verify.sh", include_str!("../data-repo-template/verify.sh")),
    (".gitattributes", include_str!("../data-repo-template/.gitattributes")),
];

/// Errors from the audit repository.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Filesystem trouble.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `git` failed.
    #[error("git {args} in {dir}: {message}")]
    Git {
        /// The arguments.
        args: String,
        /// The repository.
        dir: PathBuf,
        /// stderr.
        message: String,
    },
    /// The push was refused (not a fast-forward, or the remote rejected it).
    #[error("push to {remote} refused: {message}")]
    PushRefused {
        /// The remote.
        remote: String,
        /// git's explanation.
        message: String,
    },
}

/// An opened audit repository.
#[derive(Debug)]
pub struct Audit {
    dir: PathBuf,
}

/// The identity of audit commits.
pub const IDENTITY: (&str, &str) = ("cargofox", "cargofox@invalid");

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Audit {
    /// Open `dir`, creating the repository from the template when missing.
    ///
    /// Creating is crash-safe: `git init` runs in a staging directory
    /// (`.cargofox-init/`), the template is written into the working copy,
    /// and only then is the staged `.git` renamed into place. `.git` existing
    /// therefore means the template was written; a run killed before that
    /// leaves no `.git`, and the next one starts over.
    pub fn open_or_init(dir: &Path) -> Result<Self, AuditError> {
        let audit = Audit { dir: dir.to_owned() };
        if !dir.join(".git").exists() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
            let staging = dir.join(INIT_STAGING);
            if staging.exists() {
                std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
            }
            std::fs::create_dir_all(&staging).map_err(io(&staging))?;
            let staged = Audit { dir: staging.clone() };
            staged.git(&["init", "-q", "-b", "main"])?;
            let staged_git = staging.join(".git");
            for (path, content) in TEMPLATE {
                audit.write_using(&staged_git, path, content.as_bytes())?;
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let p = dir.join("verify.sh");
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).map_err(io(&p))?;
            }
            let git_dir = dir.join(".git");
            std::fs::rename(&staged_git, &git_dir).map_err(io(&git_dir))?;
            std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        Ok(audit)
    }

    /// The working copy.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Read a file (relative path), if present.
    pub fn read(&self, rel: &str) -> Option<Vec<u8>> {
        std::fs::read(self.dir.join(rel)).ok()
    }

    /// Write `bytes` to `rel` unless the file already holds exactly them.
    /// Returns whether the file changed. Written to a temporary file inside
    /// `.git/` (so a killed run never leaves a stray file in the working
    /// copy for `git add -A` to commit), then renamed, so a killed run never
    /// leaves half a report.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<bool, AuditError> {
        self.write_using(&self.dir.join(".git"), rel, bytes)
    }

    fn write_using(&self, git_dir: &Path, rel: &str, bytes: &[u8]) -> Result<bool, AuditError> {
        let path = self.dir.join(rel);
        if std::fs::read(&path).is_ok_and(|old| old == bytes) {
            return Ok(false);
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let unique = format!("{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        // `.git` is a file in a linked worktree or a submodule: then the
        // temporary file goes beside the target, as a hidden file.
        let tmp = if git_dir.is_dir() {
            let tmp_dir = git_dir.join(TMP_DIR);
            std::fs::create_dir_all(&tmp_dir).map_err(io(&tmp_dir))?;
            tmp_dir.join(unique)
        } else {
            path.with_file_name(format!(".cargofox-tmp-{unique}"))
        };
        std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
        if let Err(e) = std::fs::rename(&tmp, &path) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(&path)(e));
        }
        Ok(true)
    }

    /// Remove what a killed run can leave in `.git`: git's lock files (a
    /// kill during `git add` or `git commit` leaves `index.lock`, and
    /// possibly a ref's lock; git then refuses to run until someone removes
    /// them), our temporary files, and an empty init staging directory.
    /// Only called by [`Audit::commit`], whose caller holds the data
    /// directory's lock: no other cargofox is running, so any lock is stale.
    fn remove_litter(&self) -> Result<(), AuditError> {
        let git_dir = self.dir.join(".git");
        let mut locks = vec![
            git_dir.join("index.lock"),
            git_dir.join("HEAD.lock"),
            git_dir.join("packed-refs.lock"),
        ];
        collect_lock_files(&git_dir.join("refs"), &mut locks);
        let tmp_dir = git_dir.join(TMP_DIR);
        if let Ok(rd) = std::fs::read_dir(&tmp_dir) {
            locks.extend(rd.flatten().map(|e| e.path()));
        }
        for path in locks {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&path)(e)),
                _ => {}
            }
        }
        let staging = self.dir.join(INIT_STAGING);
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        Ok(())
    }

    fn command(&self) -> Command {
        let mut c = Command::new("git");
        c.current_dir(&self.dir)
            .env("GIT_AUTHOR_NAME", IDENTITY.0)
            .env("GIT_AUTHOR_EMAIL", IDENTITY.1)
            .env("GIT_COMMITTER_NAME", IDENTITY.0)
            .env("GIT_COMMITTER_EMAIL", IDENTITY.1)
            .env("GIT_TERMINAL_PROMPT", "0")
            .args([
                "-c",
                "core.hooksPath=/dev/null",
                "-c",
                "commit.gpgSign=false",
                "-c",
                "core.autocrlf=false",
            ]);
        c
    }

    fn git(&self, args: &[&str]) -> Result<String, AuditError> {
        self.git_env(args, &[])
    }

    fn git_env(&self, args: &[&str], env: &[(&str, String)]) -> Result<String, AuditError> {
        let mut c = self.command();
        c.args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().map_err(io(&self.dir))?;
        if !out.status.success() {
            return Err(AuditError::Git {
                args: args.join(" "),
                dir: self.dir.clone(),
                message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Commit everything that changed, at `time` (seconds since the epoch),
    /// with `message` (trusted text only). Returns the new commit id, or
    /// `None` when nothing changed.
    ///
    /// The caller must hold the data directory's lock: stale git lock files
    /// left by a killed run are removed first.
    pub fn commit(&self, message: &str, time: i64) -> Result<Option<String>, AuditError> {
        self.remove_litter()?;
        self.git(&["add", "-A", "."])?;
        let status = self.git(&["status", "--porcelain"])?;
        if status.trim().is_empty() {
            return Ok(None);
        }
        let date = format!("@{time} +0000");
        self.git_env(
            &["commit", "-q", "--no-verify", "-m", message],
            &[("GIT_AUTHOR_DATE", date.clone()), ("GIT_COMMITTER_DATE", date)],
        )?;
        Ok(Some(self.git(&["rev-parse", "HEAD"])?.trim().to_owned()))
    }

    /// The configured remote URL of `origin`, if any.
    pub fn origin(&self) -> Option<String> {
        self.git(&["remote", "get-url", "origin"])
            .ok()
            .map(|s| s.trim().to_owned())
    }

    /// Push `main` to `remote` (a URL or remote name): fast-forward only,
    /// never forced, atomic.
    pub fn push(&self, remote: &str) -> Result<(), AuditError> {
        let out = self
            .command()
            .args([
                "push",
                "--atomic",
                "--porcelain",
                remote,
                "refs/heads/main:refs/heads/main",
            ])
            .output()
            .map_err(io(&self.dir))?;
        if out.status.success() {
            return Ok(());
        }
        Err(AuditError::PushRefused {
            remote: remote.to_owned(),
            message: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        })
    }
}
