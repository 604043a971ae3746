//! Stage 3: one file per concern, each with its checks and its rendering. The
//! order here is the order objects are produced in (the output is sorted by path
//! anyway, so it only matters for error messages).

pub mod apiserver;
pub mod audit;
pub mod encryption;
pub mod extension;
pub mod gateway;
pub mod identity;
pub mod kubelet;
pub mod logging;
pub mod managed_logs;
pub mod mesh;
pub mod metadata;
pub mod namespace;
pub mod network;
pub mod policy;
pub mod quota;
pub mod rbac;

use crate::manifest::{Manifest, ManifestSet};
use crate::model::Model;

/// Render every concern into one set. Network and mesh rendering (about half
/// the work) run on a second thread; errors and insertion order stay those of
/// the sequence below, so the result does not depend on the threads.
pub fn render_all(model: &Model) -> Result<ManifestSet, String> {
    let (first, net, mesh, rest) = std::thread::scope(|s| {
        let other = s.spawn(|| (network::render(model), mesh::render(model)));
        let first = [
            namespace::render(model),
            rbac::render(model),
            quota::render(model),
            apiserver::render(model),
            encryption::render(model),
            kubelet::render(model),
        ];
        let rest = [
            gateway::render(model),
            logging::render(model),
            managed_logs::render(model),
            policy::render(model),
            extension::render(model),
        ];
        let (net, mesh) = other
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (first, net, mesh, rest)
    });
    let parts: Vec<Vec<Manifest>> = first
        .into_iter()
        .chain([net, mesh])
        .chain(rest)
        .collect::<Result<_, _>>()?;
    let mut set = ManifestSet::default();
    for m in parts.into_iter().flatten() {
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
    out.extend(gateway::notes(model));
    out.extend(managed_logs::notes(model));
    out.extend(logging::notes(model));
    out
}
