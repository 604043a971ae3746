//! The integration tests that run installed tools over kharden's output: the
//! pinned validators of `scripts/setup-tools` (kubernetes-validate, yamllint and
//! the venv's Python with jsonschema, from `$KHARDEN_TOOLS`), checkov
//! (`$KHARDEN_CHECKOV`), `kubectl kustomize`, and chromium (required when
//! `KHARDEN_REQUIRE_BROWSER` is set). They fail, never skip, without the tools
//! (chromium excepted, see `browser.rs`); `scripts/test` installs them.
//! `cargo test --test tools MODULE` runs one module (`conformance`, `scanners`, ...).

// clippy.toml allows unwrap/expect in `#[test]` functions only; the helpers here
// are test code too, where a panic is a failure with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod browser;
mod cli;
mod conformance;
mod gateway_api;
mod gitops;
mod injection;
mod scanners;
