//! `kharden audit`: the rendered bundle against a cluster's objects; exit 1 on
//! findings.

use super::cli::{AuditArgs, Format};
use super::{Outcome, load, usage};
use crate::adopt::audit;

pub(crate) fn run(a: AuditArgs) -> Outcome {
    Outcome::of(|out| {
        let m = load(&a.profile)?;
        let existing = audit::input::read(&a.objects)?;
        if existing.items.is_empty() {
            for n in &existing.notes {
                out.note(format!("note: {n}"));
            }
            return Err(usage("no Kubernetes object could be read from OBJECTS"));
        }
        let r = crate::render(&m)?;
        let report = audit::run(&m, &r.set, existing)?;
        out.print(&match a.format {
            Format::Text => audit::format::text(&report),
            Format::Markdown => audit::format::markdown(&report),
            Format::Json => audit::format::json(&report),
        });
        Ok(if report.is_clean() { 0 } else { 1 })
    })
}
