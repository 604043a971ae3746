//! The subcommands, one file each: a function from the parsed arguments to an
//! `Outcome` (what goes to stdout, the notes for stderr, the exit code), so every
//! command runs in process in a test. Nothing here prints: `main` prints the
//! outcome once. Files a command writes (`render -o DIR`, `report -o FILE`)
//! are its work, not printing, and go through `output` or one `std::fs` call.

pub mod cli;

mod audit;
mod completions;
mod diff;
mod explain;
mod gitops;
mod import;
mod init;
mod krm;
mod lint;
mod render;
mod report;
mod schema;
mod validate;
mod verify;

use std::io::Write;
use std::path::Path;

use crate::bundle::manifest::ManifestSet;
use crate::{Error, Model, input::clock};
use cli::Command;

/// Run one subcommand.
pub fn run(command: Command) -> Outcome {
    match command {
        Command::Render(a) => render::run(a),
        Command::Validate(a) => validate::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Report(a) => report::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Lint(a) => lint::run(a),
        Command::Init(a) => init::run(a),
        Command::Import(a) => import::run(a),
        Command::Gitops { what } => gitops::run(what),
        Command::Krm => krm::run(&mut std::io::stdin().lock()),
        Command::Audit(a) => audit::run(a),
        Command::Completions(a) => completions::completions(a),
        Command::Man => completions::man(),
    }
}

/// What a command did, for `main` to print: stderr first (notes, summaries,
/// the error), then stdout, then exit with `code`.
#[derive(Debug, Default)]
pub struct Outcome {
    pub stdout: Stdout,
    /// Text for stderr, each line ending in `\n`, in the order it was said.
    pub stderr: String,
    /// 0 ok, 1 findings (drift, changes, failed expectations), 2 invalid input.
    pub code: u8,
}

/// What goes to stdout.
#[derive(Debug)]
pub enum Stdout {
    Text(String),
    /// One profile's objects as a multi-document YAML stream, written straight
    /// to stdout: built as text first, a fleet-sized stream would be one more
    /// copy of every object in memory. `display` is the profile's name in the header.
    Stream {
        set: ManifestSet,
        display: String,
    },
}

impl Default for Stdout {
    fn default() -> Self {
        Stdout::Text(String::new())
    }
}

impl Outcome {
    /// Run a command body that says what it does into an outcome as it goes;
    /// its error ends stderr (after what was said before it) with exit 2.
    fn of(body: impl FnOnce(&mut Outcome) -> Result<u8, Error>) -> Outcome {
        let mut out = Outcome::default();
        match body(&mut out) {
            Ok(code) => out.code = code,
            Err(e) => {
                let text = e.to_string();
                out.stderr.push_str(&text);
                if !text.ends_with('\n') {
                    out.stderr.push('\n');
                }
                out.code = 2;
            }
        }
        out
    }

    /// Add text to stdout (after the stream, if any, is impossible: a command
    /// that streams says nothing else on stdout).
    fn print(&mut self, text: &str) {
        if let Stdout::Text(t) = &mut self.stdout {
            t.push_str(text);
        }
    }

    /// Add one line to stderr.
    fn note(&mut self, line: impl std::fmt::Display) {
        use std::fmt::Write as _;
        let _ = writeln!(self.stderr, "{line}");
    }

    /// Write stdout to `w` (`main` gives it the locked, buffered stdout).
    pub fn write_stdout(&self, w: &mut dyn Write) -> std::io::Result<()> {
        match &self.stdout {
            Stdout::Text(t) => w.write_all(t.as_bytes()),
            Stdout::Stream { set, display } => crate::bundle::output::write_stream(w, set, display),
        }
    }

    /// Stdout as text (tests).
    pub fn stdout_text(&self) -> String {
        let mut buf = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.write_stdout(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }
}

/// Load and check the profile at `profile`, at today's date.
fn load(profile: &Path) -> Result<Model, Error> {
    let today = clock::today()?;
    crate::load(profile, &crate::display_path(profile), today)
}

fn usage(message: &str) -> Error {
    Error::Usage(message.to_owned())
}

/// Create `out` and write `text` to it, refusing to overwrite (`init`, `import`);
/// `hint` ends the error when the file exists.
fn create_new(out: &Path, text: &str, hint: &'static str) -> Result<(), Error> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|source| Error::Io {
            action: format!("create `{}`", out.display()),
            source,
            hint,
        })?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::io(format!("write `{}`", out.display()), e))
}

#[cfg(test)]
mod tests;
