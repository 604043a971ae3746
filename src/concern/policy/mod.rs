//! Admission policy: the `policy` and `exceptions` sections, checked here and
//! planned once as engine-neutral rules (what is checked, with which parameters,
//! in which namespaces), then rendered by the chosen engine (`engine`:
//! Gatekeeper's Rego constraints and mutators, or the native
//! ValidatingAdmissionPolicy with CEL).
//!
//! User values never reach policy source text: Gatekeeper gets them as
//! constraint `parameters`, the native engine as CEL literals in `variables`,
//! written by one escaping function (`engine::cel::cel_literal`). Pod Security Admission
//! stays the baseline for pod security; nothing here duplicates it.

pub(crate) mod coverage;
pub(crate) mod department;
pub(crate) mod derived;
pub(crate) mod enforcement;
pub(crate) mod engine;
mod instances;
pub(crate) mod map;
mod registry;
pub(crate) mod routes;
pub(crate) mod rule;
pub(crate) mod validated;
pub(crate) mod windows;

use std::collections::{BTreeMap, BTreeSet};

use crate::bundle::manifest::{Manifest, RenderError};
use crate::input::clock::Date;
use crate::input::diag::{Diagnostic, nearest};
use crate::input::profile::{Exception, Policy};
use crate::input::source::FieldPath;
use crate::k8s::names;
use crate::pipeline::model::{Model, label};
use registry::Entry;
use validated::{PolicyPlan, Waiver};

pub(crate) use registry::{Form as RegistryForm, normalise_registry, parse as parse_registry};
pub(crate) use rule::{Cel, Instance, Rule, Scope};

/// The policy rules an exception may waive.
pub(crate) const POLICY_RULES: &[&str] = &[
    "allowedRegistries",
    "requiredAnnotations",
    "uniqueIngressHosts",
    "ingressHostsInDomain",
    "internalLoadBalancers",
    "noNodePorts",
    "requiredLimits",
];

/// The annotation that says which exemptions kharden derived for the
/// platform components, and why (`derived`).
pub(crate) const DERIVED: &str = crate::components::EXEMPTIONS;

/// Every rule instance the profile asks for, in a fixed order, as
/// `validate` planned them.
pub(crate) fn plan(m: &Model) -> &[Instance] {
    &m.plan.policy.instances
}

pub(crate) fn render(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    let Some(pol) = &m.profile.policy else {
        return Ok(Vec::new());
    };
    engine::of(pol.engine).render(m, plan(m))
}

/// The notes `render` prints where a rule is weaker on the chosen engine.
pub(crate) fn notes(m: &Model) -> Vec<String> {
    match &m.profile.policy {
        Some(pol) => engine::of(pol.engine).notes(m, pol),
        None => Vec::new(),
    }
}

