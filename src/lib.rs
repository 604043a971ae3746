//! kharden: from one cluster profile to every Kubernetes hardening artifact.
//!
//! The stages, in the order the code calls them (`command` runs them,
//! `pipeline::load` and `pipeline::render` make one call per stage):
//!
//! 1. input: `source` reads the files and layers their `extends:` (through
//!    `fast_yaml`, remembering every `position`); `schema_check` checks the
//!    merged tree against the schema of `profile`, the raw format.
//! 2. load and model: `load` parses it and runs every check (all problems at
//!    once, as `diag` diagnostics) into the `model`, the validated profile.
//! 3. plan: each concern's `validate` fills its part of the `plan`, the
//!    decisions made once (`flows`, `facts` read from it).
//! 4. concern render: `lint` refuses a profile its error-level rules flag, then
//!    each `concern` renders its objects into a `manifest` set (`emit` writes
//!    their YAML).
//! 5. self-check: `components::check` admits the platform's own pods and flows
//!    through the rendered policies, with the `verify` evaluators.
//! 6. output: `output` writes the files (safely), streams or checks them, in
//!    `stage` order; `gitops` adds the delivery objects.
//!
//! The commands (`command`, one file per subcommand) read what a stage
//! returns and hand `main` an outcome to print; only `command` sees clap.

// Stage 1: input.
pub mod clock;
pub(crate) mod fast_yaml;
pub(crate) mod position;
pub(crate) mod profile;
pub mod releases;
pub(crate) mod schema_check;
pub(crate) mod source;
// Stage 2: load and model, with the Kubernetes value types they check.
pub(crate) mod diag;
pub mod load;
pub mod model;
pub(crate) mod names;
pub(crate) mod net;
pub(crate) mod platform;
pub(crate) mod quantity;
// Stage 3: the plan.
pub(crate) mod allowance;
pub(crate) mod facts;
pub(crate) mod flows;
pub mod plan;
// Stage 4: lint, then each concern renders.
pub(crate) mod concern;
pub(crate) mod emit;
pub mod lint;
pub mod manifest;
// Stage 5: the platform self-check, on the evaluators `verify` also runs.
pub mod components;
pub(crate) mod netpol_eval;
pub mod verify;
// Stage 6: output.
pub mod first_apply;
pub mod gitops;
pub mod output;
pub(crate) mod stage;
// The stages wired, and the error every stage and command returns.
pub(crate) mod error;
pub(crate) mod pipeline;
pub mod timing;
// Commands, and the library parts only a command uses.
pub mod audit;
pub mod command;
pub mod diff;
pub mod explain;
pub mod fleet;
pub mod import;
pub mod init;
pub mod krm;
pub mod report;

#[cfg(test)]
pub(crate) mod testing;

pub use diag::Diagnostics;
pub use error::Error;
pub use model::Model;
pub use pipeline::{Rendered, display_path, load, load_text, render};
