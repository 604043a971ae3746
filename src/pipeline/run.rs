//! The pipeline, one call per stage: `load` reads, checks and parses a profile
//! into the model with its plan (all problems at once); `render` runs the
//! error-level lint rules, renders every concern and runs the platform
//! self-check. Commands call these two and hand the objects to `output`.

use std::path::Path;

use crate::input::diag::{self, Diagnostics};
use crate::pipeline::error::Error;
use crate::pipeline::model::Model;
use crate::{
    bundle::manifest, components, concern, input::clock, pipeline::lint, pipeline::timing,
};

/// A rendered profile.
#[derive(Debug)]
pub struct Rendered {
    pub set: manifest::ManifestSet,
    /// Notes for the user (what a platform or engine cannot express), one line each.
    pub notes: Vec<String>,
}

/// Load and validate a profile; `display` is the path as the user wrote it.
pub fn load(path: &Path, display: &str, today: clock::Date) -> Result<Model, Error> {
    crate::pipeline::load::load(path, display, today).map_err(Error::Invalid)
}

/// Load and validate a profile given as text (tests, fuzzing, editors).
pub fn load_text(text: &str, display: &str, today: clock::Date) -> Result<Model, Error> {
    crate::pipeline::load::load_text(text, display, today).map_err(Error::Invalid)
}

/// Render a validated model. Error-level lint rules run first: a profile they
/// flag is refused like an invalid one.
pub fn render(model: &Model) -> Result<Rendered, Error> {
    let errors: Vec<diag::Diagnostic> = timing::stage("lint", || lint::run(model))
        .into_iter()
        .filter(|f| f.rule.level == lint::Level::Error)
        .map(|f| f.diag)
        .collect();
    if !errors.is_empty() {
        let n = errors.len();
        let mut d = Diagnostics::default();
        d.extend(errors);
        let mut text = d.render_items_in(Some(&model.sources));
        text.push_str(&diag::summary(n, "profile", "written"));
        return Err(Error::Refused(text));
    }
    let set = timing::stage("render", || concern::render_all(model))?;
    let check = timing::stage("self-check", || components::check::run(model, &set))?;
    if let Some(text) = components::check::failures(&check.checks) {
        return Err(Error::Refused(text));
    }
    let mut notes = concern::notes(model);
    notes.extend(components::notes(&model.profile));
    notes.extend(check.note);
    Ok(Rendered { set, notes })
}

/// The name shown for a profile path in headers: as given when relative, the file
/// name alone when absolute, so no output ever holds a machine's directory layout.
pub fn display_path(path: &Path) -> String {
    if path.is_absolute() {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        path.to_string_lossy().replace('\\', "/")
    }
}
