//! The `kharden` binary: parse the arguments, run the command, print its
//! outcome once, exit with its code. Everything else is the library's
//! (`kharden::command`).

// The one place that prints: `[lints.clippy]` in Cargo.toml and clippy.toml
// deny it elsewhere.
#![allow(clippy::print_stderr, clippy::disallowed_methods)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use kharden::command::{self, cli::Cli};

// A fleet render allocates and frees millions of small strings and maps; with
// glibc's malloc that was a third of the run (perf, #17).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = match Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let outcome = command::run(args.command);
    eprint!("{}", outcome.stderr);
    let mut code = outcome.code;
    // One buffer: stdout alone flushes at every line.
    let written = kharden::pipeline::timing::stage("emit", || {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        outcome.write_stdout(&mut out).and_then(|()| out.flush())
    });
    match written {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("{}", kharden::Error::io("write to stdout".to_owned(), e));
            code = 2;
        }
        _ => {}
    }
    for line in kharden::pipeline::timing::take() {
        eprintln!("{line}");
    }
    // The process ends here: freeing a fleet's objects one by one would cost
    // a tenth of the run and change nothing.
    std::mem::forget(outcome);
    ExitCode::from(code)
}
