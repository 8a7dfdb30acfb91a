//! Runs the `cargofox` binary the way a test needs it: global options first,
//! a clean environment (no HTTP proxies, no `CARGOFOX_DATA`, a throwaway
//! `HOME`, no system git config), a fresh working directory unless one is
//! given, a timeout that kills the whole process group, and captured output
//! with assertion helpers whose failures print everything.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::sys;

/// Environment variables never passed to the child.
const REMOVED_ENV: &[&str] = &[
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "all_proxy",
    "CARGOFOX_DATA",
    "XDG_CONFIG_HOME",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG_GLOBAL",
];

/// A `cargofox` invocation being built.
#[derive(Clone, Debug)]
pub struct Cargofox {
    program: PathBuf,
    global: Vec<OsString>,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    cwd: Option<PathBuf>,
    timeout: Duration,
}

impl Default for Cargofox {
    fn default() -> Self {
        Self::new()
    }
}

impl Cargofox {
    /// The binary built from this package, with a 60 s timeout.
    pub fn new() -> Self {
        Self::with_program(env!("CARGO_BIN_EXE_cargofox"))
    }

    /// Any program, run with the same environment rules (for the harness's
    /// own tests).
    pub fn with_program(program: impl AsRef<Path>) -> Self {
        Cargofox {
            program: program.as_ref().to_owned(),
            global: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            timeout: Duration::from_secs(60),
        }
    }

    /// `--data DIR` (placed before the subcommand).
    pub fn data(mut self, dir: impl AsRef<Path>) -> Self {
        self.global.push("--data".into());
        self.global.push(dir.as_ref().into());
        self
    }

    /// `--registry URL` (placed before the subcommand).
    pub fn registry(mut self, url: &str) -> Self {
        self.global.push("--registry".into());
        self.global.push(url.into());
        self
    }

    /// `-v` (placed before the subcommand).
    pub fn verbose(mut self) -> Self {
        self.global.push("-v".into());
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// `sync CRATE[@VERSION]...`
    pub fn sync(self, crates: &[&str]) -> Self {
        self.arg("sync").args(crates)
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// Working directory (default: a fresh temp dir per run).
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// Kill the process group after `timeout`; `run()` then panics.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The std `Command` with args and environment applied, but no working
    /// directory, `HOME` or stdio set (for tests that spawn and kill themselves).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.global).args(&self.args);
        for key in REMOVED_ENV {
            cmd.env_remove(key);
        }
        cmd.env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .env("GIT_CONFIG_NOSYSTEM", "1");
        for (key, value) in &self.env {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        cmd
    }

    /// Runs to completion; panics if it outlives the timeout (after killing it).
    pub fn run(&self) -> Output {
        let output = self.run_allow_timeout();
        assert!(!output.timed_out, "timed out after {:?}\n{output}", self.timeout);
        output
    }

    /// Runs to completion or to the timeout; see [`Output::timed_out`].
    pub fn run_allow_timeout(&self) -> Output {
        let home = super::temp_dir();
        let cwd = super::temp_dir();
        let mut cmd = self.command();
        if !self.env.iter().any(|(k, _)| k == "HOME") {
            cmd.env("HOME", home.path());
        }
        cmd.current_dir(self.cwd.as_deref().unwrap_or(cwd.path()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", self.program.display()));
        let stdout = read_in_background(child.stdout.take().expect("piped stdout"));
        let stderr = read_in_background(child.stderr.take().expect("piped stderr"));
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for child") {
                break status;
            }
            if started.elapsed() >= self.timeout {
                timed_out = true;
                sys::kill_process_group(child.id());
                break child.wait().expect("wait for killed child");
            }
            thread::sleep(Duration::from_millis(10));
        };
        Output {
            command: self.describe(),
            code: status.code(),
            stdout: stdout.join().expect("stdout reader"),
            stderr: stderr.join().expect("stderr reader"),
            timed_out,
            elapsed: started.elapsed(),
        }
    }

    fn describe(&self) -> String {
        std::iter::once(self.program.as_os_str())
            .chain(self.global.iter().map(OsString::as_os_str))
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|a| format!("{:?}", a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn read_in_background(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// What a run produced. `Display` shows all of it, for assertion messages.
#[derive(Clone, Debug)]
pub struct Output {
    pub command: String,
    /// `None` when killed by a signal (including the timeout).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub elapsed: Duration,
}

impl Output {
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit status\n{self}");
        self
    }

    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        assert!(self.stdout.contains(needle), "stdout lacks {needle:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}\n{self}");
        self
    }

    #[track_caller]
    pub fn assert_stdout_eq(&self, expected: &str) -> &Self {
        assert_eq!(self.stdout, expected, "stdout differs\n{self}");
        self
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.command)?;
        writeln!(
            f,
            "exit: {:?}{} after {:.2?}",
            self.code,
            if self.timed_out { " (timed out, killed)" } else { "" },
            self.elapsed
        )?;
        writeln!(f, "--- stdout ---\n{}", self.stdout)?;
        write!(f, "--- stderr ---\n{}", self.stderr)
    }
}
