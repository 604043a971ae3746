//! NetworkPolicies (L4, any CNI): each namespace's default deny, and the
//! allowances of the plan (`Model::allowances`) as policies. This concern
//! contributes the defaults' allowances (DNS to kube-dns, same namespace, the
//! ingress controller) and both halves of the profile's flows; the other
//! concerns contribute their own through the same hook.
//!
//! A flow is one intent with two ends. When team-a accepts team-b's frontend on
//! 8080/TCP, team-a gets the ingress half and team-b, when it denies egress, gets
//! the matching egress half; users never write both. A half is rendered only in
//! a profile namespace that denies that direction (the plan drops the others):
//! adding a policy of a direction to a namespace that does not deny it would
//! isolate its pods in that direction, which is the opposite of what a flow means.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::bundle::manifest::{Manifest, RenderError, meta};
use crate::concern::metadata::inner_meta;
use crate::concern::netpol::{egress_rule, ingress_rule, labels_selector, peer_of, policy};
use crate::input::diag::{Diagnostic, nearest};
use crate::input::profile::{Direction, NamespaceSpec, Peer as ProfilePeer};
use crate::input::source::FieldPath;
use crate::pipeline::allowance::{Allowance, Contributions, Isolation, Origin, Peer};
use crate::pipeline::flows::{Declared, End, Flow, PortNum, PortSpec, denies, no_labels};
use crate::pipeline::model::{Model, cidr, cidr_error, label, labels};

/// The profile's namespaces by name, built once per pass: flows look their
/// ends up here (a scan per flow is quadratic in namespaces).
type Index<'a> = BTreeMap<&'a str, &'a NamespaceSpec>;

fn index(m: &Model) -> Index<'_> {
    m.profile
        .namespaces
        .iter()
        .map(|n| (n.name.as_str(), n))
        .collect()
}

/// Namespaces outside the profile that flows may name: the listed ones, the
/// ingress controller's, and those the other concerns' components run in
/// (`plan.outside_namespaces`, filled before any concern validates).
fn external_namespaces(m: &Model, plan: &crate::pipeline::plan::Plan) -> BTreeSet<String> {
    let d = &m.profile.defaults.network;
    let mut out: BTreeSet<String> = d.external_namespaces.iter().cloned().collect();
    if let Some(r) = &d.allow_from_ingress_controller {
        out.insert(r.namespace.clone());
    }
    out.extend(plan.outside_namespaces.iter().cloned());
    out
}

pub(crate) fn validate(
    m: &Model,
    plan: &mut crate::pipeline::plan::Plan,
    out: &mut Vec<Diagnostic>,
) {
    let p = &m.profile;
    let defaults = FieldPath::root().key("defaults").key("network");
    if let Some(r) = &p.defaults.network.allow_from_ingress_controller {
        label(
            out,
            &defaults.key("allowFromIngressController").key("namespace"),
            &r.namespace,
        );
    }
    let ours: BTreeSet<&str> = p.namespaces.iter().map(|n| n.name.as_str()).collect();
    for (i, n) in p.defaults.network.external_namespaces.iter().enumerate() {
        let path = defaults.key("externalNamespaces").index(i);
        label(out, &path, n);
        if ours.contains(n.as_str()) {
            out.push(
                Diagnostic::error(
                    path,
                    format!("namespace `{n}` is in the profile, so it is not external"),
                )
                .hint("remove it from `externalNamespaces`"),
            );
        }
    }
    let external = external_namespaces(m, plan);
    let by_name = index(m);
    // The flows, resolved once, come in the order of the loop below.
    let mut flows = m.flows().iter();
    for ns in &p.namespaces {
        let Some(net) = &ns.network else { continue };
        let peers = net
            .ingress
            .iter()
            .map(|f| &f.from)
            .chain(net.egress.iter().map(|f| &f.to));
        for (peer, f) in peers.zip(&mut flows) {
            // The flow's other end, and where the profile names it.
            let (other, end) = match f.declared {
                Declared::Ingress => (&f.src, "from"),
                Declared::Egress => (&f.dst, "to"),
            };
            let fp = &f.path();
            let pp = fp.key(end);
            let before = out.len();
            check_peer(out, &pp, peer, other, &ours, &external);
            for (k, port, e) in &f.bad_ports {
                out.push(
                    Diagnostic::error(fp.key("ports").index(*k), format!("`{port}` is not a port: {e}"))
                        .hint("write `8080/TCP`, `53/UDP`, `8000-8100/TCP` or a named port such as `http/TCP`"),
                );
            }
            if out.len() == before {
                check_effect(m, &by_name, out, ns, f.declared, fp, other);
            }
        }
    }
}

