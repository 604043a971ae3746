//! kharden: from one cluster profile to every Kubernetes hardening artifact.
//!
//! The pipeline, one call per stage: `source` reads and layers the files,
//! `model` checks and parses them (all problems at once), `concern` renders
//! objects, `output` writes, streams or checks them. The lib never sees clap.

pub(crate) mod allowance;
pub mod audit;
pub mod clock;
pub mod components;
pub(crate) mod concern;
pub(crate) mod diag;
pub mod diff;
pub(crate) mod emit;
pub mod explain;
pub(crate) mod facts;
pub(crate) mod fast_yaml;
pub mod first_apply;
pub mod fleet;
pub(crate) mod flows;
pub mod gitops;
pub mod import;
pub mod init;
pub mod krm;
pub mod lint;
pub mod load;
pub mod manifest;
pub mod model;
pub(crate) mod names;
pub(crate) mod net;
pub(crate) mod netpol_eval;
pub mod output;
pub mod plan;
pub(crate) mod position;
pub(crate) mod profile;
pub(crate) mod quantity;
pub mod releases;
pub mod report;
pub(crate) mod schema_check;
pub(crate) mod source;
pub(crate) mod stage;
pub mod timing;
pub mod verify;

use std::path::Path;

pub use diag::Diagnostics;
pub use model::Model;

/// What went wrong, by exit code: invalid input is 2, anything else too, but an
/// invalid profile carries its full report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", .0.render())]
    Invalid(Diagnostics),
    /// A report already drawn (error-level lint findings).
    #[error("{0}")]
    Refused(String),
    #[error("error: {0}")]
    Output(#[from] output::Error),
    #[error("error: {0}")]
    Render(#[from] manifest::RenderError),
    #[error("error: {0}")]
    Today(#[from] clock::TodayError),
    #[error("error: {0}")]
    Explain(#[from] explain::Error),
    #[error("error: {0}")]
    Init(#[from] init::Error),
    #[error("error: {0}")]
    Verify(#[from] verify::EvalError),
    #[error("error: {0}")]
    Fleet(#[from] fleet::FleetError),
    #[error("error: {0}")]
    Import(#[from] import::Error),
    /// A command line the command cannot take (clap checks the rest).
    #[error("error: {0}")]
    Usage(String),
    /// Reading or writing a file the command line names, or stdout.
    #[error("error: cannot {action}: {source}{hint}")]
    Io {
        /// What was being done, with the path: "write `report.html`".
        action: String,
        source: std::io::Error,
        /// What the user should know besides, with its leading space.
        hint: &'static str,
    },
}

impl Error {
    /// A failed read or write of what the command line names.
    pub fn io(action: String, source: std::io::Error) -> Error {
        Error::Io {
            action,
            source,
            hint: "",
        }
    }
}

/// A rendered profile.
#[derive(Debug)]
pub struct Rendered {
    pub set: manifest::ManifestSet,
    /// Notes for the user (what a platform or engine cannot express), one line each.
    pub notes: Vec<String>,
}

/// Load and validate a profile; `display` is the path as the user wrote it.
pub fn load(path: &Path, display: &str, today: clock::Date) -> Result<Model, Error> {
    load::load(path, display, today).map_err(Error::Invalid)
}

/// Load and validate a profile given as text (tests, fuzzing, editors).
pub fn load_text(text: &str, display: &str, today: clock::Date) -> Result<Model, Error> {
    load::load_text(text, display, today).map_err(Error::Invalid)
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

/// Helpers for unit tests: a profile from inline YAML, rendered, with objects
/// read back as generic values so tests assert on meaning, not text.
#[cfg(test)]
pub(crate) mod testing {
    use serde_json::Value;

    use crate::clock::Date;

    pub const HEAD: &str = "apiVersion: kharden.dev/v1alpha1\nkind: ClusterProfile\nmetadata: {name: t}\ncluster: {name: t, platform: kubeadm, kubernetesVersion: \"1.33\"}\n";

    pub fn today() -> Date {
        Date {
            year: 2026,
            month: 11,
            day: 26,
        }
    }

    /// The model of a valid `HEAD + body`.
    pub fn model(body: &str) -> crate::Model {
        match crate::load_text(&format!("{HEAD}{body}"), "t.yaml", today()) {
            Ok(m) => m,
            Err(e) => panic!("profile invalid:\n{e}"),
        }
    }

    /// Render `HEAD + body` and return every object as (path, value).
    pub fn render(body: &str) -> Vec<(String, Value)> {
        let r = crate::render(&model(body)).unwrap();
        r.set
            .iter()
            .map(|m| (m.path.clone(), serde_saphyr::from_str(&m.body).unwrap()))
            .collect()
    }

    /// The rendered object at `path`.
    pub fn object(objs: &[(String, Value)], path: &str) -> Value {
        match objs.iter().find(|(p, _)| p == path) {
            Some((_, v)) => v.clone(),
            None => panic!(
                "no {path} in {:?}",
                objs.iter().map(|(p, _)| p).collect::<Vec<_>>()
            ),
        }
    }

    /// One check of the vendored kube-bench CIS 1.12 definitions, by id.
    pub fn vendored_cis_check(file: &str, id: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/cis/cis-1.12")
            .join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: Value = serde_saphyr::from_str(&text).unwrap();
        doc["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["checks"].as_array().unwrap())
            .find(|c| c["id"].as_str() == Some(id))
            .unwrap_or_else(|| panic!("no check {id} in {file}"))
            .clone()
    }

    /// A kubeadm ClusterConfiguration's `apiServer.extraArgs`, in order.
    pub fn extra_args(cc: &Value) -> Vec<(String, String)> {
        cc["apiServer"]["extraArgs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["name"].as_str().unwrap().to_owned(),
                    a["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Fails, naming what is missing, unless `text` contains every one of `parts`.
    pub fn assert_contains_all(text: &str, parts: &[&str]) {
        let missing: Vec<&&str> = parts.iter().filter(|p| !text.contains(**p)).collect();
        assert!(missing.is_empty(), "missing {missing:?} in:\n{text}");
    }

    /// The report for an invalid `HEAD + body`.
    pub fn errors(body: &str) -> String {
        match crate::load_text(&format!("{HEAD}{body}"), "t.yaml", today()) {
            Ok(_) => panic!("profile unexpectedly valid"),
            Err(e) => e.to_string(),
        }
    }
}
