//! `kharden report`: the HTML page for reviewers, to a file or stdout.

use std::path::Path;

use super::cli::ReportArgs;
use super::{Outcome, load};
use crate::Error;

pub(crate) fn run(a: ReportArgs) -> Outcome {
    Outcome::of(|out| {
        let m = load(&a.profile)?;
        let r = crate::render(&m)?;
        let html = crate::review::report::html(&m, &r.set)?;
        if a.output == Path::new("-") {
            out.print(&html);
        } else {
            std::fs::write(&a.output, html)
                .map_err(|e| Error::io(format!("write `{}`", a.output.display()), e))?;
            out.note(format!("wrote `{}`", a.output.display()));
        }
        Ok(0)
    })
}