fn check_peer(
    out: &mut Vec<Diagnostic>,
    pp: &FieldPath,
    peer: &ProfilePeer,
    end: &End,
    ours: &BTreeSet<&str>,
    external: &BTreeSet<String>,
) {
    if peer.namespace.is_none() && peer.pod_labels.is_empty() && peer.cidr.is_none() {
        out.push(
            Diagnostic::error(pp.clone(), format!("`{pp}` names no peer"))
                .hint("give a `namespace`, `podLabels` (or both), or a `cidr`"),
        );
    }
    if peer.cidr.is_some() && (peer.namespace.is_some() || !peer.pod_labels.is_empty()) {
        out.push(
            Diagnostic::error(
                pp.clone(),
                format!("`{pp}` mixes a `cidr` with namespace or pod selectors"),
            )
            .hint("split it into two flows: one by CIDR, one by selector"),
        );
    }
    if let Some(n) = &peer.namespace {
        let before = out.len();
        label(out, &pp.key("namespace"), n);
        if out.len() == before && !ours.contains(n.as_str()) && !external.contains(n) {
            let hint = match nearest(n, ours.iter().copied()) {
                Some(x) => format!(
                    "did you mean `{x}`? A namespace outside the profile must be listed in `defaults.network.externalNamespaces`"
                ),
                None => "list it in `defaults.network.externalNamespaces` if it lives outside the profile".to_owned(),
            };
            out.push(
                Diagnostic::error(
                    pp.key("namespace"),
                    format!("namespace `{n}` is neither in the profile nor listed as external"),
                )
                .hint(hint),
            );
        }
    }
    labels(out, &pp.key("podLabels"), &peer.pod_labels);
    if let Some(c) = &peer.cidr {
        let block = match end {
            End::Block { net: Ok(b), .. } => Some(*b),
            End::Block { net: Err(e), .. } => {
                cidr_error(out, &pp.key("cidr"), e);
                None
            }
            End::Pods { .. } => None,
        };
        for (k, e) in peer.except.iter().enumerate() {
            let ep = pp.key("except").index(k);
            if let (Some(block), Some(inner)) = (block, cidr(out, &ep, e))
                && !(block.contains(&inner) && inner != block)
            {
                out.push(Diagnostic::error(
                    ep,
                    format!("`{e}` does not lie strictly inside `{c}`"),
                ));
            }
        }
        if block.is_some_and(|b| b.prefix == 0) && peer.except.is_empty() {
            out.push(
                Diagnostic::error(
                    pp.key("cidr"),
                    format!("`{c}` is every address, which undoes default deny for this flow"),
                )
                .hint("name the blocks the workload really needs, or carve the internal ones out with `except`"),
            );
        }
    } else if !peer.except.is_empty() {
        out.push(Diagnostic::error(
            pp.key("except"),
            "`except` needs a `cidr` beside it".to_owned(),
        ));
    }
}

