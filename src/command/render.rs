//! `kharden render`: one profile or a fleet, to directories (written safely by
//! `output`), checked against them (`--check`, exit 1 on drift), or one profile
//! as a stream on stdout.

use std::path::Path;

use super::cli::RenderArgs;
use super::{Outcome, Stdout, usage};
use crate::{bundle::fleet, bundle::output, input::clock};

pub(crate) fn run(a: RenderArgs) -> Outcome {
    Outcome::of(|out| {
        let profiles = fleet::expand(&a.profiles)?;
        let is_fleet = fleet::is_fleet(&a.profiles, &profiles);
        // Validate and render everything before writing anything.
        let rendered = fleet::render_all(&profiles, clock::today()?)?;
        let dir = a.output.as_deref();
        if dir == Some(Path::new("-")) {
            if a.check {
                return Err(usage("`--check` needs an output directory, not `-`"));
            }
            let Ok([(model, r)]) = <[_; 1]>::try_from(rendered) else {
                return Err(usage(
                    "`-o -` takes one profile; render a fleet to a directory",
                ));
            };
            for n in &r.notes {
                out.note(n);
            }
            out.stdout = Stdout::Stream {
                set: r.set,
                display: model.display.clone(),
            };
            // The process ends once `main` has written the stream: freeing a
            // fleet-sized profile one value at a time would cost a tenth of
            // the run and change nothing.
            std::mem::forget(model);
            return Ok(0);
        }
        let mut code = 0;
        for (model, r) in rendered {
            for n in &r.notes {
                if is_fleet {
                    out.note(format!("{}: {n}", model.display));
                } else {
                    out.note(n);
                }
            }
            let target = fleet::target(dir, is_fleet, &model.profile.metadata.name);
            let (name, display) = (model.profile.metadata.name.clone(), model.display.clone());
            // The model is done with: freed here (a few tens of ms at 10,000
            // namespaces), its memory takes the kustomizations, which list
            // every object, instead of raising the peak (#32).
            drop(model);
            let files = fleet::files(&name, &display, r.set)?;
            if a.check {
                let drift = output::check(&target, &files)?;
                if drift.is_clean() {
                    out.note(format!(
                        "ok: `{}` is up to date ({} files)",
                        target.display(),
                        files.len()
                    ));
                    continue;
                }
                let mut report = String::new();
                for (rel, diff) in &drift.changed {
                    report.push_str(&format!("changed: {rel}\n{diff}"));
                }
                for rel in &drift.missing {
                    report.push_str(&format!("missing: {rel}\n"));
                }
                for rel in &drift.extra {
                    report.push_str(&format!("extra: {rel}\n"));
                }
                out.print(&report);
                out.note(format!(
                    "drift: `{}` differs from the rendering ({} changed, {} missing, {} extra)",
                    target.display(),
                    drift.changed.len(),
                    drift.missing.len(),
                    drift.extra.len()
                ));
                code = 1;
                continue;
            }
            output::write(&target, &files)?;
            out.note(format!(
                "wrote {} files to `{}`",
                files.len(),
                target.display()
            ));
            // The process ends soon: freeing every file and the profile one by one
            // would cost a tenth of the run and change nothing.
            std::mem::forget(files);
        }
        Ok(code)
    })
}
