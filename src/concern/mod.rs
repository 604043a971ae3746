//! Stage 3: one file per concern, each with its checks and its rendering. The
//! order here is the order objects are produced in (the output is sorted by path
//! anyway, so it only matters for error messages).

pub mod namespace;
pub mod policy;
pub mod quota;
pub mod rbac;

use crate::manifest::ManifestSet;
use crate::model::Model;

/// Render every concern into one set.
pub fn render_all(model: &Model) -> Result<ManifestSet, String> {
    let mut set = ManifestSet::default();
    for m in namespace::render(model)?
        .into_iter()
        .chain(rbac::render(model)?)
        .chain(quota::render(model)?)
        .chain(policy::render(model)?)
    {
        set.insert(m)?;
    }
    Ok(set)
}

/// Profile sections whose rendering has not landed yet, with the issue that
/// brings it. `render` says so on stderr instead of dropping them silently.
pub fn pending_sections(model: &Model) -> Vec<String> {
    let p = &model.profile;
    let mut out = Vec::new();
    let mut note = |present: bool, section: &str, issue: u32| {
        if present {
            out.push(format!(
                "note: `{section}` is validated but not rendered yet (issue #{issue})"
            ));
        }
    };
    note(true, "apiServer", 4);
    note(p.identity.is_some(), "identity", 4);
    note(p.logging.is_some(), "logging", 5);
    note(
        p.namespaces.iter().any(|n| n.network.is_some())
            || !p.defaults.network.default_deny.is_empty(),
        "network",
        3,
    );
    note(p.mesh.is_some(), "mesh", 3);
    out.extend(policy::notes(model));
    out
}
