//! Who may reach a namespace, in mesh terms: the mesh's own L4 allowances
//! (its control plane, its gateways), and the grants both providers turn into
//! their own authorization, read from the allowance plan (defaults, routed
//! Gateways, the log collector, the profile's flows), so turning the mesh on
//! never breaks a granted flow; and the principals `mesh.authorization` names.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::input::profile::{Direction, MeshProvider, NamespaceSpec};
use crate::input::source::FieldPath;
use crate::pipeline::allowance::{Allowance, Contributions, LabelIn, Origin, Peer};
use crate::pipeline::flows::{
    EGRESS_GATEWAY_LABEL, End, Flow, ISTIO_NS, LINKERD_NS, PortSpec, gateway_hosts, meshed,
};
use crate::pipeline::model::Model;
/// The namespace of an Istio-style principal `<domain>/ns/<ns>/sa/<sa>`, and the SA.
pub(super) fn principal_parts(p: &str) -> Option<(&str, &str)> {
    let (_, rest) = p.split_once("/ns/")?;
    let (ns, sa) = rest.split_once("/sa/")?;
    (!ns.is_empty() && !sa.is_empty() && !sa.contains('/')).then_some((ns, sa))
}

/// A source the L4 layer lets into a namespace, in mesh terms.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Source {
    Namespace(String),
    /// One service account's pods (a Gateway's proxies).
    ServiceAccount {
        namespace: String,
        name: String,
    },
    Block {
        cidr: String,
        except: Vec<String>,
    },
}

/// One L4 grant into a namespace, named like its NetworkPolicy.
#[derive(Debug, Clone)]
pub(super) struct Grant {
    pub(super) name: String,
    pub(super) source: Source,
    /// TCP ports only (the mesh carries TCP); empty = all ports.
    pub(super) ports: Vec<PortSpec>,
}

/// Flows grouped by the namespace at one end (pod ends only), in profile order.
/// Each namespace reads its own group: scanning every flow for every namespace
/// is quadratic and dominated rendering at 10,000 namespaces.
pub(super) fn flows_by(flows: &[Flow], end: fn(&Flow) -> &End) -> BTreeMap<&str, Vec<&Flow>> {
    let mut out: BTreeMap<&str, Vec<&Flow>> = BTreeMap::new();
    for f in flows {
        if let End::Pods { namespace, .. } = end(f) {
            out.entry(namespace.as_str()).or_default().push(f);
        }
    }
    out
}

/// The group of `ns` in a `flows_by` map.
pub(super) fn group<'a>(
    by: &'a BTreeMap<&str, Vec<&'a Flow>>,
    ns: &NamespaceSpec,
) -> &'a [&'a Flow] {
    by.get(ns.name.as_str())
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The mesh's L4 allowances: sidecars reach their control plane (a Windows
/// namespace has none), Istio's egress gateway carries the external hosts, and
/// Istio's ingress gateway reaches every namespace.
pub(crate) fn allowances(m: &Model, c: &mut Contributions) {
    let Some(mesh) = &m.profile.mesh else {
        return;
    };
    // One copy of what every namespace's allowances share.
    let origin = Origin::new(
        "mesh",
        Arc::new(FieldPath::root().key("mesh").key("provider")),
    );
    let pods = |ns: &str, k: &str, v: &str| {
        Peer::pods(ns, Arc::new(BTreeMap::from([(k.to_owned(), v.to_owned())])))
    };
    let tcp =
        |ports: &[u16]| -> Arc<[PortSpec]> { ports.iter().map(|p| PortSpec::tcp(*p)).collect() };
    let (istiod, istiod_ports) = (pods(ISTIO_NS, "app", "istiod"), tcp(&[15012]));
    let (k, v) = EGRESS_GATEWAY_LABEL;
    let (egress_gw, egress_gw_ports) = (pods(ISTIO_NS, k, v), tcp(&[443, 8443]));
    let ingress_gw = pods(ISTIO_NS, "istio", "ingressgateway");
    let linkerd = Peer::PodsWithLabelIn(Box::new(LabelIn {
        namespace: LINKERD_NS.to_owned(),
        key: "linkerd.io/control-plane-component".to_owned(),
        values: vec!["destination".to_owned(), "identity".to_owned()],
    }));
    let linkerd_ports = tcp(&[8080, 8086, 8090]);
    let all_ports = tcp(&[]);
    for ns in &m.profile.namespaces {
        let sidecars = meshed(m, ns);
        let allow = |dir, name: &'static str, peer: &Peer, ports: &Arc<[PortSpec]>| {
            Allowance::new(
                &ns.name,
                dir,
                name,
                peer.clone(),
                ports.clone(),
                origin.clone(),
            )
        };
        match mesh.provider {
            MeshProvider::Istio => {
                if sidecars {
                    // Sidecars fetch config and certificates from istiod (xDS + CA on 15012).
                    c.allow(allow(
                        Direction::Egress,
                        "allow-istio-control-plane",
                        &istiod,
                        &istiod_ports,
                    ));
                    // External hosts are reached only through the egress gateway:
                    // its pods, never the internet. 443 is the Service port the
                    // sidecar addresses; 8443 the pod port the istio-egress chart
                    // maps it to (the istio/gateway chart keeps 443).
                    if !gateway_hosts(m, ns).is_empty() {
                        c.allow(allow(
                            Direction::Egress,
                            "allow-istio-egressgateway",
                            &egress_gw,
                            &egress_gw_ports,
                        ));
                    }
                }
                c.allow(allow(
                    Direction::Ingress,
                    "allow-from-istio-ingressgateway",
                    &ingress_gw,
                    &all_ports,
                ));
            }
            MeshProvider::Linkerd => {
                if sidecars {
                    // Proxies talk to identity (8080), destination (8086) and the
                    // policy controller (8090, in the destination pod).
                    c.allow(allow(
                        Direction::Egress,
                        "allow-linkerd-control-plane",
                        &linkerd,
                        &linkerd_ports,
                    ));
                }
            }
            MeshProvider::None => {}
        }
    }
}

