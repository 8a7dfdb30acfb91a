//! The owners stage of `sync`: for each synced crate, observe its owners and
//! publishers from the configured sources (the crates.io-style web API, a
//! database dump, or neither), record them in the audit repository's
//! `crates/<ix>/<name>/owners.json`, and say whether anything changed (then
//! the crate's reports are written again). The history only grows; a failed
//! fetch never records owners as removed (see `crate::owners::history`).

use std::sync::Mutex;

use crate::audit::Audit;
use crate::output::Clock;
use crate::owners::api::ApiSource;
use crate::owners::dump::DumpData;
use crate::owners::history::{FILE_NAME, OwnersFile, observe};
use crate::report::paths::crate_dir;
use crate::types::CrateName;

/// Where owner data comes from in this run.
#[derive(Default)]
pub struct OwnersStage {
    /// The web API (rate-limited), if configured.
    pub api: Option<Mutex<ApiSource>>,
    /// Rows of a database dump for the crates of this run, if configured.
    pub dump: Option<DumpData>,
}

impl OwnersStage {
    /// Whether any source is configured.
    pub fn enabled(&self) -> bool {
        self.api.is_some() || self.dump.is_some()
    }
}

/// Seconds after which the owners of a crate with no new release are looked
/// at again through the API.
const API_REFRESH: i64 = 86_400;

/// Observe `name`'s owners and publishers and update `owners.json`. Returns
/// the file (when there is one) and whether it changed.
pub fn update(
    stage: &OwnersStage,
    audit: &Audit,
    name: &CrateName,
    new_versions: bool,
    clock: Clock,
) -> anyhow::Result<(Option<OwnersFile>, bool)> {
    let rel = format!("{}/{FILE_NAME}", crate_dir(name));
    let mut file = match audit.read(&rel) {
        Some(bytes) => OwnersFile::from_json(&bytes)?,
        None => OwnersFile::new(name),
    };
    if !stage.enabled() {
        return Ok((audit.read(&rel).map(|_| file), false));
    }
    let before = file.to_json()?;
    if let Some(dump) = &stage.dump {
        if let Some(obs) = dump.observation(name) {
            observe(&mut file, obs);
        }
        for (version, record) in dump.version_records(name) {
            file.record_version(&version, record);
        }
    }
    if let Some(api) = &stage.api {
        let due = new_versions
            || file
                .last_complete_observation_at()
                .is_none_or(|t| clock.now() - t >= API_REFRESH);
        if due {
            let mut api = api.lock().map_err(|_| anyhow::anyhow!("owners API source poisoned"))?;
            let obs = api.owners(name, &clock);
            for e in &obs.errors {
                tracing::warn!(krate = %name, error = %e, "owners not fully observed");
            }
            observe(&mut file, obs);
            let fetched = api.versions(name);
            if let Some(e) = &fetched.error {
                tracing::warn!(krate = %name, error = %e, "version records incomplete");
            }
            for (version, record) in fetched.records {
                file.record_version(&version, record);
            }
        }
    }
    let after = file.to_json()?;
    let changed = after != before;
    if changed {
        audit.write(&rel, after.as_bytes())?;
    }
    Ok((Some(file), changed))
}
