//! The single integration-test binary: everything under `tests/` is a module
//! of this crate, so the harness is compiled once and shared.

// The harness is a toolbox for every test module; not each test uses each tool.
#[allow(dead_code, unused_imports)]
mod harness;
mod harness_selftest;
mod ingest;

// BAD-INPUTS.md: hostile archives and paths; the network cases.
mod bad_inputs;
mod check;
mod network;
mod reports;
// docs/DEPLOY.md: shards merged, ecosystem statistics.
mod scale;
mod verify;

// BAD-INPUTS.md 30, 32, 33: killed runs, concurrent runs.
mod crash;

// BAD-INPUTS.md 34: the registry's history changing (squash, deletion, yanks).
mod history;

// docs/OWNERS.md: owner and publisher history from the API and the dump.
mod owners;

// docs/PROVENANCE.md: releases compared with their upstream repositories.
mod upstream;
