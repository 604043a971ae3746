//! Every rule instance the profile asks for, planned once from the validated
//! policy (`validated`): the cluster-wide instance of each rule, waivers that
//! narrow it per namespace, the platform components' derived exemptions
//! (`derived`), per-namespace rules, and the rollout's enforcement split.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::validated::{PolicyPlan, Waiver};
use super::{
    DERIVED, Instance, Rule, Scope, coverage, department, derived, enforcement, routes, windows,
};
use crate::input::profile::{EnforcementMode, Exception, Policy};
use crate::k8s::names;
use crate::pipeline::model::Model;

/// Registry entries in normal form (the profile's, parsed by `validate`) and
/// derived repositories, sorted, each once.
fn registries(list: &[String]) -> Vec<String> {
    let set: BTreeSet<&String> = list.iter().collect();
    set.into_iter().cloned().collect()
}

/// The normal forms of parsed registry entries.
fn normal(entries: &[super::registry::Entry]) -> impl Iterator<Item = String> + '_ {
    entries.iter().map(|e| e.normal.clone())
}

/// Every rule instance the profile asks for, in a fixed order.
pub(super) fn plan(
    m: &Model,
    pol: &Policy,
    v: &PolicyPlan,
    quota: &crate::pipeline::plan::quota::Quotas,
) -> Vec<Instance> {
    let p = &m.profile;
    let exempt: BTreeSet<String> = pol.exempt_namespaces.iter().cloned().collect();
    let derived = derived::derive(m, &v.registries);
    let mut out = Vec::new();
    let mut rule =
        |rule: Rule, params: Value, narrow: &dyn Fn(&Exception, &Waiver) -> Option<Value>| {
            let exs: Vec<(&Exception, &Waiver)> = p
                .exceptions
                .iter()
                .zip(&v.exceptions)
                .filter(|(e, _)| e.rule == rule.field())
                .collect();
            let mut excluded = exempt.clone();
            let mut waivers = Vec::new();
            let mut narrowed = Vec::new();
            for &(ex, waiver) in &exs {
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
                match narrow(ex, waiver) {
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
        let mut base: Vec<String> = normal(&v.registries).collect();
        base.extend(d.everywhere.iter().cloned());
        rule(
            Rule::AllowedRegistries,
            json!({ "registries": registries(&base) }),
            &|ex, waiver| {
                let mut all = base.clone();
                all.extend(normal(&waiver.registries));
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
            &|ex, _| {
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
                &|ex, _| {
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
            rule(
                r,
                json!({ "domain": domain.to_ascii_lowercase() }),
                &|_, _| None,
            );
        }
    }
    if !p.cluster.gateways.is_empty() {
        rule(
            Rule::GatewayParents,
            json!({ "gateways": routes::allowed_parents(m) }),
            &|_, _| None,
        );
    }
    if pol.internal_load_balancers {
        let (key, value) = m.platform().internal_lb_annotation().unwrap_or(("", ""));
        rule(
            Rule::InternalLoadBalancers,
            json!({ "annotation": key, "value": value, "platform": p.cluster.platform }),
            &|_, _| None,
        );
    }
    if pol.no_node_ports {
        rule(Rule::NoNodePorts, json!({}), &|_, _| None);
    }
    if !pol.required_limits.is_empty() {
        let resources: BTreeSet<&String> = pol.required_limits.iter().collect();
        rule(
            Rule::RequiredLimits,
            json!({ "resources": resources }),
            &|_, _| None,
        );
    }
    coverage::leave_to_namespaces(m, quota, pol, &mut out);
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
