//! The extension concern's decision: its templates, compiled once.

/// The extension templates, compiled once by `validate` (`plan.extension`).
#[derive(Debug, Default)]
pub struct Extensions {
    /// None when a template does not parse (an error, so nothing renders).
    pub engine: Option<tera::Tera>,
}
