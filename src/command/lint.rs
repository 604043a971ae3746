//! `kharden lint`: the findings of every rule on stderr, or one rule's
//! explanation; exit 1 on an error (or, with `--deny-warnings`, any finding).

use super::cli::LintArgs;
use super::{Outcome, load, usage};
use crate::{Error, pipeline::lint};

pub(crate) fn run(a: LintArgs) -> Outcome {
    Outcome::of(|out| {
        if let Some(id) = a.explain {
            let r = lint::rule(&id)
                .ok_or_else(|| Error::Usage(format!("no lint rule `{id}`; see docs/lint.md")))?;
            out.print(&format!("{} {}\n\n{}\n", r.id, r.name, r.explanation));
            return Ok(0);
        }
        let Some(profile) = a.profile else {
            return Err(usage("`lint` needs a profile"));
        };
        let m = load(&profile)?;
        let findings = lint::run(&m);
        let errors = findings
            .iter()
            .filter(|f| f.rule.level == lint::Level::Error)
            .count();
        let warnings = findings.len() - errors;
        let mut d = crate::Diagnostics::default();
        d.extend(findings.into_iter().map(|f| f.diag).collect());
        out.stderr.push_str(&d.render_items_in(Some(&m.sources)));
        out.note(format!("lint: {errors} error(s), {warnings} warning(s)"));
        Ok(if errors > 0 || (a.deny_warnings && warnings > 0) {
            1
        } else {
            0
        })
    })
}
