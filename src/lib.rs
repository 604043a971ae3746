//! kharden: from one cluster profile to every Kubernetes hardening artifact.
//!
//! The stages, in the order the code calls them (`command` runs them;
//! `pipeline::run::load` and `pipeline::run::render` make one call per stage):
//!
//! 1. `input`: `source` reads the files and layers their `extends:` (through
//!    `fast_yaml`, remembering every `position`); `schema_check` checks the
//!    merged tree against the schema of `profile`, the raw format.
//! 2. `pipeline::load` parses it and runs every check (all problems at once,
//!    as `diag` diagnostics) into the `pipeline::model`, the validated profile.
//! 3. `pipeline::plan`: each concern's `validate` fills its part of the plan,
//!    the decisions made once (quotas, roles, policy instances, the L4
//!    `allowance`s); what differs per platform is asked of `platform`.
//! 4. `pipeline::lint` refuses a profile its error-level rules flag, then each
//!    `concern` renders its objects from the plan into a `bundle::manifest`
//!    set (`bundle::emit` writes their YAML).
//! 5. `components::check` admits the platform's own pods and flows through the
//!    rendered policies, with the `verify` evaluators (each policy engine's own,
//!    `concern::policy::engine`).
//! 6. `bundle::output` writes the files (safely), streams or checks them, in
//!    `bundle::stage` order; `bundle::gitops` adds the delivery objects.
//!
//! The commands (`command`, one file per subcommand) read what a stage returns
//! and hand `main` an outcome to print; only `command` sees clap. `review`
//! (diff, explain, report) and `adopt` (init, import, audit) are the library
//! parts only a command uses; `k8s` holds the Kubernetes value types every
//! stage shares.

// Stage 1: input.
pub mod input;
// What differs between the platforms a cluster runs on, behind one seam.
pub(crate) mod platform;
// Stages 2 to 5, wired by `pipeline::run`: load, model, plan, lint.
pub mod pipeline;
// Stage 4: each concern renders.
pub(crate) mod concern;
// Stage 5: the platform self-check, on the evaluators `verify` also runs.
pub mod components;
pub mod verify;
// Stage 6: the bundle: objects, files, stream, delivery.
pub mod bundle;
// Kubernetes value types, shared by every stage.
pub(crate) mod k8s;
// The commands (the CLI layer), and what only a command uses.
pub mod adopt;
pub mod command;
pub mod review;
// Unit-test helpers.
#[cfg(test)]
pub(crate) mod testing;

pub use input::diag::Diagnostics;
pub use pipeline::error::Error;
pub use pipeline::model::Model;
pub use pipeline::run::{Rendered, display_path, load, load_text, render};