/// The mesh's control-plane namespace, which flows may name.
pub(crate) fn outside_namespaces(m: &Model, out: &mut BTreeSet<String>) {
    match m.profile.mesh.as_ref().map(|x| x.provider) {
        Some(MeshProvider::Istio) => {
            out.insert(ISTIO_NS.to_owned());
        }
        Some(MeshProvider::Linkerd) => {
            out.insert(LINKERD_NS.to_owned());
        }
        _ => {}
    }
}

/// What the plan lets into `ns` that the mesh authorizes too, minus sources
/// that `mesh.authorization` governs.
pub(super) fn grants(m: &Model, ns: &NamespaceSpec) -> Vec<Grant> {
    let explicit: BTreeSet<String> = ns
        .mesh
        .iter()
        .flat_map(|x| &x.authorization)
        .flat_map(|a| {
            a.from.namespace.iter().cloned().chain(
                a.from
                    .principals
                    .iter()
                    .filter_map(|p| principal_parts(p).map(|(n, _)| n.to_owned())),
            )
        })
        .collect();
    let mut out = Vec::new();
    for a in m.allowances().of(&ns.name) {
        if a.direction != Direction::Ingress || !a.mesh {
            continue;
        }
        let source = match &a.peer {
            Peer::SameNamespace => Source::Namespace(ns.name.clone()),
            // The Gateway's proxies, not every pod beside them (validation
            // requires the service account with a mesh).
            Peer::Pods {
                namespace,
                service_account: Some(sa),
                ..
            } => Source::ServiceAccount {
                namespace: namespace.to_string(),
                name: sa.to_string(),
            },
            Peer::Pods { namespace, .. } => Source::Namespace(namespace.to_string()),
            Peer::PodsWithLabelIn(l) => Source::Namespace(l.namespace.clone()),
            // Only egress names several namespaces (a Gateway's proxies to its
            // routed namespaces); no ingress allowance does.
            Peer::Namespaces(_) => continue,
            Peer::Block { cidr, except } => Source::Block {
                cidr: cidr.clone(),
                except: except.clone(),
            },
        };
        if let Source::Namespace(n) | Source::ServiceAccount { namespace: n, .. } = &source
            && explicit.contains(n)
        {
            continue;
        }
        let tcp: Vec<PortSpec> = a
            .ports
            .iter()
            .filter(|p| p.protocol == "TCP")
            .cloned()
            .collect();
        if !a.ports.is_empty() && tcp.is_empty() {
            continue; // UDP/SCTP only: the mesh does not carry it.
        }
        out.push(Grant {
            name: a.name.to_string(),
            source,
            ports: tcp,
        });
    }
    out
}

/// Namespaces `ns` may send to (for the Sidecar's egress hosts). `flows` may be
/// all flows or only those from `ns`.
pub(super) fn destinations(ns: &NamespaceSpec, flows: &[&Flow]) -> BTreeSet<String> {
    flows
        .iter()
        .filter_map(|f| match (&f.src, &f.dst) {
            (End::Pods { namespace: s, .. }, End::Pods { namespace: d, .. })
                if *s == ns.name && *d != ns.name =>
            {
                Some(d.clone())
            }
            _ => None,
        })
        .collect()
}
