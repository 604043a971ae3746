//! `kharden init`: a starter profile, to a new file (never overwritten) or stdout.

use std::path::{Path, PathBuf};

use super::cli::InitArgs;
use super::{Outcome, create_new};

pub(crate) fn run(a: InitArgs) -> Outcome {
    Outcome::of(|out| {
        let text = crate::adopt::init::starter(a.platform, &a.name)?;
        let file = a
            .output
            .unwrap_or_else(|| PathBuf::from(format!("{}.yaml", a.name)));
        if file == Path::new("-") {
            out.print(&text);
            return Ok(0);
        }
        create_new(&file, &text, " (kharden init never overwrites)")?;
        out.note(format!(
            "wrote `{}`; render it with `kharden render {}`",
            file.display(),
            file.display()
        ));
        Ok(0)
    })
}
