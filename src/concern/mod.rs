//! Stage 3: one file per concern, each with its checks, its rendering and its
//! notes, and the one registry (`CONCERNS`) the pipeline runs them from.

pub(crate) mod control_plane;
pub(crate) mod extension;
pub(crate) mod gateway;
pub(crate) mod logging;
pub(crate) mod mesh;
pub(crate) mod metadata;
pub(crate) mod namespace;
pub(crate) mod netpol;
pub(crate) mod network;
pub(crate) mod policy;
pub(crate) mod quota;
pub(crate) mod rbac;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Namespace;

use crate::bundle::manifest::{Manifest, ManifestSet, Part, RenderError, meta};
use crate::input::diag::Diagnostic;
use crate::input::profile::NamespaceSpec;
use crate::pipeline::allowance::{Allowances, Contributions};
use crate::pipeline::model::Model;
use crate::pipeline::plan::Plan;
use metadata::NamespaceMeta;

/// One concern as the pipeline sees it: its checks, its objects, its notes
/// (what it could not express and the user must know) and what it puts on
/// each tenant Namespace. Each is optional.
pub(crate) struct Concern {
    pub name: &'static str,
    /// Checks the concern's part of the profile and fills its part of the plan.
    pub validate: fn(&Model, &mut Plan, &mut Vec<Diagnostic>),
    pub render: fn(&Model) -> Result<Vec<Manifest>, RenderError>,
    pub notes: fn(&Model) -> Vec<String>,
    pub namespace_meta: fn(&Model, &NamespaceSpec) -> NamespaceMeta,
    /// Its part of the allowance plan: who may enter and leave namespaces.
    pub allowances: fn(&Model, &mut Contributions),
    /// Namespaces outside the profile its components run in, which flows may name.
    pub outside_namespaces: fn(&Model, &mut BTreeSet<String>),
    /// Rendered on the second thread (network and mesh: about half the work).
    pub parallel: bool,
}

fn no_checks(_: &Model, _: &mut Plan, _: &mut Vec<Diagnostic>) {}
fn no_objects(_: &Model) -> Result<Vec<Manifest>, RenderError> {
    Ok(Vec::new())
}
fn no_notes(_: &Model) -> Vec<String> {
    Vec::new()
}
fn no_namespace_meta(_: &Model, _: &NamespaceSpec) -> NamespaceMeta {
    NamespaceMeta::default()
}
fn no_allowances(_: &Model, _: &mut Contributions) {}
fn no_outside_namespaces(_: &Model, _: &mut BTreeSet<String>) {}

const fn concern(
    name: &'static str,
    validate: fn(&Model, &mut Plan, &mut Vec<Diagnostic>),
    render: fn(&Model) -> Result<Vec<Manifest>, RenderError>,
    notes: fn(&Model) -> Vec<String>,
) -> Concern {
    Concern {
        name,
        validate,
        render,
        notes,
        namespace_meta: no_namespace_meta,
        allowances: no_allowances,
        outside_namespaces: no_outside_namespaces,
        parallel: false,
    }
}

/// Every concern, in the order checks run, objects are produced (the output
/// is sorted by path anyway, so it only matters for messages) and notes print.
/// A new concern is one file and one line here.
pub(crate) const CONCERNS: &[Concern] = &[
    concern(
        "apiserver",
        control_plane::validate,
        control_plane::render,
        control_plane::warnings,
    ),
    concern(
        "encryption",
        control_plane::encryption::validate,
        control_plane::encryption::render,
        no_notes,
    ),
    concern(
        "kubelet",
        no_checks,
        control_plane::kubelet::render,
        no_notes,
    ),
    concern(
        "identity",
        control_plane::identity::validate,
        no_objects,
        no_notes,
    ),
    Concern {
        namespace_meta: namespace::metadata,
        ..concern("namespace", namespace::validate, namespaces, no_notes)
    },
    concern("rbac", rbac::validate, rbac::render, no_notes),
    concern("quota", quota::validate, quota::render, no_notes),
    Concern {
        parallel: true,
        allowances: network::allowances,
        ..concern("network", network::validate, network::render, no_notes)
    },
    Concern {
        allowances: gateway::allowances,
        outside_namespaces: gateway::outside_namespaces,
        ..concern("gateway", gateway::validate, no_objects, gateway::notes)
    },
    Concern {
        allowances: logging::allowances,
        outside_namespaces: logging::outside_namespaces,
        ..concern(
            "logging",
            logging::validate,
            logging::render,
            logging::notes,
        )
    },
    concern(
        "managed-logs",
        no_checks,
        control_plane::managed_logs::render,
        control_plane::managed_logs::notes,
    ),
    Concern {
        parallel: true,
        namespace_meta: mesh::namespace_meta,
        allowances: mesh::allowances,
        outside_namespaces: mesh::outside_namespaces,
        ..concern("mesh", mesh::validate, mesh::render, mesh::notes)
    },
    concern("policy", policy::validate, policy::render, policy::notes),
    concern(
        "extension",
        extension::validate,
        extension::render,
        no_notes,
    ),
];

