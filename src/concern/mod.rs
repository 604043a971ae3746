//! Stage 3: one file per concern, each with its checks and its rendering. The
//! order here is the order objects are produced in (the output is sorted by path
//! anyway, so it only matters for error messages).

pub mod apiserver;
pub mod audit;
pub mod extension;
pub mod identity;
pub mod logging;
pub mod mesh;
pub mod namespace;
pub mod network;
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
        .chain(apiserver::render(model)?)
        .chain(network::render(model)?)
        .chain(mesh::render(model)?)
        .chain(logging::render(model)?)
        .chain(policy::render(model)?)
        .chain(extension::render(model)?)
    {
        set.insert(m)?;
    }
    Ok(set)
}

/// One line each for what a concern could not express and the user must know
/// (settings a platform ignores, mesh limits, engine substitutes). `render`
/// prints them on stderr; nothing is dropped silently.
pub fn notes(model: &Model) -> Vec<String> {
    let mut out = apiserver::warnings(model);
    out.extend(mesh::notes(model));
    out.extend(policy::notes(model));
    out
}
