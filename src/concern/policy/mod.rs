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

pub mod coverage;
pub mod department;
pub mod derived;
pub mod enforcement;
pub mod engine;
pub mod map;
mod registry;
pub mod routes;
pub mod windows;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use crate::clock::Date;
use crate::diag::{Diagnostic, nearest};
use crate::manifest::{Manifest, RenderError};
use crate::model::{Model, label};
use crate::names;
use crate::profile::{EnforcementMode, Exception, Policy};
use crate::source::FieldPath;

pub use crate::components::internal_lb_annotation;
pub use registry::{Form as RegistryForm, normalise_registry, parse as parse_registry};

/// The policy rules an exception may waive.
pub const POLICY_RULES: &[&str] = &[
    "allowedRegistries",
    "requiredAnnotations",
    "uniqueIngressHosts",
    "ingressHostsInDomain",
    "internalLoadBalancers",
    "noNodePorts",
    "requiredLimits",
];

/// One check, the same for both engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    AllowedRegistries,
    RequiredAnnotations,
    IngressHostsInDomain,
    UniqueIngressHosts,
    InternalLoadBalancers,
    NamespaceAnnotations,
    WindowsPods,
    RouteHostsInDomain,
    UniqueRouteHosts,
    GatewayParents,
    NoNodePorts,
    RequiredLimits,
    DepartmentLabel,
}

impl Rule {
    /// The profile field (and exception `rule`) this check comes from.
    pub fn field(self) -> &'static str {
        match self {
            Rule::AllowedRegistries => "allowedRegistries",
            Rule::RequiredAnnotations => "requiredAnnotations",
            Rule::IngressHostsInDomain => "ingressHostsInDomain",
            Rule::UniqueIngressHosts => "uniqueIngressHosts",
            Rule::InternalLoadBalancers => "internalLoadBalancers",
            Rule::NamespaceAnnotations => "propagateNamespaceAnnotations",
            Rule::WindowsPods => "workloads.windows",
            // The Ingress rules cover Gateway API routes too, waivers included:
            // otherwise a route would be the way around them.
            Rule::RouteHostsInDomain => "ingressHostsInDomain",
            Rule::UniqueRouteHosts => "uniqueIngressHosts",
            Rule::GatewayParents => "cluster.gateways",
            Rule::NoNodePorts => "noNodePorts",
            Rule::RequiredLimits => "requiredLimits",
            Rule::DepartmentLabel => "departmentLabel",
        }
    }
    /// Object names: `allowed-registries`, ….
    pub fn slug(self) -> &'static str {
        match self {
            Rule::AllowedRegistries => "allowed-registries",
            Rule::RequiredAnnotations => "required-annotations",
            Rule::IngressHostsInDomain => "ingress-hosts-in-domain",
            Rule::UniqueIngressHosts => "unique-ingress-hosts",
            Rule::InternalLoadBalancers => "internal-load-balancers",
            Rule::NamespaceAnnotations => "namespace-annotations",
            Rule::WindowsPods => "windows-pods",
            Rule::RouteHostsInDomain => "route-hosts-in-domain",
            Rule::UniqueRouteHosts => "unique-route-hosts",
            Rule::GatewayParents => "gateway-parents",
            Rule::NoNodePorts => "no-node-ports",
            Rule::RequiredLimits => "required-limits",
            Rule::DepartmentLabel => "department-label",
        }
    }
}

/// Where one instance of a rule applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every namespace but these.
    AllBut(Vec<String>),
    /// Only these namespaces.
    Only(Vec<String>),
}

/// One instance of a rule: its scope and parameters, and the waiver it carries out.
#[derive(Debug, Clone)]
pub struct Instance {
    pub rule: Rule,
    /// Object name suffix after the rule's slug ("" for the cluster-wide instance).
    pub suffix: String,
    pub scope: Scope,
    /// Parameters as an object of named values (Gatekeeper `parameters`, CEL `variables`).
    pub params: Value,
    /// Annotations for the rendered objects (waiver owner, ticket, expiry).
    pub annotations: BTreeMap<String, String>,
    /// Deny, or only warn or audit (`policy.enforcement`, set by `enforcement::split`).
    pub mode: EnforcementMode,
}