/// One Namespace object per profile namespace, carrying every concern's
/// labels and annotations (`namespace_meta`), merged in registry order.
fn namespaces(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    m.profile
        .namespaces
        .iter()
        .map(|ns| {
            let mut md = meta(&ns.name, None);
            let mut annotations = BTreeMap::new();
            for c in CONCERNS {
                let part = (c.namespace_meta)(m, ns);
                md.labels
                    .get_or_insert_with(BTreeMap::new)
                    .extend(part.labels);
                annotations.extend(part.annotations);
            }
            if !annotations.is_empty() {
                md.annotations = Some(annotations);
            }
            Manifest::k8s(&Namespace {
                metadata: md,
                ..Namespace::default()
            })
        })
        .collect()
}

/// Every concern's checks, in order, each filling its part of the plan.
pub(crate) fn validate_all(model: &Model, out: &mut Vec<Diagnostic>) -> Plan {
    let mut plan = Plan::default();
    for c in CONCERNS {
        (c.outside_namespaces)(model, &mut plan.outside_namespaces);
    }
    for c in CONCERNS {
        (c.validate)(model, &mut plan, out);
    }
    plan
}

/// The allowance plan of a valid model: every concern's contribution, in
/// registry order, without the halves of directions no namespace denies.
pub(crate) fn allowances(model: &Model) -> Allowances {
    let mut c = Contributions::default();
    for k in CONCERNS {
        (k.allowances)(model, &mut c);
    }
    c.finish()
}

/// Render every concern into one set, on two threads: each takes the next
/// concern from a shared queue, heaviest first (`parallel` marks the two
/// that are about half the work, network and mesh). Results are put back in
/// `CONCERNS` order before they are inserted, so errors, insertion order and
/// the output never depend on the threads.
pub(crate) fn render_all(model: &Model) -> Result<ManifestSet, RenderError> {
    type Rendered = Result<Part, RenderError>;
    // Heaviest first, so the two threads finish close together.
    let mut order: Vec<usize> = (0..CONCERNS.len()).collect();
    order.sort_by_key(|&i| {
        (
            !CONCERNS[i].parallel,
            HEAVY
                .iter()
                .position(|h| *h == CONCERNS[i].name)
                .unwrap_or(HEAVY.len()),
        )
    });
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done: Vec<(usize, Rendered)> = Vec::new();
        loop {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(&i) = order.get(k) else { break };
            let c = &CONCERNS[i];
            done.push((
                i,
                // Sorted here, on the thread that rendered it.
                crate::pipeline::timing::stage(c.name, || (c.render)(model).map(Part::new)),
            ));
        }
        done
    };
    let (mut parts, theirs) = crate::pipeline::both::both(work, work);
    parts.extend(theirs);
    parts.sort_by_key(|(i, _)| *i);
    let parts = parts
        .into_iter()
        .map(|(_, part)| part)
        .collect::<Result<Vec<Part>, RenderError>>()?;
    crate::pipeline::timing::stage("merge", || ManifestSet::new(parts))
}

/// After the `parallel` two, the concerns that do per-namespace work, by
/// measured cost (scripts/bench, KHARDEN_TIMINGS=1).
const HEAVY: &[&str] = &["rbac", "policy", "quota", "namespace"];

/// One line each for what a concern could not express and the user must know
/// (settings a platform ignores, mesh limits, engine substitutes). `render`
/// prints them on stderr; nothing is dropped silently.
pub(crate) fn notes(model: &Model) -> Vec<String> {
    CONCERNS.iter().flat_map(|c| (c.notes)(model)).collect()
}
