//! `kharden diff`: two profiles, or a profile and a rendered directory; exit 1
//! when anything changes.

use std::collections::BTreeMap;

use super::cli::{DiffArgs, Format};
use super::{Outcome, load, usage};
use crate::{Error, bundle::output, review::diff};

pub(crate) fn run(a: DiffArgs) -> Outcome {
    Outcome::of(|out| {
        let (old, new) = (&a.old, &a.new);
        let report = match (old.is_dir(), new.is_dir()) {
            (true, true) => {
                return Err(usage(
                    "`diff` needs at least one profile; both arguments are directories",
                ));
            }
            (false, false) => {
                let (a, b) = (load(old)?, load(new)?);
                let (ra, rb) = (crate::render(&a)?, crate::render(&b)?);
                diff::profiles(&a, &ra.set, &b, &rb.set)
            }
            (old_is_dir, _) => {
                let (dir, profile) = if old_is_dir { (old, new) } else { (new, old) };
                let m = load(profile)?;
                let rendered = diff::bodies(&crate::render(&m)?.set);
                let mut on_disk = BTreeMap::new();
                for rel in output::list_files(dir)? {
                    if output::is_index(&rel) {
                        continue;
                    }
                    let text = std::fs::read_to_string(dir.join(&rel))
                        .map_err(|e| Error::io(format!("read `{rel}`"), e))?;
                    on_disk.insert(rel, diff::strip_header(&text).to_owned());
                }
                let files = if old_is_dir {
                    diff::file_changes(&on_disk, &rendered)
                } else {
                    diff::file_changes(&rendered, &on_disk)
                };
                diff::Report {
                    changes: None,
                    files,
                }
            }
        };
        out.print(&match a.format {
            Format::Text => diff::text(&report),
            Format::Markdown => diff::markdown(&report),
            Format::Json => diff::json(&report),
        });
        Ok(if report.is_empty() { 0 } else { 1 })
    })
}
