//! `cargofox publish [--remote URL]`: push the audit repository's `main` to
//! its remote — fast-forward only, never forced, atomic. Uses the system git
//! (gix cannot push yet).

use crate::audit::Audit;
use crate::output::Output;

use super::Outcome;

/// Push `audit` to `remote` (or its `origin`).
pub fn run(audit: &Audit, remote: Option<&str>, out: &mut Output) -> anyhow::Result<Outcome> {
    let remote = match remote {
        Some(r) => r.to_owned(),
        None => audit
            .origin()
            .ok_or_else(|| anyhow::anyhow!("the audit repository has no `origin` remote; pass --remote URL"))?,
    };
    audit.push(&remote)?;
    out.line(&format!("publish: pushed main to {remote}"));
    Ok(Outcome::Clean)
}
