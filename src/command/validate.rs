//! `kharden validate`: load and check a profile, report every problem.

use super::cli::ValidateArgs;
use super::{Outcome, load};

pub(crate) fn run(a: ValidateArgs) -> Outcome {
    Outcome::of(|out| {
        let model = load(&a.profile)?;
        out.note(format!(
            "ok: `{}` is valid ({} namespaces)",
            model.display,
            model.profile.namespaces.len()
        ));
        Ok(0)
    })
}
