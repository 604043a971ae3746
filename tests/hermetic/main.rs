//! The hermetic integration tests: the library and the real binary, nothing
//! installed beyond the Rust toolchain and the system's `python3` (the module
//! graph script). One binary, so an edit under `src/` relinks it once; tests that
//! need the pinned validators, kubectl, checkov or chromium are in `tests/tools/`.
//! `cargo test --test hermetic MODULE` runs one module (`golden`, `cli`, ...).

// clippy.toml allows unwrap/expect in `#[test]` functions only; the helpers here
// are test code too, where a panic is a failure with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod bad_profiles;
mod bench_gen;
mod cli;
mod extensions;
mod first_apply;
mod gitops;
mod golden;
mod hostile_input;
mod import;
mod layout;
mod module_graph;
mod review;
mod safe_write;
mod vendored;
mod verify;
