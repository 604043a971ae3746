//! The crate's error, by what the user sees: an invalid profile carries its
//! full report, anything else one `error:` line; every one exits 2. It wraps the
//! errors of the stages and commands below it, and names no pipeline function,
//! so any module may return it without an import cycle.

use crate::input::diag::Diagnostics;
use crate::verify::EvalError;
use crate::{
    adopt::import, adopt::init, bundle::manifest, bundle::output, input::clock, review::explain,
};

/// Why a fleet of profiles is not one kharden can render. Defined here, not in
/// `fleet`, because `fleet` returns `Error` and `Error` wraps this.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("`{0}` holds no profile (`kind: ClusterProfile`)")]
    NoProfile(String),
    #[error(
        "`{this}` and `{first}` are both named `{name}`; each profile of a fleet needs its own `metadata.name`"
    )]
    SameName {
        this: String,
        first: String,
        name: String,
    },
}

/// What went wrong, by exit code: invalid input is 2, anything else too, but an
/// invalid profile carries its full report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", .0.render())]
    Invalid(Diagnostics),
    /// A report already drawn (error-level lint findings).
    #[error("{0}")]
    Refused(String),
    #[error("error: {0}")]
    Output(#[from] output::Error),
    #[error("error: {0}")]
    Render(#[from] manifest::RenderError),
    #[error("error: {0}")]
    Today(#[from] clock::TodayError),
    #[error("error: {0}")]
    Explain(#[from] explain::Error),
    #[error("error: {0}")]
    Init(#[from] init::Error),
    #[error("error: {0}")]
    Verify(#[from] EvalError),
    #[error("error: {0}")]
    Fleet(#[from] FleetError),
    #[error("error: {0}")]
    Import(#[from] import::Error),
    /// A command line the command cannot take (clap checks the rest).
    #[error("error: {0}")]
    Usage(String),
    /// Reading or writing a file the command line names, or stdout.
    #[error("error: cannot {action}: {source}{hint}")]
    Io {
        /// What was being done, with the path: "write `report.html`".
        action: String,
        source: std::io::Error,
        /// What the user should know besides, with its leading space.
        hint: &'static str,
    },
}

impl Error {
    /// A failed read or write of what the command line names.
    pub fn io(action: String, source: std::io::Error) -> Error {
        Error::Io {
            action,
            source,
            hint: "",
        }
    }
}
