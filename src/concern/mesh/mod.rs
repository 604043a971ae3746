//! The service mesh: Istio (mTLS, L7 authorization, egress scoping, access
//! logging) or Linkerd (the same intent in its policy CRDs), rendered as typed
//! serde structs of our own and checked against the strict CRD schemas.
//!
//! The rule that ties L7 to L4: what the NetworkPolicies allow by default (same
//! namespace, the ingress controller, the mesh's ingress gateway) and every flow
//! the profile grants, L7 allows too, so turning the mesh on never breaks a
//! granted flow. `mesh.authorization` rules are the exception: a source named
//! there gets only what its rules say (that is the point of an L7 rule).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use k8s_openapi::api::core::v1::ConfigMap;
use serde::Serialize;

use crate::bundle::manifest::{Manifest, RenderError, custom, meta};
use crate::concern::metadata::{NamespaceMeta, inner_meta};
use crate::input::diag::Diagnostic;
use crate::input::profile::{
    Direction, MeshAuthorization, MeshProvider, MtlsMode, NamespaceMesh, NamespaceSpec,
    OutboundTraffic,
};
use crate::input::source::FieldPath;
use crate::k8s::names;
use crate::k8s::net::Cidr;
use crate::pipeline::flows::{
    Declared, End, ISTIO_NS, LINKERD_NS, PortNum, PortSpec, denies, external_hosts, gateway_hosts,
    meshed, runs_windows,
};
use crate::pipeline::model::{Model, label};

mod grants;
mod istio;
mod istio_types;
mod linkerd;
pub(crate) mod sidecar;
#[cfg(test)]
mod tests;
mod validate;

pub(crate) use grants::{allowances, outside_namespaces};
use istio::render_istio;
use linkerd::{render_linkerd, server_name};
pub(crate) use validate::validate;
use validate::{linkerd_rule_ports, rule_ports};

/// Linkerd's default trust domain; identities are `<sa>.<ns>.serviceaccount.identity.linkerd.<domain>`.
const LINKERD_DOMAIN: &str = "cluster.local";

fn provider(m: &Model) -> MeshProvider {
    m.profile
        .mesh
        .as_ref()
        .map_or(MeshProvider::None, |x| x.provider)
}

// ---- namespace metadata ----

/// What the mesh needs on a tenant Namespace: injection (off, and said so, for
/// Windows namespaces), and for Linkerd its default deny, proxy sizing and log.
pub(crate) fn namespace_meta(m: &Model, ns: &NamespaceSpec) -> NamespaceMeta {
    NamespaceMeta {
        labels: namespace_labels(m, ns),
        annotations: namespace_annotations(m, ns),
    }
}

/// Labels the mesh needs on a tenant Namespace (sidecar injection; off, and
/// said so, for Windows namespaces).
fn namespace_labels(m: &Model, ns: &NamespaceSpec) -> BTreeMap<String, String> {
    match provider(m) {
        MeshProvider::Istio => {
            let v = if runs_windows(ns) {
                "disabled"
            } else {
                "enabled"
            };
            BTreeMap::from([("istio-injection".to_owned(), v.to_owned())])
        }
        _ => BTreeMap::new(),
    }
}

/// Annotations the mesh needs on a tenant Namespace (Linkerd injection, default deny, access log).
fn namespace_annotations(m: &Model, ns: &NamespaceSpec) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    if provider(m) == MeshProvider::Linkerd {
        if runs_windows(ns) {
            a.insert("linkerd.io/inject".to_owned(), "disabled".to_owned());
            return a;
        }
        a.insert("linkerd.io/inject".to_owned(), "enabled".to_owned());
        a.insert(
            "config.linkerd.io/default-inbound-policy".to_owned(),
            "deny".to_owned(),
        );
        // Without these the proxy gets the LimitRange defaults, sized for apps.
        let r = sidecar::resources(m);
        for (part, q) in [("request", r.requests()), ("limit", r.limits())] {
            for (k, v) in q {
                a.insert(format!("config.linkerd.io/proxy-{k}-{part}"), v);
            }
        }
        if m.profile.mesh.as_ref().is_some_and(|x| x.access_logging) {
            a.insert("config.linkerd.io/access-log".to_owned(), "json".to_owned());
        }
    }
    a
}

