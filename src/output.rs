//! Where results and progress go: results (one line per crate, the summary,
//! loud failure lines) to stdout; progress bars to stderr and only on a
//! terminal. Commands write through this, never with `println!`. Also the
//! two formats every command's output shares: UTC timestamps and shell
//! words in the check commands printed for readers.

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

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (UTC).
pub fn format_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Cut `s` to at most `max` bytes on a character boundary, then append
/// `marker` (for bounded messages built from untrusted or long text).
pub fn truncate_with(s: &mut String, max: usize, marker: &str) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str(marker);
    }
}

/// A word for a POSIX shell: as it is when it holds only characters no shell
/// treats specially, else single-quoted.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-/:^{}@".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_whole_characters() {
        let mut s = "aé€".to_owned();
        truncate_with(&mut s, 4, "…");
        assert_eq!(s, "aé…");
        let mut short = "abc".to_owned();
        truncate_with(&mut short, 3, "…");
        assert_eq!(short, "abc");
    }

    #[test]
    fn utc_formatting_roundtrips() {
        for t in [0, 1_570_305_146, 1_704_164_645, 951_782_400, 4_102_444_799] {
            let s = format_utc(t);
            assert_eq!(crate::registry::index::parse_rfc3339_utc(&s), Some(t), "{s}");
        }
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
    }
}
