//! `kharden verify`: the rendered bundle against scenario files; exit 1 on a
//! failed expectation.

use super::cli::VerifyArgs;
use super::{Outcome, load};
use crate::components::check;

pub(crate) fn run(a: VerifyArgs) -> Outcome {
    Outcome::of(|out| {
        let m = load(&a.profile)?;
        let loaded = a
            .scenarios
            .iter()
            .map(|s| crate::verify::load(s, &crate::display_path(s)))
            .collect::<Result<Vec<_>, _>>()?;
        let r = crate::render(&m)?;
        // The platform self-check `render` ran (it refuses a bundle that
        // fails it): say what it proved.
        let platform = check::run(&m, &r.set)?;
        if !platform.checks.is_empty() {
            out.note(format!("note: {}", check::summary(&platform)));
        }
        let mut failed = 0;
        for l in &loaded {
            let report = crate::verify::run(&m, &r.set, l)?;
            if loaded.len() > 1 {
                out.print(&format!("{}:\n", l.display));
            }
            out.print(&report.text());
            failed += report.failed();
        }
        Ok(if failed > 0 { 1 } else { 0 })
    })
}
