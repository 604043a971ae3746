//! The command line, as clap derive types only; `main` acts on them.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Render Kubernetes hardening artifacts from one cluster profile.
///
/// Exit codes: 0 ok, 1 drift found by `render --check`, 2 invalid input or usage.
/// Set KHARDEN_TODAY=YYYY-MM-DD to fix the date used for exception expiry.
#[derive(Debug, Parser)]
#[command(name = "kharden", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render a profile to a directory (default `out/<metadata.name>`) or to stdout.
    Render {
        /// The cluster profile (YAML).
        profile: PathBuf,
        /// Output directory, or `-` for one multi-document YAML stream on stdout.
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Write nothing; exit 1 and list files that differ, are missing or extra.
        #[arg(long)]
        check: bool,
    },
    /// Check a profile and report every problem; exit 0 or 2.
    Validate {
        /// The cluster profile (YAML).
        profile: PathBuf,
    },
    /// Print the JSON Schema of the profile format, for editors.
    Schema,
}
