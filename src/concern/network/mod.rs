//! NetworkPolicies (L4, any CNI): default deny per direction, DNS to kube-dns,
//! same-namespace and ingress-controller allowances, the profile's flows, and
//! the flows kharden derives for the mesh control plane and the log collector.
//!
//! A flow is one intent with two ends. When team-a accepts team-b's frontend on
//! 8080/TCP, team-a gets the ingress half and team-b, when it denies egress, gets
//! the matching egress half; users never write both. A half is rendered only in
//! a profile namespace that denies that direction: adding a policy of a
//! direction to a namespace that does not deny it would isolate its pods in that
//! direction, which is the opposite of what a flow means.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use crate::components::{ES_HTTP, ES_TRANSPORT, Role};
use crate::concern::metadata::inner_meta;
use crate::concern::netpol::{
    egress_rule, ingress_rule, labels_selector, ns_selector, peer_of, pods_peer, policy, tcp,
};
use crate::diag::{Diagnostic, nearest};
use crate::flows::{
    Declared, End, Flow, ISTIO_NS, LINKERD_NS, PortNum, PortSpec, denies, logging_target,
    parse_port, resolve,
};
use crate::manifest::{Manifest, RenderError};
use crate::model::{Model, cidr, label, labels};
use crate::profile::{Direction, MeshProvider, NamespaceSpec, Peer};
use crate::source::FieldPath;

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

fn mesh_provider(m: &Model) -> MeshProvider {
    m.profile
        .mesh
        .as_ref()
        .map_or(MeshProvider::None, |x| x.provider)
}

/// Namespaces outside the profile that flows may name: the listed ones plus
/// those kharden itself talks to (ingress controller, mesh, logging).
fn external_namespaces(m: &Model) -> BTreeSet<String> {
    let d = &m.profile.defaults.network;
    let mut out: BTreeSet<String> = d.external_namespaces.iter().cloned().collect();
    if let Some(r) = &d.allow_from_ingress_controller {
        out.insert(r.namespace.clone());
    }
    for g in &m.profile.cluster.gateways {
        out.insert(g.proxy_namespace().to_owned());
    }
    match mesh_provider(m) {
        MeshProvider::Istio => {
            out.insert(ISTIO_NS.to_owned());
        }
        MeshProvider::Linkerd => {
            out.insert(LINKERD_NS.to_owned());
        }
        MeshProvider::None => {}
    }
    if let Some(l) = &m.profile.logging {
        out.insert(l.namespace.clone());
    }
    out
}

pub fn validate(m: &Model, _plan: &mut crate::plan::Plan, out: &mut Vec<Diagnostic>) {
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
    let external = external_namespaces(m);
    let by_name = index(m);
    for (i, ns) in p.namespaces.iter().enumerate() {
        let Some(net) = &ns.network else { continue };
        let base = FieldPath::root().key("namespaces").index(i).key("network");
        let peers = net
            .ingress
            .iter()
            .enumerate()
            .map(|(j, f)| (Declared::Ingress, j, &f.from, &f.ports))
            .chain(
                net.egress
                    .iter()
                    .enumerate()
                    .map(|(j, f)| (Declared::Egress, j, &f.to, &f.ports)),
            );
        for (declared, j, peer, ports) in peers {
            let (list, end) = match declared {
                Declared::Ingress => ("ingress", "from"),
                Declared::Egress => ("egress", "to"),
            };
            let fp = base.key(list).index(j);
            let pp = fp.key(end);
            let before = out.len();
            check_peer(out, &pp, peer, &ours, &external);
            for (k, port) in ports.iter().enumerate() {
                if let Err(e) = parse_port(port) {
                    out.push(
                        Diagnostic::error(fp.key("ports").index(k), format!("`{port}` is not a port: {e}"))
                            .hint("write `8080/TCP`, `53/UDP`, `8000-8100/TCP` or a named port such as `http/TCP`"),
                    );
                }
            }
            if out.len() == before {
                check_effect(m, &by_name, out, ns, declared, &fp, peer);
            }
        }
    }
}

