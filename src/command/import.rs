//! `kharden import`: a starter profile from a cluster's objects, to a new file
//! (never overwritten) or stdout.

use std::path::{Path, PathBuf};

use super::cli::ImportArgs;
use super::{Outcome, create_new};
use crate::Error;

pub(crate) fn run(a: ImportArgs) -> Outcome {
    Outcome::of(|out| {
        let opts = crate::adopt::import::Options {
            name: a.name,
            platform: a.platform,
            kubernetes_version: a
                .kubernetes_version
                .unwrap_or_else(|| crate::input::releases::NEWEST.version.to_owned()),
        };
        let imported = crate::adopt::import::run(&files(&a.objects)?, &opts)?;
        if a.output == Path::new("-") {
            out.print(&imported.text);
            return Ok(0);
        }
        create_new(
            &a.output,
            &imported.text,
            " (kharden import never overwrites)",
        )?;
        out.note(format!(
            "wrote `{}` ({} notes at its top); review it, then `kharden render {}`",
            a.output.display(),
            imported.notes.len(),
            a.output.display()
        ));
        Ok(0)
    })
}

/// The text of every file named, directories read for their `*.yaml`, `*.yml`
/// and `*.json` files (recursively, in name order), as (display name, text).
fn files(paths: &[PathBuf]) -> Result<Vec<(String, String)>, Error> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
        if p.is_dir() {
            let rd = std::fs::read_dir(p)
                .map_err(|e| Error::io(format!("read `{}`", p.display()), e))?;
            let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            entries.sort();
            for e in entries {
                let yaml = e
                    .extension()
                    .is_some_and(|x| x == "yaml" || x == "yml" || x == "json");
                if e.is_dir() || yaml {
                    walk(&e, out)?;
                }
            }
        } else {
            out.push(p.to_owned());
        }
        Ok(())
    }
    let mut list = Vec::new();
    for p in paths {
        walk(p, &mut list)?;
    }
    list.into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| Error::io(format!("read `{}`", p.display()), e))?;
            Ok((crate::display_path(&p), text))
        })
        .collect()
}
