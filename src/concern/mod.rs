//! Stage 3: one file per concern, each with its checks and its rendering. The
//! order here is the order objects are produced in (the output is sorted by path
//! anyway, so it only matters for error messages).

pub mod apiserver;
pub mod audit;
pub mod identity;
pub mod logging;
pub mod mesh;
pub mod namespace;
pub mod network;
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
        .chain(apiserver::render(model)?)
        .chain(network::render(model)?)
        .chain(mesh::render(model)?)
        .chain(logging::render(model)?)
    {
        set.insert(m)?;
    }
    Ok(set)
}

/// Profile sections whose rendering has not landed yet, with the issue that
/// brings it. `render` says so on stderr instead of dropping them silently.
pub fn pending_sections(model: &Model) -> Vec<String> {
    let p = &model.profile;
    // The control-plane concern's one warning line comes first.
    let mut out = apiserver::warnings(model);
    let mut note = |present: bool, section: &str, issue: u32| {
        if present {
            out.push(format!(
                "note: `{section}` is validated but not rendered yet (issue #{issue})"
            ));
        }
    };
    note(p.policy.is_some() || !p.exceptions.is_empty(), "policy", 6);
    note(
        p.namespaces.iter().any(|n| n.workloads.is_some()),
        "workloads",
        6,
    );
    out.extend(mesh::notes(model));
    out
}
