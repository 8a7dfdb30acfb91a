//! Where results and progress go: results (one line per crate, the summary,
//! loud failure lines) to stdout; progress bars to stderr and only on a
//! terminal. Commands write through this, never with `println!`.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The program's output.
pub struct Output {
    out: Box<dyn Write + Send>,
    progress_enabled: bool,
}

impl Output {
    /// stdout for results; progress only when stderr is a terminal.
    pub fn stdio() -> Self {
        Output {
            out: Box::new(std::io::stdout()),
            progress_enabled: std::io::stderr().is_terminal(),
        }
    }

    /// Results into `w`, no progress (tests).
    pub fn to_writer(w: Box<dyn Write + Send>) -> Self {
        Output {
            out: w,
            progress_enabled: false,
        }
    }

    /// Print one result line.
    pub fn line(&mut self, s: &str) {
        // A closed stdout (for example `| head`) must not abort a sync that is
        // writing the store.
        let _ = writeln!(self.out, "{s}");
        let _ = self.out.flush();
    }

    /// A progress bar with `len` steps (hidden unless on a terminal).
    pub fn progress(&self, len: u64, what: &str) -> ProgressBar {
        if !self.progress_enabled {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {per_sec} eta {eta}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        bar
    }
}

/// The clock, injectable so that runs are reproducible (`--current-time`).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    fixed: Option<i64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock { fixed: None }
    }

    /// A clock stopped at `secs` since the epoch.
    pub fn fixed(secs: i64) -> Self {
        Clock { fixed: Some(secs) }
    }

    /// Seconds since the epoch.
    pub fn now(&self) -> i64 {
        self.fixed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        })
    }
}
