//! Release reports: the model (facts, changes, signals as data), Markdown
//! escaping, rendering with minijinja, and the audit-repository paths. Pure:
//! the data comes from the store through `commands::reports`.

pub mod escape;
pub mod model;
pub mod paths;
pub mod render;
pub mod stats;
