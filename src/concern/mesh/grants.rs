//! Who may reach a namespace, in mesh terms: the L4 grants (defaults, routed
//! Gateways, the log collector, the profile's flows) that both providers turn
//! into their own authorization, so turning the mesh on never breaks a granted
//! flow, and the principals `mesh.authorization` names.

use std::collections::{BTreeMap, BTreeSet};

use crate::flows::{Declared, End, Flow, ISTIO_NS, PortNum, PortSpec, denies};
use crate::model::Model;
use crate::profile::{Direction, MeshProvider, NamespaceSpec};

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

/// What L4 lets into `ns`, minus sources that `mesh.authorization` governs.
/// `flows` may be all flows or only those into `ns`.
pub(super) fn grants(
    m: &Model,
    ns: &NamespaceSpec,
    flows: &[&Flow],
    provider: MeshProvider,
) -> Vec<Grant> {
    let d = &m.profile.defaults.network;
    let mut out = Vec::new();
    if !denies(m, ns, Direction::Ingress) {
        return out;
    }
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
    let mut push = |name: String, source: Source, ports: Vec<PortSpec>| {
        if let Source::Namespace(n) | Source::ServiceAccount { namespace: n, .. } = &source
            && explicit.contains(n)
        {
            return;
        }
        out.push(Grant {
            name,
            source,
            ports,
        });
    };
    if d.allow_same_namespace {
        push(
            "allow-same-namespace".to_owned(),
            Source::Namespace(ns.name.clone()),
            vec![],
        );
    }
    if let Some(ic) = &d.allow_from_ingress_controller {
        push(
            "allow-from-ingress-controller".to_owned(),
            Source::Namespace(ic.namespace.clone()),
            vec![],
        );
    }
    for g in crate::flows::routed_into(m, &ns.name) {
        // The Gateway's proxies, not every pod beside them (validation requires
        // the service account with a mesh).
        let source = match &g.service_account {
            Some(sa) => Source::ServiceAccount {
                namespace: g.proxy_namespace().to_owned(),
                name: sa.clone(),
            },
            None => Source::Namespace(g.proxy_namespace().to_owned()),
        };
        push(crate::flows::grant_name(g), source, vec![]);
    }
    if provider == MeshProvider::Istio {
        push(
            "allow-from-istio-ingressgateway".to_owned(),
            Source::Namespace(ISTIO_NS.to_owned()),
            vec![],
        );
    }
    if let Some((End::Pods { namespace, .. }, port)) = crate::flows::logging_target(m)
        && namespace == ns.name
        && let Some(l) = &m.profile.logging
    {
        push(
            "allow-from-log-collector".to_owned(),
            Source::Namespace(l.namespace.clone()),
            vec![PortSpec {
                port: PortNum::Number(port),
                protocol: "TCP".to_owned(),
            }],
        );
    }
    for f in flows {
        let End::Pods { namespace, .. } = &f.dst else {
            continue;
        };
        if *namespace != ns.name {
            continue;
        }
        let tcp: Vec<PortSpec> = f
            .ports
            .iter()
            .filter(|p| p.protocol == "TCP")
            .cloned()
            .collect();
        if !f.ports.is_empty() && tcp.is_empty() {
            continue; // UDP/SCTP only: the mesh does not carry it.
        }
        let name = match f.declared {
            Declared::Ingress => format!("allow-ingress-{}", f.index),
            Declared::Egress => format!("allow-ingress-from-{}-{}", f.owner, f.index),
        };
        let source = match &f.src {
            End::Pods { namespace, .. } => Source::Namespace(namespace.clone()),
            End::Block { cidr, except } => Source::Block {
                cidr: cidr.clone(),
                except: except.clone(),
            },
        };
        push(name, source, tcp);
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
