//! One module per subcommand. Commands receive typed options, the opened
//! registry/store and an [`crate::output::Output`]; they return a result the
//! binary maps to an exit status.

pub mod diff;
pub mod publish;
pub mod reports;
pub mod sync;
pub mod verify;

/// How a command ended, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything worked (exit 0).
    Clean,
    /// The command completed but has findings or failures to report (exit 1).
    Findings,
}