/// Check the `policy` and `exceptions` sections (every problem at once) and,
/// when they hold, fill `plan.policy` with their validated form.
pub(crate) fn validate(
    m: &Model,
    plan: &mut crate::pipeline::plan::Plan,
    out: &mut Vec<Diagnostic>,
) {
    let p = &m.profile;
    let ns_names: BTreeSet<&str> = p.namespaces.iter().map(|n| n.name.as_str()).collect();
    let mut registries = Vec::new();
    if let Some(pol) = &p.policy {
        registries = validate_policy(m, pol, out);
    } else if let Some((i, _)) = p
        .namespaces
        .iter()
        .enumerate()
        .find(|(_, n)| n.workloads.as_ref().is_some_and(|w| w.windows))
    {
        out.push(
            Diagnostic::error(
                FieldPath::root()
                    .key("namespaces")
                    .index(i)
                    .key("workloads")
                    .key("windows"),
                "`workloads.windows` is carried out by admission policy, but there is no `policy` section".to_owned(),
            )
            .hint("add `policy: {engine: gatekeeper}` (or `validating-admission-policy`)"),
        );
    }
    let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut waivers = Vec::new();
    for (i, ex) in p.exceptions.iter().enumerate() {
        let mut allowed = Vec::new();
        let base = FieldPath::root().key("exceptions").index(i);
        if !POLICY_RULES.contains(&ex.rule.as_str()) {
            let hint = match nearest(&ex.rule, POLICY_RULES.iter().copied()) {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("rules: {}", POLICY_RULES.join(", ")),
            };
            out.push(
                Diagnostic::error(
                    base.key("rule"),
                    format!("`{}` is not a policy rule", ex.rule),
                )
                .hint(hint),
            );
        }
        match &p.policy {
            None => out.push(Diagnostic::error(
                base.clone(),
                "an exception needs a `policy` section to except from".to_owned(),
            )),
            Some(pol) if POLICY_RULES.contains(&ex.rule.as_str()) => {
                allowed = validate_allow(pol, ex, &base, out);
            }
            Some(_) => {}
        }
        if ex.namespaces.is_empty() {
            out.push(Diagnostic::error(
                base.key("namespaces"),
                "an exception must name the namespaces it covers".to_owned(),
            ));
        }
        for (j, n) in ex.namespaces.iter().enumerate() {
            if !ns_names.contains(n.as_str()) {
                let hint = match nearest(n, ns_names.iter().copied()) {
                    Some(x) => format!("did you mean `{x}`?"),
                    None => "exceptions apply to namespaces listed under `namespaces`".to_owned(),
                };
                out.push(
                    Diagnostic::error(
                        base.key("namespaces").index(j),
                        format!("namespace `{n}` is not in the profile"),
                    )
                    .hint(hint),
                );
            }
            // Two waivers of one rule in one namespace would each narrow the rule
            // on its own, and the stricter would win: merge them instead.
            if let Some(first) = seen.insert((ex.rule.as_str(), n.as_str()), i) {
                out.push(
                    Diagnostic::error(
                        base.key("namespaces").index(j),
                        format!(
                            "namespace `{n}` already has an exception for `{}` (exceptions[{first}])",
                            ex.rule
                        ),
                    )
                    .hint("merge the two waivers into one"),
                );
            }
        }
        if !ex.owner.contains('@') {
            out.push(
                Diagnostic::error(
                    base.key("owner"),
                    format!("owner `{}` is not an email address", ex.owner),
                )
                .hint("name who answers for the waiver, e.g. team-b@example.ca"),
            );
        }
        if ex.ticket.trim().is_empty() {
            out.push(Diagnostic::error(
                base.key("ticket"),
                "the exception has no ticket".to_owned(),
            ));
        }
        match Date::parse(&ex.expires) {
            Err(e) => out.push(
                Diagnostic::error(base.key("expires"), e.to_string())
                    .hint("write the last day the waiver holds, e.g. 2030-06-30"),
            ),
            Ok(d) if d < m.today => out.push(
                Diagnostic::error(
                    base.key("expires"),
                    format!(
                        "exception {} for `{}` (owner {}) expired on {d} (today is {})",
                        ex.ticket, ex.rule, ex.owner, m.today
                    ),
                )
                .hint("renew the waiver with a new date, or remove it"),
            ),
            Ok(expires) => waivers.push(Waiver {
                expires,
                registries: allowed,
            }),
        }
    }
    // A profile with any problem is never rendered: plan only a valid one.
    if let Some(pol) = &p.policy
        && out.is_empty()
    {
        plan.policy = PolicyPlan {
            registries,
            exceptions: waivers,
            instances: Vec::new(),
            mutating_api: engine::of(pol.engine).mutating_policy_api(m, pol),
        };
        plan.policy.instances = instances::plan(m, pol, &plan.policy, &plan.quota);
    }
}

/// Check the `policy` section; its `allowedRegistries`, parsed.
fn validate_policy(m: &Model, pol: &Policy, out: &mut Vec<Diagnostic>) -> Vec<Entry> {
    let p = &m.profile;
    let base = FieldPath::root().key("policy");
    windows::validate(pol, out);
    map::validate(m, pol, out);
    department::validate(m, pol, out);
    enforcement::validate(pol, out);
    for (i, n) in pol.exempt_namespaces.iter().enumerate() {
        label(out, &base.key("exemptNamespaces").index(i), n);
    }
    let registries = pol
        .allowed_registries
        .iter()
        .enumerate()
        .filter_map(|(i, r)| registry_entry(out, &base.key("allowedRegistries").index(i), r))
        .collect();
    coverage::validate(pol, out);
    for (field, list) in [
        ("requiredAnnotations", &pol.required_annotations),
        (
            "propagateNamespaceAnnotations",
            &pol.propagate_namespace_annotations,
        ),
    ] {
        for (i, k) in list.iter().enumerate() {
            if let Err(e) = names::qualified_name(k) {
                out.push(Diagnostic::error(
                    base.key(field).index(i),
                    format!("`{k}` is not a valid annotation key: {e}"),
                ));
            }
        }
    }
    for (field, on) in [
        ("ingressHostsInDomain", pol.ingress_hosts_in_domain),
        (
            "uniqueIngressHosts",
            pol.unique_ingress_hosts && !engine::of(pol.engine).sees_other_objects(),
        ),
    ] {
        if on && p.cluster.ingress_domain.is_none() {
            out.push(
                Diagnostic::error(
                    base.key(field),
                    format!("`{field}` needs `cluster.ingressDomain` with this engine"),
                )
                .hint("set `cluster.ingressDomain`, e.g. apps.prod-east.example.ca"),
            );
        }
    }
    registries
}