impl Instance {
    pub fn name(&self) -> String {
        if self.suffix.is_empty() {
            self.rule.slug().to_owned()
        } else {
            format!("{}-{}", self.rule.slug(), self.suffix)
        }
    }

    /// Metadata of an object rendered for this instance, under `name`: our
    /// label and the instance's waiver annotations, the same for every engine.
    pub fn metadata(&self, name: &str) -> ObjectMeta {
        ObjectMeta {
            annotations: (!self.annotations.is_empty()).then(|| self.annotations.clone()),
            ..crate::manifest::meta(name, None)
        }
    }
}

fn registries(list: &[String]) -> Vec<String> {
    let set: BTreeSet<String> = list
        .iter()
        .filter_map(|r| normalise_registry(r).ok())
        .collect();
    set.into_iter().collect()
}

/// The annotation that says which exemptions kharden derived for the
/// platform components, and why (`derived`).
pub const DERIVED: &str = crate::components::EXEMPTIONS;

/// Every rule instance the profile asks for, in a fixed order.
pub fn plan(m: &Model) -> Vec<Instance> {
    let p = &m.profile;
    let Some(pol) = &p.policy else {
        return Vec::new();
    };
    let exempt: BTreeSet<String> = pol.exempt_namespaces.iter().cloned().collect();
    let derived = derived::derive(m);
    let mut out = Vec::new();
    let mut rule = |rule: Rule, params: Value, narrow: &dyn Fn(&Exception) -> Option<Value>| {
        let exs: Vec<&Exception> = p
            .exceptions
            .iter()
            .filter(|e| e.rule == rule.field())
            .collect();
        let mut excluded = exempt.clone();
        let mut waivers = Vec::new();
        let mut narrowed = Vec::new();
        for ex in &exs {
            let nss: Vec<String> = ex
                .namespaces
                .iter()
                .filter(|n| !exempt.contains(*n))
                .cloned()
                .collect();
            excluded.extend(nss.iter().cloned());
            let note = format!(
                "{} ({}, expires {}): {}",
                ex.ticket,
                ex.owner,
                ex.expires,
                ex.namespaces.join(", ")
            );
            match narrow(ex) {
                Some(params) if !nss.is_empty() => narrowed.push(Instance {
                    mode: EnforcementMode::Deny,
                    rule,
                    suffix: names::slug(&ex.ticket, 30),
                    scope: Scope::Only(nss),
                    params,
                    annotations: BTreeMap::from([
                        ("kharden.dev/exception-owner".to_owned(), ex.owner.clone()),
                        ("kharden.dev/exception-ticket".to_owned(), ex.ticket.clone()),
                        (
                            "kharden.dev/exception-expires".to_owned(),
                            ex.expires.clone(),
                        ),
                    ]),
                }),
                _ => waivers.push(note),
            }
        }
        let mut annotations = BTreeMap::new();
        if !waivers.is_empty() {
            annotations.insert("kharden.dev/waived".to_owned(), waivers.join("; "));
        }
        // The platform components' exemptions (`derived`): a namespace the
        // profile does not exempt or waive leaves the rule, or (registries)
        // gets an instance of its own that also allows the component's images.
        let d = derived::for_rule(&derived, rule);
        let mut notes = d.everywhere_reasons.clone();
        for (ns, (allow, reasons)) in &d.namespaces {
            if excluded.contains(ns) {
                continue;
            }
            excluded.insert(ns.clone());
            if rule == Rule::AllowedRegistries {
                let mut all: Vec<String> = params["registries"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
                all.extend(allow.iter().cloned());
                narrowed.push(Instance {
                    mode: EnforcementMode::Deny,
                    rule,
                    suffix: format!("in-{ns}"),
                    scope: Scope::Only(vec![ns.clone()]),
                    params: json!({ "registries": registries(&all) }),
                    annotations: BTreeMap::from([(DERIVED.to_owned(), reasons.join("; "))]),
                });
            } else {
                notes.push(format!("{ns}: {}", reasons.join("; ")));
            }
        }
        if !notes.is_empty() {
            annotations.insert(DERIVED.to_owned(), notes.join("; "));
        }
        out.push(Instance {
            mode: EnforcementMode::Deny,
            rule,
            suffix: String::new(),
            scope: Scope::AllBut(excluded.into_iter().collect()),
            params,
            annotations,
        });
        out.extend(narrowed);
    };
    if !pol.allowed_registries.is_empty() {
        // The mesh's proxy is injected into every meshed pod, waived or not.
        let d = derived::for_rule(&derived, Rule::AllowedRegistries);
        let mut base = pol.allowed_registries.clone();
        base.extend(d.everywhere.iter().cloned());
        rule(
            Rule::AllowedRegistries,
            json!({ "registries": registries(&base) }),
            &|ex| {
                let mut all = base.clone();
                all.extend(ex.allow.iter().cloned());
                for ns in &ex.namespaces {
                    if let Some((allow, _)) = d.namespaces.get(ns) {
                        all.extend(allow.iter().cloned());
                    }
                }
                Some(json!({ "registries": registries(&all) }))
            },
        );
    }
    if !pol.required_annotations.is_empty() {
        let keys: BTreeSet<&String> = pol.required_annotations.iter().collect();
        rule(
            Rule::RequiredAnnotations,
            json!({ "annotations": keys }),
            &|ex| {
                let left: Vec<&&String> = keys.iter().filter(|k| !ex.allow.contains(**k)).collect();
                (!ex.allow.is_empty() && !left.is_empty()).then(|| json!({ "annotations": left }))
            },
        );
    }
    let domain = p.cluster.ingress_domain.clone().unwrap_or_default();
    if pol.ingress_hosts_in_domain {
        for r in [Rule::IngressHostsInDomain, Rule::RouteHostsInDomain] {
            rule(
                r,
                json!({ "domains": [domain.to_ascii_lowercase()] }),
                &|ex| {
                    let mut all: BTreeSet<String> =
                        ex.allow.iter().map(|d| d.to_ascii_lowercase()).collect();
                    all.insert(domain.to_ascii_lowercase());
                    (!ex.allow.is_empty()).then(|| json!({ "domains": all }))
                },
            );
        }
    }
    if pol.unique_ingress_hosts {
        // The native engine cannot see other Ingresses; it confines each
        // namespace's hosts to `<namespace>.<domain>` and below instead (see vap).
        for r in [Rule::UniqueIngressHosts, Rule::UniqueRouteHosts] {
            rule(r, json!({ "domain": domain.to_ascii_lowercase() }), &|_| {
                None
            });
        }
    }
    if !p.cluster.gateways.is_empty() {
        rule(
            Rule::GatewayParents,
            json!({ "gateways": routes::allowed_parents(m) }),
            &|_| None,
        );
    }
    if pol.internal_load_balancers {
        let (key, value) = internal_lb_annotation(p.cluster.platform).unwrap_or(("", ""));
        rule(
            Rule::InternalLoadBalancers,
            json!({ "annotation": key, "value": value, "platform": p.cluster.platform }),
            &|_| None,
        );
    }
    if pol.no_node_ports {
        rule(Rule::NoNodePorts, json!({}), &|_| None);
    }
    if !pol.required_limits.is_empty() {
        let resources: BTreeSet<&String> = pol.required_limits.iter().collect();
        rule(
            Rule::RequiredLimits,
            json!({ "resources": resources }),
            &|_| None,
        );
    }
    coverage::leave_to_namespaces(m, pol, &mut out);
    // Per-namespace rules: kharden knows each namespace's values at render time.
    for ns in &p.namespaces {
        if exempt.contains(&ns.name) {
            continue;
        }
        let values: Vec<Value> = pol
            .propagate_namespace_annotations
            .iter()
            .filter_map(|k| {
                ns.annotations
                    .get(k)
                    .map(|v| json!({ "key": k, "value": v }))
            })
            .collect();
        if !values.is_empty() {
            out.push(Instance {
                mode: EnforcementMode::Deny,
                rule: Rule::NamespaceAnnotations,
                suffix: ns.name.clone(),
                scope: Scope::Only(vec![ns.name.clone()]),
                params: json!({ "annotations": values }),
                annotations: BTreeMap::new(),
            });
        }
    }
    let windows: Vec<String> = p
        .namespaces
        .iter()
        .filter(|n| n.workloads.as_ref().is_some_and(|w| w.windows) && !exempt.contains(&n.name))
        .map(|n| n.name.clone())
        .collect();
    if !windows.is_empty() {
        out.push(Instance {
            mode: EnforcementMode::Deny,
            rule: Rule::WindowsPods,
            suffix: String::new(),
            scope: Scope::Only(windows),
            params: windows::params(pol),
            annotations: BTreeMap::new(),
        });
    }
    out.extend(department::instance(m, pol, &exempt));
    enforcement::split(&pol.enforcement, out)
}

/// The native engine's fixed CEL per rule (`engine::cel::render`, `routes`): derived variables (after the parameter variables) and
/// validations as (expression, messageExpression).
pub struct Cel {
    pub variables: Vec<(&'static str, String)>,
    pub validations: Vec<(&'static str, &'static str)>,
}

pub fn render(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    let Some(pol) = &m.profile.policy else {
        return Ok(Vec::new());
    };
    engine::of(pol.engine).render(m, &plan(m))
}

/// The notes `render` prints where a rule is weaker on the chosen engine.
pub fn notes(m: &Model) -> Vec<String> {
    match &m.profile.policy {
        Some(pol) => engine::of(pol.engine).notes(m, pol),
        None => Vec::new(),
    }
}

pub fn validate(m: &Model, _plan: &mut crate::plan::Plan, out: &mut Vec<Diagnostic>) {
    let p = &m.profile;
    let ns_names: BTreeSet<&str> = p.namespaces.iter().map(|n| n.name.as_str()).collect();
    if let Some(pol) = &p.policy {
        validate_policy(m, pol, out);
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
    for (i, ex) in p.exceptions.iter().enumerate() {
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
                validate_allow(pol, ex, &base, out);
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
            Ok(_) => {}
        }
    }
}

fn validate_policy(m: &Model, pol: &Policy, out: &mut Vec<Diagnostic>) {
    let p = &m.profile;
    let base = FieldPath::root().key("policy");
    windows::validate(pol, out);
    map::validate(m, pol, out);
    department::validate(m, pol, out);
    enforcement::validate(pol, out);
    for (i, n) in pol.exempt_namespaces.iter().enumerate() {
        label(out, &base.key("exemptNamespaces").index(i), n);
    }
    for (i, r) in pol.allowed_registries.iter().enumerate() {
        registry_entry(out, &base.key("allowedRegistries").index(i), r);
    }
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
}

fn registry_entry(out: &mut Vec<Diagnostic>, path: &FieldPath, r: &str) {
    if let Err(e) = normalise_registry(r) {
        out.push(
            Diagnostic::error(path.clone(), format!("`{r}` is not a registry entry: {e}"))
                .hint("write `registry.example.com` (every image there), `registry.example.com/team/*` (everything under a path), `registry.example.com/team/app` (one repository), or `…/app:1.2` / `…/app@sha256:…` (one image); Docker Hub is `docker.io/library/nginx`"),
        );
    }
}

/// Check an exception's `allow` list against what its rule can take.
fn validate_allow(pol: &Policy, ex: &Exception, base: &FieldPath, out: &mut Vec<Diagnostic>) {
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
            for (i, r) in ex.allow.iter().enumerate() {
                registry_entry(out, &base.key("allow").index(i), r);
            }
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
}

#[cfg(test)]
mod tests;