fn check_peer(
    out: &mut Vec<Diagnostic>,
    pp: &FieldPath,
    peer: &Peer,
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
        let block = cidr(out, &pp.key("cidr"), c);
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
    peer: &Peer,
) {
    let other = resolve(&ns.name, peer);
    let other_ns = match &other {
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

// ---- rendering ----

/// The NetworkPolicies of every profile namespace.
pub fn render(m: &Model) -> Result<Vec<Manifest>, RenderError> {
    // Policies are serialized namespace by namespace: holding every policy object
    // to the end was the peak of a large fleet's memory.
    let mut done = Vec::new();
    let mut out = Vec::new();
    let d = &m.profile.defaults.network;
    let all = BTreeMap::new();
    let es = Elasticsearch::of(m);
    for ns in &m.profile.namespaces {
        let deny_in = denies(m, ns, Direction::Ingress);
        let deny_out = denies(m, ns, Direction::Egress);
        let every = LabelSelector::default;
        if deny_in || deny_out {
            let mut types = Vec::new();
            if deny_in {
                types.push("Ingress".to_owned());
            }
            if deny_out {
                types.push("Egress".to_owned());
            }
            out.push(NetworkPolicy {
                metadata: inner_meta(m, ns, "default-deny"),
                spec: Some(NetworkPolicySpec {
                    pod_selector: Some(every()),
                    policy_types: Some(types),
                    ..NetworkPolicySpec::default()
                }),
            });
        }
        if deny_out && d.allow_dns {
            let dns = NetworkPolicyPeer {
                namespace_selector: Some(ns_selector("kube-system")),
                pod_selector: Some(labels_selector(&BTreeMap::from([(
                    "k8s-app".to_owned(),
                    "kube-dns".to_owned(),
                )]))),
                ..NetworkPolicyPeer::default()
            };
            let ports = [
                PortSpec {
                    port: PortNum::Number(53),
                    protocol: "UDP".to_owned(),
                },
                tcp(53),
            ];
            out.push(policy(
                m,
                ns,
                "allow-dns",
                every(),
                vec![],
                vec![egress_rule(dns, &ports)],
            ));
        }
        if d.allow_same_namespace && (deny_in || deny_out) {
            let same = NetworkPolicyPeer {
                pod_selector: Some(every()),
                ..NetworkPolicyPeer::default()
            };
            let ingress = if deny_in {
                vec![ingress_rule(same.clone(), &[])]
            } else {
                vec![]
            };
            let egress = if deny_out {
                vec![egress_rule(same, &[])]
            } else {
                vec![]
            };
            out.push(policy(
                m,
                ns,
                "allow-same-namespace",
                every(),
                ingress,
                egress,
            ));
        }
        if deny_in && let Some(ic) = &d.allow_from_ingress_controller {
            out.push(policy(
                m,
                ns,
                "allow-from-ingress-controller",
                every(),
                vec![ingress_rule(pods_peer(&ic.namespace, &all), &[])],
                vec![],
            ));
        }
        // Only sidecars talk to the mesh's control plane; a Windows namespace has none.
        let sidecars = crate::flows::meshed(m, ns);
        match mesh_provider(m) {
            MeshProvider::Istio => {
                if deny_out && sidecars {
                    // Sidecars fetch config and certificates from istiod (xDS + CA on 15012).
                    let istiod = BTreeMap::from([("app".to_owned(), "istiod".to_owned())]);
                    out.push(policy(
                        m,
                        ns,
                        "allow-istio-control-plane",
                        every(),
                        vec![],
                        vec![egress_rule(pods_peer(ISTIO_NS, &istiod), &[tcp(15012)])],
                    ));
                    // External hosts are reached only through the egress gateway:
                    // its pods, never the internet. 443 is the Service port the
                    // sidecar addresses; 8443 the pod port the istio-egress chart
                    // maps it to (the istio/gateway chart keeps 443).
                    if !crate::flows::gateway_hosts(m, ns).is_empty() {
                        let (k, v) = crate::flows::EGRESS_GATEWAY_LABEL;
                        let gw = BTreeMap::from([(k.to_owned(), v.to_owned())]);
                        out.push(policy(
                            m,
                            ns,
                            "allow-istio-egressgateway",
                            every(),
                            vec![],
                            vec![egress_rule(
                                pods_peer(ISTIO_NS, &gw),
                                &[tcp(443), tcp(8443)],
                            )],
                        ));
                    }
                }
                if deny_in {
                    let gw = BTreeMap::from([("istio".to_owned(), "ingressgateway".to_owned())]);
                    out.push(policy(
                        m,
                        ns,
                        "allow-from-istio-ingressgateway",
                        every(),
                        vec![ingress_rule(pods_peer(ISTIO_NS, &gw), &[])],
                        vec![],
                    ));
                }
            }
            MeshProvider::Linkerd => {
                if deny_out && sidecars {
                    // Proxies talk to identity (8080), destination (8086) and the
                    // policy controller (8090, in the destination pod).
                    let peer = NetworkPolicyPeer {
                        namespace_selector: Some(ns_selector(LINKERD_NS)),
                        pod_selector: Some(LabelSelector {
                            match_expressions: Some(vec![LabelSelectorRequirement {
                                key: "linkerd.io/control-plane-component".to_owned(),
                                operator: "In".to_owned(),
                                values: Some(vec!["destination".to_owned(), "identity".to_owned()]),
                            }]),
                            ..LabelSelector::default()
                        }),
                        ..NetworkPolicyPeer::default()
                    };
                    out.push(policy(
                        m,
                        ns,
                        "allow-linkerd-control-plane",
                        every(),
                        vec![],
                        vec![egress_rule(peer, &[tcp(8080), tcp(8086), tcp(8090)])],
                    ));
                }
            }
            MeshProvider::None => {}
        }
        if let Some((peer, port)) = logging_target(m)
            && let Some(l) = &m.profile.logging
        {
            if l.namespace == ns.name && deny_out {
                out.push(policy(
                    m,
                    ns,
                    "allow-log-shipping",
                    every(),
                    vec![],
                    vec![egress_rule(peer_of(&peer), &[tcp(port)])],
                ));
            }
            if let End::Pods { namespace, .. } = &peer
                && *namespace == ns.name
                && deny_in
            {
                out.push(policy(
                    m,
                    ns,
                    "allow-from-log-collector",
                    every(),
                    vec![ingress_rule(pods_peer(&l.namespace, &all), &[tcp(port)])],
                    vec![],
                ));
            }
        }
        if let Some(es) = es.as_ref().filter(|e| e.namespace == ns.name) {
            for (name, ingress, egress) in es.rules(deny_in, deny_out) {
                out.push(policy(m, ns, name, es.selector(), ingress, egress));
            }
        }
        for np in out.drain(..) {
            done.push(Manifest::k8s(&np)?);
        }
    }
    let by_name = index(m);
    for f in m.flows() {
        for np in render_flow(m, &by_name, f) {
            done.push(Manifest::k8s(&np)?);
        }
    }
    if let Some(l) = &m.profile.logging
        && !m.profile.namespaces.iter().any(|n| n.name == l.namespace)
    {
        // The collector's own namespace accepts no traffic at all. Its egress stays
        // open: the collector must reach the API server, which no pod selector
        // names, and an Elasticsearch that may sit outside the cluster.
        out.push(NetworkPolicy {
            metadata: crate::manifest::meta("default-deny-ingress", Some(&l.namespace)),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(LabelSelector::default()),
                policy_types: Some(vec!["Ingress".to_owned()]),
                ingress: None,
                egress: None,
            }),
        });
        // Unless Elasticsearch runs there too (`elasticsearch.logging.svc`): then
        // the deny would cut the collector off from it.
        if let Some((End::Pods { namespace, .. }, port)) = logging_target(m)
            && namespace == l.namespace
        {
            out.push(NetworkPolicy {
                metadata: crate::manifest::meta("allow-from-log-collector", Some(&l.namespace)),
                spec: Some(NetworkPolicySpec {
                    pod_selector: Some(LabelSelector::default()),
                    policy_types: Some(vec!["Ingress".to_owned()]),
                    ingress: Some(vec![ingress_rule(
                        pods_peer(&l.namespace, &BTreeMap::new()),
                        &[tcp(port)],
                    )]),
                    egress: None,
                }),
            });
        }
        if let Some(es) = es.as_ref().filter(|e| e.namespace == l.namespace) {
            for (name, ingress, _) in es.rules(true, false) {
                out.push(NetworkPolicy {
                    metadata: crate::manifest::meta(name, Some(&l.namespace)),
                    spec: Some(NetworkPolicySpec {
                        pod_selector: Some(es.selector()),
                        policy_types: Some(vec!["Ingress".to_owned()]),
                        ingress: Some(ingress),
                        egress: None,
                    }),
                });
            }
        }
    }
    for np in &out {
        done.push(Manifest::k8s(np)?);
    }
    Ok(done)
}

