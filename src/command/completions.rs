//! `kharden completions` and `kharden man`: what clap derives from `cli`.

use clap::CommandFactory;

use super::Outcome;
use super::cli::{Cli, CompletionsArgs};
use crate::Error;

pub(crate) fn completions(a: CompletionsArgs) -> Outcome {
    Outcome::of(|out| {
        let mut buf = Vec::new();
        clap_complete::generate(a.shell, &mut Cli::command(), "kharden", &mut buf);
        out.print(&String::from_utf8_lossy(&buf));
        Ok(0)
    })
}

pub(crate) fn man() -> Outcome {
    Outcome::of(|out| {
        let mut buf = Vec::new();
        clap_mangen::Man::new(Cli::command())
            .render(&mut buf)
            .map_err(|e| Error::io("render the man page".to_owned(), e))?;
        out.print(&String::from_utf8_lossy(&buf));
        Ok(0)
    })
}