/// A flow neither of whose halves would be rendered has no effect; say so rather
/// than let the user believe it does something.
fn check_effect(
    m: &Model,
    by_name: &Index,
    out: &mut Vec<Diagnostic>,
    ns: &NamespaceSpec,
    declared: Declared,
    fp: &FieldPath,
    other: &End,
) {
    let other_ns = match other {
        End::Pods { namespace, .. } => by_name.get(namespace.as_str()).copied(),
        End::Block { .. } => None,
    };
    let (mine, theirs) = match declared {
        Declared::Ingress => (Direction::Ingress, Direction::Egress),
        Declared::Egress => (Direction::Egress, Direction::Ingress),
    };
    if denies(m, ns, mine) || other_ns.is_some_and(|o| denies(m, o, theirs)) {
        return;
    }
    let dir = match mine {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    };
    out.push(
        Diagnostic::error(
            fp.clone(),
            format!(
                "this flow has no effect: namespace `{}` does not deny {dir}, so it is open anyway",
                ns.name
            ),
        )
        .hint(format!(
            "add `{dir}` to `defaultDeny` (in `defaults.network` or the namespace's `network`), or remove the flow"
        )),
    );
}

// ---- the allowances ----

/// Each profile namespace's default deny, the defaults' allowances, and both
/// halves of every flow.
pub(crate) fn allowances(m: &Model, c: &mut Contributions) {
    let d = &m.profile.defaults.network;
    let defaults = FieldPath::root().key("defaults").key("network");
    // One copy of what every namespace's allowances share.
    let origin = |key: &str| Origin::new("network", Arc::new(defaults.key(key)));
    let (deny_default, dns_origin, same_origin, ic_origin) = (
        origin("defaultDeny"),
        origin("allowDns"),
        origin("allowSameNamespace"),
        origin("allowFromIngressController"),
    );
    let kube_dns = Peer::pods(
        "kube-system",
        Arc::new(BTreeMap::from([(
            "k8s-app".to_owned(),
            "kube-dns".to_owned(),
        )])),
    );
    let dns_ports: Arc<[PortSpec]> = Arc::new([
        PortSpec {
            port: PortNum::Number(53),
            protocol: "UDP".to_owned(),
        },
        PortSpec::tcp(53),
    ]);
    let all_ports: Arc<[PortSpec]> = Arc::new([]);
    for (i, ns) in m.profile.namespaces.iter().enumerate() {
        let (ingress, egress) = (
            denies(m, ns, Direction::Ingress),
            denies(m, ns, Direction::Egress),
        );
        if !(ingress || egress) {
            continue;
        }
        let own = ns.network.as_ref().and_then(|n| n.default_deny.as_ref());
        let deny_origin = match own {
            Some(_) => Origin::new(
                "network",
                Arc::new(
                    FieldPath::root()
                        .key("namespaces")
                        .index(i)
                        .key("network")
                        .key("defaultDeny"),
                ),
            ),
            None => deny_default.clone(),
        };
        c.isolate(
            &ns.name,
            Isolation {
                name: "default-deny",
                ingress,
                egress,
                origin: deny_origin,
            },
        );
        let here = |dir, name: &'static str, peer, ports: &Arc<[PortSpec]>, origin: &Origin| {
            Allowance::new(&ns.name, dir, name, peer, ports.clone(), origin.clone())
        };
        if d.allow_dns {
            c.allow(here(
                Direction::Egress,
                "allow-dns",
                kube_dns.clone(),
                &dns_ports,
                &dns_origin,
            ));
        }
        if d.allow_same_namespace {
            for dir in [Direction::Ingress, Direction::Egress] {
                c.allow(here(
                    dir,
                    "allow-same-namespace",
                    Peer::SameNamespace,
                    &all_ports,
                    &same_origin,
                ));
            }
        }
        if let Some(ic) = &d.allow_from_ingress_controller {
            c.allow(here(
                Direction::Ingress,
                "allow-from-ingress-controller",
                Peer::pods(&ic.namespace, no_labels()),
                &all_ports,
                &ic_origin,
            ));
        }
    }
    let by_name = index(m);
    for f in m.flows() {
        flow_halves(&by_name, f, c);
    }
}