/// An in-cluster Elasticsearch (#29 item 3): its nodes form a cluster over
/// the transport port, and its operator (ECK) calls their HTTP port to manage
/// them; a namespace's default deny must not cut either.
struct Elasticsearch {
    namespace: String,
    labels: BTreeMap<String, String>,
    operator: (String, BTreeMap<String, String>),
}

type Rules = (
    &'static str,
    Vec<k8s_openapi::api::networking::v1::NetworkPolicyIngressRule>,
    Vec<k8s_openapi::api::networking::v1::NetworkPolicyEgressRule>,
);

impl Elasticsearch {
    fn of(m: &Model) -> Option<Elasticsearch> {
        let all = crate::components::all(&m.profile);
        let es = all.iter().find(|c| c.role == Role::Elasticsearch)?;
        let op = all.iter().find(|c| c.role == Role::ElasticOperator)?;
        Some(Elasticsearch {
            namespace: es.namespace.clone(),
            labels: es.pod_labels.clone(),
            operator: (op.namespace.clone(), op.pod_labels.clone()),
        })
    }

    fn selector(&self) -> LabelSelector {
        labels_selector(&self.labels)
    }

    /// The policies for the directions its namespace denies.
    fn rules(&self, deny_in: bool, deny_out: bool) -> Vec<Rules> {
        let nodes = pods_peer(&self.namespace, &self.labels);
        let mut out = Vec::new();
        if deny_in || deny_out {
            out.push((
                "allow-elasticsearch-transport",
                if deny_in {
                    vec![ingress_rule(nodes.clone(), &[tcp(ES_TRANSPORT)])]
                } else {
                    vec![]
                },
                if deny_out {
                    vec![egress_rule(nodes, &[tcp(ES_TRANSPORT)])]
                } else {
                    vec![]
                },
            ));
        }
        if deny_in {
            let (ns, labels) = &self.operator;
            out.push((
                "allow-from-elastic-operator",
                vec![ingress_rule(pods_peer(ns, labels), &[tcp(ES_HTTP)])],
                vec![],
            ));
        }
        out
    }
}

fn render_flow(m: &Model, by_name: &Index, f: &Flow) -> Vec<NetworkPolicy> {
    // One half on each end that holds pods and denies by default: ingress in
    // the destination namespace, egress in the source namespace. The half on
    // the declaring side keeps the short name; its mirror names the owner.
    [
        (Direction::Ingress, &f.dst, &f.src),
        (Direction::Egress, &f.src, &f.dst),
    ]
    .into_iter()
    .filter_map(|(dir, here, there)| {
        let End::Pods { namespace, labels } = here else {
            return None;
        };
        let ns = by_name.get(namespace.as_str()).copied()?;
        if !denies(m, ns, dir) {
            return None;
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
        let peer = peer_of(there);
        let (ingress, egress) = match dir {
            Direction::Ingress => (vec![ingress_rule(peer, &f.ports)], vec![]),
            Direction::Egress => (vec![], vec![egress_rule(peer, &f.ports)]),
        };
        Some(policy(
            m,
            ns,
            &name,
            labels_selector(labels),
            ingress,
            egress,
        ))
    })
    .collect()
}

#[cfg(test)]
mod tests;