/// A registry entry, parsed; a diagnostic when it is none.
fn registry_entry(out: &mut Vec<Diagnostic>, path: &FieldPath, r: &str) -> Option<Entry> {
    match registry::parse(r) {
        Ok(e) => Some(e),
        Err(e) => {
            out.push(
                Diagnostic::error(path.clone(), format!("`{r}` is not a registry entry: {e}"))
                    .hint("write `registry.example.com` (every image there), `registry.example.com/team/*` (everything under a path), `registry.example.com/team/app` (one repository), or `…/app:1.2` / `…/app@sha256:…` (one image); Docker Hub is `docker.io/library/nginx`"),
            );
            None
        }
    }
}

/// Check an exception's `allow` list against what its rule can take; the
/// registry entries it allows, parsed (an `allowedRegistries` exception).
fn validate_allow(
    pol: &Policy,
    ex: &Exception,
    base: &FieldPath,
    out: &mut Vec<Diagnostic>,
) -> Vec<Entry> {
    let mut entries = Vec::new();
    let enabled = match ex.rule.as_str() {
        "allowedRegistries" => !pol.allowed_registries.is_empty(),
        "requiredAnnotations" => !pol.required_annotations.is_empty(),
        "uniqueIngressHosts" => pol.unique_ingress_hosts,
        "ingressHostsInDomain" => pol.ingress_hosts_in_domain,
        "noNodePorts" => pol.no_node_ports,
        "requiredLimits" => !pol.required_limits.is_empty(),
        _ => pol.internal_load_balancers,
    };
    if !enabled {
        out.push(
            Diagnostic::error(
                base.key("rule"),
                format!(
                    "the exception waives `{}`, which `policy` does not set",
                    ex.rule
                ),
            )
            .hint("remove the exception, or turn the rule on"),
        );
    }
    let allow = base.key("allow");
    match ex.rule.as_str() {
        "allowedRegistries" => {
            if ex.allow.is_empty() {
                out.push(
                    Diagnostic::error(
                        allow,
                        "an `allowedRegistries` exception must list what it allows".to_owned(),
                    )
                    .hint("list registry entries, e.g. `allow: [docker.io/library/nginx]`"),
                );
            }
            entries = ex
                .allow
                .iter()
                .enumerate()
                .filter_map(|(i, r)| registry_entry(out, &base.key("allow").index(i), r))
                .collect();
        }
        "requiredAnnotations" => {
            for (i, k) in ex.allow.iter().enumerate() {
                if !pol.required_annotations.contains(k) {
                    out.push(
                        Diagnostic::error(
                            base.key("allow").index(i),
                            format!("`{k}` is not in `policy.requiredAnnotations`"),
                        )
                        .hint("list the required annotation keys the namespaces may leave out, or none to waive them all"),
                    );
                }
            }
        }
        "ingressHostsInDomain" => {
            for (i, d) in ex.allow.iter().enumerate() {
                let why = match names::dns_subdomain(d) {
                    Err(e) => format!(": {e}"),
                    Ok(()) if !d.contains('.') => ": it has a single label".to_owned(),
                    Ok(()) => String::new(),
                };
                if !why.is_empty() {
                    out.push(
                        Diagnostic::error(
                            base.key("allow").index(i),
                            format!("`{d}` is not a DNS domain{why}"),
                        )
                        .hint("list the extra domains the namespaces' Ingress hosts may use, e.g. apps.example.ca"),
                    );
                }
            }
        }
        _ => {
            if !ex.allow.is_empty() {
                out.push(
                    Diagnostic::error(
                        allow,
                        format!(
                            "an exception to `{}` waives the rule and takes no `allow` list",
                            ex.rule
                        ),
                    )
                    .hint("remove `allow`"),
                );
            }
        }
    }
    entries
}

#[cfg(test)]
mod tests;
