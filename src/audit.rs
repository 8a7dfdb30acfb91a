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
    pub fn open_or_init(dir: &Path) -> Result<Self, AuditError> {
        let audit = Audit { dir: dir.to_owned() };
        if !dir.join(".git").exists() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
            audit.git(&["init", "-q", "-b", "main"])?;
            for (path, content) in TEMPLATE {
                audit.write(path, content.as_bytes())?;
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let p = dir.join("verify.sh");
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).map_err(io(&p))?;
            }
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
    /// Returns whether the file changed. Written to a temporary name, then
    /// renamed, so a killed run never leaves half a report.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<bool, AuditError> {
        let path = self.dir.join(rel);
        if std::fs::read(&path).is_ok_and(|old| old == bytes) {
            return Ok(false);
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let tmp = path.with_file_name(format!(
            ".{}.cargofox-tmp",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(true)
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
    pub fn commit(&self, message: &str, time: i64) -> Result<Option<String>, AuditError> {
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