/// `api.github.com` -> `api-github-com`, `*.github.com` -> `wildcard-github-com`.
fn host_slug(h: &str) -> String {
    h.replace("*.", "wildcard.").replace('.', "-")
}

/// Whether `c` lies inside Linkerd's default `clusterNetworks` (its install
/// value: 10.0.0.0/8, 100.64.0.0/10, 172.16.0.0/12, 192.168.0.0/16,
/// fd00::/8), which an EgressNetwork without `networks` leaves alone.
fn in_linkerd_cluster_networks(c: &Cidr) -> bool {
    const fn v4(a: u8, b: u8, prefix: u8) -> Cidr {
        Cidr {
            addr: IpAddr::V4(Ipv4Addr::new(a, b, 0, 0)),
            prefix,
        }
    }
    const DEFAULT: [Cidr; 5] = [
        v4(10, 0, 8),
        v4(100, 64, 10),
        v4(172, 16, 12),
        v4(192, 168, 16),
        Cidr {
            addr: IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 0)),
            prefix: 8,
        },
    ];
    DEFAULT.iter().any(|d| d.contains(c))
}

/// The egress flows `ns` declares to CIDR blocks, each port as written beside
/// its parsed form. `from` holds the flows from `ns` (see `grants::group`).
fn cidr_flows<'a>(
    ns: &'a NamespaceSpec,
    from: &'a [&'a crate::pipeline::flows::Flow],
) -> impl Iterator<Item = (&'a str, Vec<(&'a str, &'a PortSpec)>)> + 'a {
    let declared = from
        .iter()
        .filter(|f| f.owner == ns.name && f.declared == Declared::Egress);
    ns.network
        .iter()
        .flat_map(|n| &n.egress)
        .zip(declared)
        .filter_map(|(spec, f)| match &f.dst {
            End::Block { cidr, .. } => Some((
                cidr.as_str(),
                spec.ports
                    .iter()
                    .map(String::as_str)
                    .zip(f.ports.iter())
                    .collect(),
            )),
            End::Pods { .. } => None,
        })
}

/// Egress flows to CIDR blocks with their single TCP ports (what a ServiceEntry
/// can carry), by block.
fn cidr_egress(
    ns: &NamespaceSpec,
    from: &[&crate::pipeline::flows::Flow],
) -> BTreeMap<String, BTreeSet<u16>> {
    let mut out: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    for (block, ports) in cidr_flows(ns, from) {
        let set = out.entry(block.to_owned()).or_default();
        for (_, p) in ports {
            if let (PortNum::Number(n), "TCP") = (&p.port, p.protocol.as_str()) {
                set.insert(*n);
            }
        }
    }
    out.retain(|_, p| !p.is_empty());
    out
}

/// Egress flows a REGISTRY_ONLY mesh cannot carry: UDP, ranges, named ports or no ports.
fn cidr_egress_gaps(ns: &NamespaceSpec, from: &[&crate::pipeline::flows::Flow]) -> Vec<String> {
    let mut gaps = Vec::new();
    for (block, ports) in cidr_flows(ns, from) {
        if ports.is_empty() {
            gaps.push(format!("{block} (all ports)"));
        }
        for (text, p) in ports {
            if !matches!((&p.port, p.protocol.as_str()), (PortNum::Number(_), "TCP")) {
                gaps.push(format!("{block}:{text}"));
            }
        }
    }
    gaps
}

/// Flows and L7 rules from a Windows namespace into a meshed one: its pods
/// have no sidecar, so no mesh identity and no mTLS, and the destination's
/// sidecars refuse them (Linkerd's inbound default is deny; Istio's STRICT
/// refuses plaintext and allow-nothing refuses unidentified sources). The
/// rules are still rendered (they say the intent), and this says they cannot
/// hold until the source runs in the mesh.
fn windows_flow_gaps(m: &Model) -> Vec<String> {
    let Some(mesh) = &m.profile.mesh else {
        return Vec::new();
    };
    let by_name: BTreeMap<&str, &NamespaceSpec> = m
        .profile
        .namespaces
        .iter()
        .map(|n| (n.name.as_str(), n))
        .collect();
    let refuses = |d: &NamespaceSpec| {
        let strict = d.mesh.as_ref().and_then(|n| n.mtls).unwrap_or(mesh.mtls) == MtlsMode::Strict;
        meshed(m, d)
            && (mesh.provider == MeshProvider::Linkerd
                || strict
                || denies(m, d, Direction::Ingress))
    };
    let mut gaps = BTreeSet::new();
    for f in m.flows() {
        if let (End::Pods { namespace: src, .. }, End::Pods { namespace: dst, .. }) =
            (&f.src, &f.dst)
            && let (Some(s), Some(d)) = (by_name.get(src.as_str()), by_name.get(dst.as_str()))
            && runs_windows(s)
            && refuses(d)
        {
            gaps.insert((dst.clone(), src.clone(), "flow"));
        }
    }
    for d in &m.profile.namespaces {
        for a in d.mesh.iter().flat_map(|x| &x.authorization) {
            if let Some(src) = &a.from.namespace
                && by_name.get(src.as_str()).is_some_and(|s| runs_windows(s))
                && refuses(d)
            {
                gaps.insert((d.name.clone(), src.clone(), "mesh authorization rule"));
            }
        }
    }
    gaps.into_iter()
        .map(|(dst, src, what)| format!(
            "warning: the {what} from `{src}` into `{dst}` cannot hold: `{src}` runs on Windows nodes without a sidecar, so its requests carry no mesh identity or mTLS, and `{dst}`'s sidecars refuse them; serve the client from a Linux namespace, or take `{dst}` out of the mesh"
        ))
        .collect()
}

pub(crate) fn notes(m: &Model) -> Vec<String> {
    let mut out = Vec::new();
    let Some(mesh) = &m.profile.mesh else {
        return out;
    };
    out.extend(windows_flow_gaps(m));
    for ns in m.profile.namespaces.iter().filter(|n| runs_windows(n)) {
        let hosts = external_hosts(m, ns);
        if !hosts.is_empty() {
            out.push(format!(
                "warning: namespace `{}` runs on Windows nodes without a sidecar, so the mesh cannot carry its external hosts ({}) through the egress gateway and they stay closed; allow their addresses with an egress `cidr` flow if the namespace needs them",
                ns.name,
                hosts.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")
            ));
        }
        out.push(format!(
            "note: namespace `{}` runs on Windows nodes, where the mesh's Linux sidecar cannot run: it is not injected, no mesh policy applies to it, and only its NetworkPolicies (on a CNI that enforces them on Windows) protect it; meshed clients reach it without mTLS",
            ns.name
        ));
    }
    let listed = m
        .profile
        .namespaces
        .iter()
        .any(|ns| ns.mesh.as_ref().is_some_and(|x| !x.services.is_empty()));
    match mesh.provider {
        MeshProvider::Istio => {
            let from = grants::flows_by(m.flows(), |f| &f.src);
            for ns in &m.profile.namespaces {
                let gaps = cidr_egress_gaps(ns, grants::group(&from, ns));
                if mesh.outbound_traffic == OutboundTraffic::RegistryOnly && !gaps.is_empty() {
                    out.push(format!(
                        "note: namespace `{}`: with `outboundTraffic: registryOnly` the mesh carries egress to CIDRs only for single TCP ports (as ServiceEntries); {} stay blocked by the sidecar although the NetworkPolicies allow them",
                        ns.name,
                        gaps.join(", ")
                    ));
                }
                let wildcards: Vec<String> = external_hosts(m, ns)
                    .into_iter()
                    .filter(|h| h.starts_with("*."))
                    .map(|h| format!("`{h}`"))
                    .collect();
                if !wildcards.is_empty() && denies(m, ns, Direction::Egress) {
                    out.push(format!(
                        "note: namespace `{}`: the wildcard host(s) {} cannot go through the egress gateway (TLS passthrough forwards to one resolved host; Istio needs an SNI proxy for wildcards), and its NetworkPolicies deny egress to the internet: add an egress `cidr` flow for their addresses, or list the exact hosts",
                        ns.name,
                        wildcards.join(", ")
                    ));
                }
            }
            if mesh.defaults.as_ref().is_some_and(|d| d.timeout.is_some()) {
                out.push(format!(
                    "note: `mesh.defaults.timeout` applies only to services listed in `namespaces[].mesh.services` (as their VirtualService route `timeout`): Istio's mesh config has no HTTP request timeout (`connectTimeout` is the TCP connect timeout) and a route's timeout is off unless set{}",
                    if listed { "" } else { "; the profile lists no services, so it is not rendered" }
                ));
            }
        }
        MeshProvider::Linkerd => {
            for ns in &m.profile.namespaces {
                let hosts = external_hosts(m, ns);
                if !hosts.is_empty() {
                    out.push(format!(
                        "note: namespace `{}`: Linkerd allows an external host only through a Gateway API TLSRoute (gateway.networking.k8s.io) attached to an EgressNetwork; kharden cannot validate that kind here and does not render it, so {} {}",
                        ns.name,
                        hosts.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", "),
                        if mesh.outbound_traffic == OutboundTraffic::RegistryOnly {
                            "stay blocked by the namespace's `Deny` EgressNetwork until you add one"
                        } else {
                            "are not restricted by the mesh (`outboundTraffic: allowAny`)"
                        }
                    ));
                }
                if mesh.outbound_traffic == OutboundTraffic::RegistryOnly {
                    let outside: Vec<String> = m.flows()
                        .iter()
                        .filter(|f| {
                            matches!(&f.src, End::Pods { namespace, .. } if *namespace == ns.name)
                        })
                        .filter_map(|f| match &f.dst {
                            End::Block { cidr, net: Ok(net), .. }
                                if !in_linkerd_cluster_networks(net) =>
                            {
                                Some(format!("`{cidr}`"))
                            }
                            _ => None,
                        })
                        .collect();
                    if !outside.is_empty() {
                        out.push(format!(
                            "note: namespace `{}`: the egress flow(s) to {} leave Linkerd's default `clusterNetworks`, so the `Deny` EgressNetwork blocks meshed traffic there although the NetworkPolicies allow it; attach a TCPRoute (gateway.networking.k8s.io, not rendered) or set `mesh.outboundTraffic: allowAny`",
                            ns.name,
                            outside.join(", ")
                        ));
                    }
                }
                if !denies(m, ns, Direction::Ingress) {
                    continue;
                }
                let routed: BTreeSet<String> = ns
                    .mesh
                    .iter()
                    .flat_map(|x| x.authorization.iter().enumerate())
                    .filter(|(_, a)| !a.methods.is_empty() || !a.paths.is_empty())
                    .flat_map(|(j, a)| linkerd_rule_ports(m, ns, a, rule_ports(m, ns, j)))
                    .filter_map(|p| server_name(&p))
                    .collect();
                if !routed.is_empty() {
                    out.push(format!(
                        "note: namespace `{}`: HTTPRoutes on Server(s) {} turn off Linkerd's automatic authorization of kubelet probes on those ports; serve probes on another port or authorize them on a route of their own",
                        ns.name,
                        routed.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
            if mesh.defaults.is_some() || listed {
                out.push("note: Linkerd has no mesh-wide timeout or retry default, and sets per-service ones by annotations on your Services or routes (`timeout.linkerd.io/*`, `retry.linkerd.io/*`); `mesh.defaults` and `mesh.services` are not rendered for Linkerd".to_owned());
            }
        }
        MeshProvider::None => {}
    }
    out
}

pub(crate) fn render(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    let mut out = Vec::new();
    match provider(m) {
        MeshProvider::Istio => render_istio(m, &mut out)?,
        MeshProvider::Linkerd => render_linkerd(m, &mut out)?,
        MeshProvider::None => {}
    }
    Ok(out)
}