/// One half on each end that holds pods in a profile namespace: ingress in the
/// destination namespace, egress in the source namespace. The half on the
/// declaring side keeps the short name; its mirror names the owner.
fn flow_halves(by_name: &Index, f: &Flow, c: &mut Contributions) {
    for (dir, here, there) in [
        (Direction::Ingress, &f.dst, &f.src),
        (Direction::Egress, &f.src, &f.dst),
    ] {
        let End::Pods { namespace, labels } = here else {
            continue;
        };
        if !by_name.contains_key(namespace.as_str()) {
            continue;
        }
        let (word, link) = match dir {
            Direction::Ingress => ("ingress", "from"),
            Direction::Egress => ("egress", "to"),
        };
        let declared_here = matches!(
            (dir, &f.declared),
            (Direction::Ingress, Declared::Ingress) | (Direction::Egress, Declared::Egress)
        );
        let name = if declared_here {
            format!("allow-{word}-{}", f.index)
        } else {
            format!("allow-{word}-{link}-{}-{}", f.owner, f.index)
        };
        let peer = match there {
            End::Pods { namespace, labels } => Peer::pods(namespace, labels.clone()),
            End::Block { cidr, except, .. } => Peer::Block {
                cidr: cidr.clone(),
                except: except.clone(),
            },
        };
        c.allow(Allowance {
            pods: labels.clone(),
            ..Allowance::new(
                namespace,
                dir,
                name,
                peer,
                f.ports.clone(),
                Origin::flow("network", f.at()),
            )
        });
    }
}

// ---- rendering ----

/// One NetworkPolicy in the making: the allowances of a namespace that share a name.
struct Policy<'a> {
    name: &'a str,
    pods: &'a BTreeMap<String, String>,
    ingress: Vec<NetworkPolicyIngressRule>,
    egress: Vec<NetworkPolicyEgressRule>,
}

/// The plan's NetworkPolicies: per namespace its default deny and a policy per
/// allowance name.
pub(crate) fn render(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    let by_name = index(m);
    let mut done = Vec::new();
    for (ns, plan) in m.allowances().namespaces() {
        // Objects in a profile namespace carry its propagated annotations.
        let metadata = |name: &str| match by_name.get(ns) {
            Some(spec) => inner_meta(m, spec, name),
            None => meta(name, Some(ns)),
        };
        if let Some(iso) = &plan.isolation {
            let mut types = Vec::new();
            if iso.ingress {
                types.push("Ingress".to_owned());
            }
            if iso.egress {
                types.push("Egress".to_owned());
            }
            done.push(Manifest::k8s(&NetworkPolicy {
                metadata: metadata(iso.name),
                spec: Some(NetworkPolicySpec {
                    pod_selector: Some(LabelSelector::default()),
                    policy_types: Some(types),
                    ..NetworkPolicySpec::default()
                }),
            })?);
        }
        let mut policies: Vec<Policy> = Vec::new();
        let mut at: BTreeMap<&str, usize> = BTreeMap::new();
        for a in &plan.allowances {
            let k = *at.entry(&a.name).or_insert_with(|| {
                policies.push(Policy {
                    name: &a.name,
                    pods: &a.pods,
                    ingress: Vec::new(),
                    egress: Vec::new(),
                });
                policies.len() - 1
            });
            let p = &mut policies[k];
            match a.direction {
                Direction::Ingress => p.ingress.push(ingress_rule(peer_of(&a.peer), &a.ports)),
                Direction::Egress => p.egress.push(egress_rule(peer_of(&a.peer), &a.ports)),
            }
        }
        for p in policies {
            let np = policy(
                metadata(p.name),
                labels_selector(p.pods),
                p.ingress,
                p.egress,
            );
            done.push(Manifest::k8s(&np)?);
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests;
