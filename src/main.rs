//! The `kharden` binary: parse arguments, call the library, print once, exit.

mod cli;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use kharden::{Error, clock, output};

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(args.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprint!("{e}");
            if !e.to_string().ends_with('\n') {
                eprintln!();
            }
            ExitCode::from(2)
        }
    }
}

fn load(profile: &Path) -> Result<kharden::Model, Error> {
    let today = clock::today().map_err(Error::Other)?;
    kharden::load(profile, &kharden::display_path(profile), today)
}

fn print(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Other(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

fn run(cmd: cli::Command) -> Result<u8, Error> {
    match cmd {
        cli::Command::Schema => {
            let text = serde_json::to_string_pretty(&kharden::model::profile_schema())
                .map_err(|e| Error::Other(e.to_string()))?;
            print(&format!("{text}\n"))?;
            Ok(0)
        }
        cli::Command::Validate { profile } => {
            let model = load(&profile)?;
            eprintln!(
                "ok: `{}` is valid ({} namespaces)",
                model.display,
                model.profile.namespaces.len()
            );
            Ok(0)
        }
        cli::Command::Render {
            profile,
            output: dir,
            check,
        } => {
            let model = load(&profile)?;
            let rendered = kharden::render(&model)?;
            for n in &rendered.notes {
                eprintln!("{n}");
            }
            if dir.as_deref() == Some(Path::new("-")) {
                if check {
                    return Err(Error::Other(
                        "`--check` needs an output directory, not `-`".to_owned(),
                    ));
                }
                print(&output::stream(&rendered.set, &model.display))?;
                return Ok(0);
            }
            let dir =
                dir.unwrap_or_else(|| PathBuf::from("out").join(&model.profile.metadata.name));
            let files = output::files(&rendered.set, &model.display).map_err(Error::Other)?;
            if check {
                let drift = output::check(&dir, &files).map_err(Error::Other)?;
                if drift.is_clean() {
                    eprintln!(
                        "ok: `{}` is up to date ({} files)",
                        dir.display(),
                        files.len()
                    );
                    return Ok(0);
                }
                let mut report = String::new();
                for (rel, diff) in &drift.changed {
                    report.push_str(&format!("changed: {rel}\n{diff}"));
                }
                for rel in &drift.missing {
                    report.push_str(&format!("missing: {rel}\n"));
                }
                for rel in &drift.extra {
                    report.push_str(&format!("extra: {rel}\n"));
                }
                print(&report)?;
                eprintln!(
                    "drift: `{}` differs from the rendering ({} changed, {} missing, {} extra)",
                    dir.display(),
                    drift.changed.len(),
                    drift.missing.len(),
                    drift.extra.len()
                );
                return Ok(1);
            }
            output::write(&dir, &files).map_err(Error::Other)?;
            eprintln!("wrote {} files to `{}`", files.len(), dir.display());
            Ok(0)
        }
    }
}
