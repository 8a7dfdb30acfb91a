//! Tests of the harness itself: each tool does what its doc says, checked
//! against independent implementations (GNU tar, the `tar` crate, curl, git).

mod command;
mod git;
mod registry;
mod server;
mod tarball;
